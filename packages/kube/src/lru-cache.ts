// A map with a size cap (least recently used entry evicted first) and an optional time to live.
// For caches keyed by what requests or objects name (kinds, namespaces, uids, group-versions):
// without a cap, input from users or the network would size the cache.

import type { Clock } from './clock.ts';

export interface LruCacheOptions {
  /** The most entries kept; the least recently used goes first. */
  maxEntries: number;
  /** How long an entry is served after it was set; default forever (until evicted). */
  ttlMs?: number;
  clock?: Pick<Clock, 'now'>;
}

interface Entry<V> {
  value: V;
  expiresAt: number;
}

export class LruCache<K, V> {
  readonly maxEntries: number;
  readonly #ttlMs: number;
  readonly #clock: Pick<Clock, 'now'>;
  // A Map iterates in insertion order: re-inserting on use keeps the least recent first.
  readonly #entries = new Map<K, Entry<V>>();

  constructor(options: LruCacheOptions) {
    if (!(options.maxEntries >= 1))
      throw new RangeError(`maxEntries must be at least 1, got ${options.maxEntries}`);
    this.maxEntries = options.maxEntries;
    this.#ttlMs = options.ttlMs ?? Infinity;
    this.#clock = options.clock ?? Date;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The value, if present and not expired; marks it most recently used. */
  get(key: K): V | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    this.#entries.delete(key);
    if (entry.expiresAt <= this.#clock.now()) return undefined;
    this.#entries.set(key, entry);
    return entry.value;
  }

  /** Whether `get` would find it, without changing its recency. */
  has(key: K): boolean {
    const entry = this.#entries.get(key);
    return entry !== undefined && entry.expiresAt > this.#clock.now();
  }

  set(key: K, value: V, ttlMs = this.#ttlMs): this {
    this.#entries.delete(key);
    this.#entries.set(key, { value, expiresAt: this.#clock.now() + ttlMs });
    for (const oldest of this.#entries.keys()) {
      if (this.#entries.size <= this.maxEntries) break;
      this.#entries.delete(oldest);
    }
    return this;
  }

  delete(key: K): boolean {
    return this.#entries.delete(key);
  }

  clear(): void {
    this.#entries.clear();
  }

  /** Live entries, least recently used first (expired ones are dropped on the way). */
  *entries(): IterableIterator<[K, V]> {
    const now = this.#clock.now();
    for (const [key, entry] of [...this.#entries]) {
      if (entry.expiresAt <= now) this.#entries.delete(key);
      else yield [key, entry.value];
    }
  }
}
