// Conditions (metav1.Condition) kept by a ConditionSet: a happy condition (`Ready`)
// derived from its dependents, knative/reconciler.io style.

import type { Clock } from '@bindery/kube';
import { boundMessage, isObject } from '@bindery/kube';

export type ConditionStatus = 'True' | 'False' | 'Unknown';

/** metav1.Condition: every field but `observedGeneration` is required by its schema. */
export interface Condition {
  type: string;
  status: ConditionStatus;
  reason: string;
  message: string;
  /** `YYYY-MM-DDTHH:MM:SSZ`: the last time `status` changed. */
  lastTransitionTime: string;
  observedGeneration?: number;
}

/**
 * The longest condition message written. metav1.Condition's schema allows 32768 characters;
 * a status carrying a longer one is refused as a whole, so the controller could never report
 * anything again. Messages that aggregate many failures (one per workload) are cut here.
 */
export const maxConditionMessageLength = 8192;

/** The reason dependents get from `initialize()`. */
export const initializingReason = 'Initializing';

/**
 * A time as metav1.Time serializes it: second precision, UTC. A sub-second time
 * read back from the API server is truncated, so it would never compare equal
 * to what we hold and the controller would update status forever.
 */
export function formatMetaTime(time: Date | number): string {
  return new Date(time).toISOString().replace(/\.\d+Z$/, 'Z');
}

export interface ConditionSetOptions {
  /** The summary condition, `Ready` by convention. */
  happy: string;
  /** The reason of the happy condition when every dependent is True. Default: the happy type. */
  happyReason?: string;
  /** Conditions that roll up into the happy one. */
  dependents?: readonly string[];
  /**
   * When true, `initialize()` resets every dependent to Unknown/`Initializing`
   * (not only missing ones), so each reconcile must re-assert them. The
   * ResourceReconciler restores `lastTransitionTime` of conditions whose status
   * did not change, so the reset itself never changes status.
   */
  resetOnInitialize?: boolean;
}

/** The shape of status a ConditionSet manages: `status.conditions`. */
export interface ConditionsStatus {
  conditions?: Condition[];
  [field: string]: unknown;
}

/** Declares the conditions of a type; `manage(status)` edits them. */
export class ConditionSet {
  readonly happy: string;
  readonly happyReason: string;
  readonly dependents: readonly string[];
  readonly resetOnInitialize: boolean;

  constructor(options: ConditionSetOptions) {
    this.happy = options.happy;
    this.happyReason = options.happyReason ?? options.happy;
    this.dependents = [...(options.dependents ?? [])].filter((d) => d !== options.happy);
    this.resetOnInitialize = options.resetOnInitialize ?? false;
  }

  /** A manager of `status.conditions`; edits `status` in place, stamping times from `clock`. */
  manage(status: Record<string, unknown>, clock: Pick<Clock, 'now'>): ConditionManager {
    return new ConditionManager(this, status, clock);
  }
}

export class ConditionManager {
  readonly #set: ConditionSet;
  readonly #status: Record<string, unknown>;
  readonly #clock: Pick<Clock, 'now'>;

  constructor(set: ConditionSet, status: Record<string, unknown>, clock: Pick<Clock, 'now'>) {
    this.#set = set;
    this.#status = status;
    this.#clock = clock;
  }

  /** A copy of every condition, sorted: happy first, then by type. */
  get conditions(): Condition[] {
    return this.#list().map((c) => ({ ...c }));
  }

  get(type: string): Condition | undefined {
    const c = this.#list().find((x) => x.type === type);
    return c ? { ...c } : undefined;
  }

  isHappy(): boolean {
    return this.get(this.#set.happy)?.status === 'True';
  }

  /** Sets missing conditions (or, with `resetOnInitialize`, every dependent) Unknown/`Initializing`. */
  initialize(): this {
    for (const type of this.#set.dependents) {
      if (this.#set.resetOnInitialize || !this.get(type)) this.#put(type, 'Unknown', initializingReason, '');
    }
    if (this.#set.dependents.length > 0) this.#derive();
    else if (!this.get(this.#set.happy)) this.#put(this.#set.happy, 'Unknown', initializingReason, '');
    return this;
  }

  markTrue(type: string, reason: string, message = ''): this {
    return this.#mark(type, 'True', reason, message);
  }

  markFalse(type: string, reason: string, message = ''): this {
    return this.#mark(type, 'False', reason, message);
  }

  markUnknown(type: string, reason: string, message = ''): this {
    return this.#mark(type, 'Unknown', reason, message);
  }

  /** Removes a condition (never the happy one's derivation: it is recomputed). */
  clear(type: string): this {
    this.#write(this.#list().filter((c) => c.type !== type));
    if (this.#set.dependents.includes(type)) this.#derive();
    return this;
  }

  #mark(type: string, status: ConditionStatus, reason: string, message: string): this {
    this.#put(type, status, reason, message);
    if (this.#set.dependents.includes(type)) this.#derive();
    return this;
  }

  /** The happy condition from the dependents: all True → True; any False → False; else Unknown. */
  #derive(): void {
    const deps = this.#set.dependents.map((t) => this.get(t));
    const falsy = deps.find((c) => c?.status === 'False');
    if (falsy) {
      this.#put(this.#set.happy, 'False', falsy.reason, falsy.message);
      return;
    }
    const unknown = deps.find((c) => c === undefined || c.status === 'Unknown');
    if (unknown) {
      this.#put(this.#set.happy, 'Unknown', unknown.reason || initializingReason, unknown.message);
      return;
    }
    this.#put(this.#set.happy, 'True', this.#set.happyReason, '');
  }

  #put(type: string, status: ConditionStatus, reason: string, message: string): void {
    const list = this.#list();
    const existing = list.find((c) => c.type === type);
    // lastTransitionTime moves only when status does (metav1.Condition semantics).
    const lastTransitionTime =
      existing && existing.status === status && existing.lastTransitionTime
        ? existing.lastTransitionTime
        : formatMetaTime(this.#clock.now());
    const next: Condition = {
      ...existing,
      type,
      status,
      reason,
      message: boundMessage(message, maxConditionMessageLength),
      lastTransitionTime,
    };
    this.#write([...list.filter((c) => c.type !== type), next]);
  }

  #list(): Condition[] {
    const raw = this.#status['conditions'];
    return Array.isArray(raw)
      ? (raw.filter((c) => isObject(c) && typeof c['type'] === 'string') as Condition[])
      : [];
  }

  #write(list: Condition[]): void {
    const happy = this.#set.happy;
    // A stable order keeps status comparisons (and diffs in logs) stable.
    list.sort((a, b) =>
      a.type === happy ? -1 : b.type === happy ? 1 : a.type < b.type ? -1 : a.type > b.type ? 1 : 0,
    );
    this.#status['conditions'] = list;
  }
}

/**
 * Gives each condition in `proposed` the `lastTransitionTime` of the same type in
 * `original` when their status is the same: a reconcile that reset a condition
 * and set it again has not transitioned it.
 */
export function restoreLastTransitionTimes(proposed: unknown, original: unknown): void {
  if (!Array.isArray(proposed) || !Array.isArray(original)) return;
  for (const p of proposed) {
    if (!isObject(p)) continue;
    const o: unknown = original.find((x) => isObject(x) && x['type'] === p['type']);
    if (isObject(o) && o['status'] === p['status'] && o['lastTransitionTime'] !== undefined) {
      p['lastTransitionTime'] = o['lastTransitionTime'];
    }
  }
}
