/** A typed key into a reconcile's stash; create one per value, at module level. */
export class StashKey<T> {
  readonly name: string;
  declare readonly _type?: T;

  constructor(name: string) {
    this.name = name;
  }
}

/**
 * Values passed between the sub-reconcilers of one reconcile (reconciler.io's
 * stash): a sub-reconciler that resolves something stashes it for those after it.
 */
export class Stash {
  readonly #values = new Map<StashKey<unknown>, unknown>();

  set<T>(key: StashKey<T>, value: T): void {
    this.#values.set(key, value);
  }

  get<T>(key: StashKey<T>): T | undefined {
    return this.#values.get(key) as T | undefined;
  }

  /** The value, or an error naming the key: a sub-reconciler ran before the one that stashes it. */
  require<T>(key: StashKey<T>): T {
    if (!this.#values.has(key)) throw new Error(`stash: nothing stored under "${key.name}"`);
    return this.#values.get(key) as T;
  }

  has(key: StashKey<unknown>): boolean {
    return this.#values.has(key);
  }

  delete(key: StashKey<unknown>): void {
    this.#values.delete(key);
  }

  /** Stashed values by key name, for the test kit's comparisons. */
  entries(): Array<[string, unknown]> {
    return [...this.#values].map(([k, v]) => [k.name, v]);
  }
}
