import { setTimeout as sleep } from 'node:timers/promises';
import type { KubeClient, WatchEvent } from './client.ts';
import { errorMessage, isGone, StatusError } from './errors.ts';
import type { KubeObject, TypeRef } from './object.ts';

/** Where the Reflector's events go: the informer's store. */
export interface ReflectorSink<T extends KubeObject> {
  /** A full list: the sink replaces what it has and works out what vanished. */
  replace(items: T[], resourceVersion: string): void;
  add(obj: T): void;
  update(obj: T): void;
  delete(obj: T): void;
  /**
   * Applied to every object before the methods above see it: to each list page as it arrives, so
   * the full objects of a large list are never all alive at once, and to each watch event.
   */
  transform?: (obj: T) => T;
}

export interface ReflectorOptions {
  client: KubeClient;
  type: TypeRef;
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** List and watch `PartialObjectMetadata` only. */
  metadataOnly?: boolean;
  /** Page size of the list (default 500). */
  pageSize?: number;
  /** The server ends each watch after a random time in [min, 2·min] (default 300 s), so load spreads. */
  minWatchTimeoutSeconds?: number;
  /** A watch that has sent nothing, not even a bookmark, for this long is dead: abort and restart it. */
  idleTimeoutMs?: number;
  /** Backoff after a failure: 1 s doubling to 30 s, reset once a watch has been healthy. */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** Called on every failure that makes the Reflector retry; it never stops because of one. */
  onError?: (err: unknown) => void;
}

export type ReflectorPhase = 'idle' | 'listing' | 'watching' | 'backoff' | 'stopped';

/** What health checks read. */
export interface ReflectorState {
  phase: ReflectorPhase;
  /** True once the first list has been handed to the sink. */
  synced: boolean;
  resourceVersion: string;
  /** When the last event, bookmark, or list arrived (ms since epoch). */
  lastActivity: number;
  lists: number;
  watches: number;
  consecutiveFailures: number;
  lastError?: string;
}

/**
 * client-go's Reflector: list, then watch from the list's resourceVersion, forever.
 * A watch that ends normally is resumed from the last resourceVersion seen
 * (bookmarks keep it fresh); 410 Gone means the history is compacted, so it lists
 * again and the sink works out deletes. Failures back off, never stop it.
 */
