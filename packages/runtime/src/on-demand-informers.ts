// Informers started for what objects refer to (the workload kind a binding names), counted by the
// objects that use them. Each user holds at most one informer per slot; the informer of a kind is
// started when its first user asks for it and stopped when its last user lets go, so a kind named
// once does not stay listed and watched for the life of the process.

import { informerId } from '@bindery/kube';
import type {
  EventHandler,
  HandlerRegistration,
  InformerKey,
  KubeObject,
  SharedInformer,
  SharedInformerFactory,
  TransformFunc,
} from '@bindery/kube';

export interface OnDemandInformersOptions {
  informers: Pick<SharedInformerFactory, 'informerFor' | 'has' | 'remove' | 'setTransform'>;
  /** The handler each informer gets while it is used here (e.g. enqueue what tracks the object). */
  handler: (key: InformerKey) => EventHandler<KubeObject>;
}

interface Entry {
  key: InformerKey;
  users: Set<string>;
  registration: HandlerRegistration;
  /** Started here, so stopped here; an informer someone else started only loses our handler. */
  owned: boolean;
}

export class OnDemandInformers {
  readonly #options: OnDemandInformersOptions;
  /** user → slot → informer id. */
  readonly #uses = new Map<string, Map<string, string>>();
  readonly #entries = new Map<string, Entry>();

  constructor(options: OnDemandInformersOptions) {
    this.#options = options;
  }

  /**
   * `user` needs the informer of `key` in `slot` (replacing what it held there): started if it is
   * not running, with `transform` (what its cache keeps of an object) when it is started here and
   * no other informer of its type exists. Returns the informer.
   */
  use(user: string, slot: string, key: InformerKey, transform?: TransformFunc): SharedInformer {
    const id = informerId(key);
    const slots = this.#uses.get(user) ?? new Map<string, string>();
    const previous = slots.get(slot);
    let entry = this.#entries.get(id);
    if (!entry) {
      const owned = !this.#options.informers.has(key);
      if (owned && transform) {
        try {
          this.#options.informers.setTransform(key.type, transform);
        } catch {
          // Another informer of the type (metadata-only, say) exists: keep the factory's transform.
        }
      }
      const informer = this.#options.informers.informerFor(key);
      entry = {
        key,
        users: new Set(),
        registration: informer.addEventHandler(this.#options.handler(key)),
        owned,
      };
      this.#entries.set(id, entry);
    }
    entry.users.add(`${slot}\u0000${user}`);
    slots.set(slot, id);
    this.#uses.set(user, slots);
    if (previous !== undefined && previous !== id) this.#drop(previous, slot, user);
    return this.#options.informers.informerFor(key);
  }

  /** `user` no longer needs what it holds in `slot`, or in any slot when absent. */
  release(user: string, slot?: string): void {
    const slots = this.#uses.get(user);
    if (!slots) return;
    for (const [s, id] of [...slots]) {
      if (slot !== undefined && s !== slot) continue;
      slots.delete(s);
      this.#drop(id, s, user);
    }
    if (slots.size === 0) this.#uses.delete(user);
  }

  /** How many users hold the informer of `key`. */
  users(key: InformerKey): number {
    return this.#entries.get(informerId(key))?.users.size ?? 0;
  }

  /** The keys of the informers in use. */
  keys(): InformerKey[] {
    return [...this.#entries.values()].map((e) => e.key);
  }

  #drop(id: string, slot: string, user: string): void {
    const entry = this.#entries.get(id);
    if (!entry) return;
    entry.users.delete(`${slot}\u0000${user}`);
    if (entry.users.size > 0) return;
    this.#entries.delete(id);
    entry.registration.remove();
    if (entry.owned) this.#options.informers.remove(entry.key);
  }
}
