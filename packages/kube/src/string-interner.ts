// One copy of each repeated string value in a cache. JSON.parse gives every string value of ten
// characters or more its own copy, so 5,000 cached Deployments hold 5,000 copies of each defaulted
// field ('ClusterFirst', '/dev/termination-log', the namespace, an image, an annotation the
// controller writes on every workload). Interning through a bounded table keeps one.

export interface StringInternerOptions {
  /** Strings remembered at most; when full, the table starts over. Default 16,384. */
  maxEntries?: number;
  /** Longer strings are left as they are. Default 1,024 characters. */
  maxLength?: number;
}

/**
 * A bounded table of strings. Input from the network never sizes it: it holds at most `maxEntries`
 * strings of at most `maxLength` characters, and starts over when full, so a value that keeps
 * repeating ends up with one copy per fill of the table rather than one per object.
 */
export class StringInterner {
  readonly #table = new Map<string, string>();
  readonly #maxEntries: number;
  readonly #maxLength: number;

  constructor(options: StringInternerOptions = {}) {
    this.#maxEntries = options.maxEntries ?? 16_384;
    this.#maxLength = options.maxLength ?? 1_024;
  }

  /** The table's copy of `s` (remembering `s` if it has none). */
  intern(s: string): string {
    if (s.length > this.#maxLength) return s;
    const known = this.#table.get(s);
    if (known !== undefined) return known;
    if (this.#table.size >= this.#maxEntries) this.#table.clear();
    this.#table.set(s, s);
    return s;
  }

  get size(): number {
    return this.#table.size;
  }
}