export class Reflector<T extends KubeObject = KubeObject> {
  readonly #options: ReflectorOptions;
  readonly #sink: ReflectorSink<T>;
  readonly #state: ReflectorState = {
    phase: 'idle',
    synced: false,
    resourceVersion: '',
    lastActivity: 0,
    lists: 0,
    watches: 0,
    consecutiveFailures: 0,
  };

  constructor(options: ReflectorOptions, sink: ReflectorSink<T>) {
    this.#options = options;
    this.#sink = sink;
  }

  get state(): Readonly<ReflectorState> {
    return this.#state;
  }

  /** Runs until the signal aborts. */
  async run(signal: AbortSignal): Promise<void> {
    const initialBackoff = this.#options.initialBackoffMs ?? 1_000;
    const maxBackoff = this.#options.maxBackoffMs ?? 30_000;
    let backoff = initialBackoff;
    let needList = true;
    while (!signal.aborted) {
      const started = Date.now();
      try {
        if (needList) {
          await this.#list(signal);
          needList = false;
        }
        await this.#watch(signal);
        this.#state.consecutiveFailures = 0;
        backoff = initialBackoff;
        continue;
      } catch (err) {
        if (signal.aborted) break;
        this.#state.consecutiveFailures++;
        this.#state.lastError = errorMessage(err);
        this.#options.onError?.(err);
        if (isGone(err) || isTooLargeResourceVersion(err)) {
          // History is gone: list afresh at once, no backoff.
          needList = true;
          if (isGone(err)) continue;
        }
        // A watch that stayed up for a while was healthy: start backing off anew.
        if (Date.now() - started > 2 * maxBackoff) backoff = initialBackoff;
      }
      this.#state.phase = 'backoff';
      const jittered = backoff * (1 + Math.random() * 0.2);
      backoff = Math.min(maxBackoff, backoff * 2);
      try {
        await sleep(jittered, undefined, { signal });
      } catch {
        break;
      }
    }
    this.#state.phase = 'stopped';
  }

  async #list(signal: AbortSignal): Promise<void> {
    this.#state.phase = 'listing';
    const o = this.#options;
    const items: T[] = [];
    let rv: string;
    let token: string | undefined;
    // Page by page rather than `listAll`: each page is transformed before the next is fetched.
    do {
      const page = await o.client.list<T>(o.type, {
        signal,
        limit: o.pageSize ?? 500,
        ...(token ? { continue: token } : {}),
        ...(o.namespace ? { namespace: o.namespace } : {}),
        ...(o.labelSelector ? { labelSelector: o.labelSelector } : {}),
        ...(o.fieldSelector ? { fieldSelector: o.fieldSelector } : {}),
        ...(o.metadataOnly ? { metadataOnly: true } : {}),
      });
      for (const item of page.items) {
        // List items carry no apiVersion/kind; give them the list's, as client-go does.
        item.apiVersion ??= o.type.apiVersion;
        item.kind ??= o.metadataOnly ? 'PartialObjectMetadata' : o.type.kind;
        items.push(this.#sink.transform ? this.#sink.transform(item) : item);
      }
      rv = page.metadata.resourceVersion ?? '';
      token = page.metadata.continue;
    } while (token);
    this.#sink.replace(items, rv);
    this.#state.resourceVersion = rv;
    this.#state.lists++;
    this.#state.consecutiveFailures = 0;
    this.#state.synced = true;
    this.#state.lastActivity = Date.now();
  }

  async #watch(signal: AbortSignal): Promise<void> {
    const o = this.#options;
    const min = o.minWatchTimeoutSeconds ?? 300;
    const timeoutSeconds = Math.floor(min * (1 + Math.random()));
    const idleTimeoutMs = o.idleTimeoutMs ?? (timeoutSeconds + 60) * 1000;
    const watchAbort = new AbortController();
    const onAbort = (): void => watchAbort.abort(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    let idle = false;
    let timer: NodeJS.Timeout | undefined;
    const armIdleTimer = (): void => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        idle = true;
        watchAbort.abort(new Error(`watch idle for ${idleTimeoutMs} ms`));
      }, idleTimeoutMs);
    };
    this.#state.phase = 'watching';
    this.#state.watches++;
    armIdleTimer();
    try {
      const events = o.client.watch<T>(o.type, {
        signal: watchAbort.signal,
        resourceVersion: this.#state.resourceVersion,
        timeoutSeconds,
        allowWatchBookmarks: true,
        ...(o.namespace ? { namespace: o.namespace } : {}),
        ...(o.labelSelector ? { labelSelector: o.labelSelector } : {}),
        ...(o.fieldSelector ? { fieldSelector: o.fieldSelector } : {}),
        ...(o.metadataOnly ? { metadataOnly: true } : {}),
      });
      let received = 0;
      const opened = Date.now();
      for await (const event of events) {
        armIdleTimer();
        // The first event proves the watch healthy again.
        if (received++ === 0) this.#state.consecutiveFailures = 0;
        this.#handle(event);
      }
      // A server that closes watches at once would make this loop spin: back off.
      if (received === 0 && Date.now() - opened < 1_000 && !signal.aborted) {
        throw new Error(`watch of ${o.type.kind} closed at once with no events`);
      }
    } catch (err) {
      if (idle && !signal.aborted)
        throw new Error(`watch of ${o.type.kind} was idle for ${idleTimeoutMs} ms; restarting it`, {
          cause: err,
        });
      throw err;
    } finally {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
    }
  }

  #handle(event: WatchEvent<T>): void {
    const rv = event.object.metadata.resourceVersion;
    const transform = this.#sink.transform;
    const obj = transform && event.type !== 'BOOKMARK' ? transform(event.object) : event.object;
    this.#state.lastActivity = Date.now();
    switch (event.type) {
      case 'ADDED':
        this.#sink.add(obj);
        break;
      case 'MODIFIED':
        this.#sink.update(obj);
        break;
      case 'DELETED':
        this.#sink.delete(obj);
        break;
      case 'BOOKMARK':
        break;
    }
    if (rv) this.#state.resourceVersion = rv;
  }
}

/** The watch cache is behind the resourceVersion asked for (504 with cause ResourceVersionTooLarge). */
function isTooLargeResourceVersion(err: unknown): boolean {
  return err instanceof StatusError && err.causes.some((c) => c.reason === 'ResourceVersionTooLarge');
}
