// The election record a coordination.k8s.io/v1 Lease carries (client-go's LeaderElectionRecord):
// read from a Lease, compared for change, judged held or expired on the reader's own clock, and
// written back into a Lease without touching the fields the election does not own. Times are
// MicroTime (micro-time.ts). No I/O here.

import { formatMicroTime, parseMicroTime } from './micro-time.ts';
import { isObject } from './object.ts';
import type { KubeObject, ObjectRef } from './object.ts';

/** The Lease an election runs on. */
export interface LeaseLock {
  namespace: string;
  name: string;
}

/** The Lease fields the election reads and writes (client-go's LeaderElectionRecord). */
export interface LeaderElectionRecord {
  holderIdentity: string;
  leaseDurationSeconds: number;
  /** MicroTime, or '' when unset. */
  acquireTime: string;
  /** MicroTime, or '' when unset. */
  renewTime: string;
  leaseTransitions: number;
  /** Coordinated leader election fields: kept as they are, compared for changes. */
  strategy: string;
  preferredHolder: string;
}

export interface Lease extends KubeObject {
  spec?: {
    holderIdentity?: string;
    leaseDurationSeconds?: number;
    acquireTime?: string;
    renewTime?: string;
    leaseTransitions?: number;
    strategy?: string;
    preferredHolder?: string;
    [field: string]: unknown;
  };
}

/** The election record a Lease holds; missing fields read as empty. */
export function recordFromLease(lease: Lease): LeaderElectionRecord {
  const spec = isObject(lease.spec) ? lease.spec : {};
  const str = (v: unknown): string => (typeof v === 'string' ? v : '');
  const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
  return {
    holderIdentity: str(spec.holderIdentity),
    leaseDurationSeconds: num(spec.leaseDurationSeconds),
    acquireTime: str(spec.acquireTime),
    renewTime: str(spec.renewTime),
    leaseTransitions: num(spec.leaseTransitions),
    strategy: str(spec.strategy),
    preferredHolder: str(spec.preferredHolder),
  };
}

/**
 * Whether the record differs from the one observed before: any field, times by the
 * instant they name (so `…Z` and `…+00:00` spellings are the same time). Every
 * renewal changes `renewTime`, so a live leader is seen to change every retry period.
 */
export function recordChanged(
  observed: LeaderElectionRecord | undefined,
  current: LeaderElectionRecord,
): boolean {
  if (observed === undefined) return true;
  const sameTime = (a: string, b: string): boolean =>
    a === b || (parseMicroTime(a) !== undefined && parseMicroTime(a) === parseMicroTime(b));
  return (
    observed.holderIdentity !== current.holderIdentity ||
    observed.leaseDurationSeconds !== current.leaseDurationSeconds ||
    observed.leaseTransitions !== current.leaseTransitions ||
    observed.strategy !== current.strategy ||
    observed.preferredHolder !== current.preferredHolder ||
    !sameTime(observed.acquireTime, current.acquireTime) ||
    !sameTime(observed.renewTime, current.renewTime)
  );
}

/**
 * Whether a candidate that last saw the record change at `observedTime` must still
 * respect it at `now` (both on the candidate's own clock). A record with no holder
 * never holds anyone off. `fallbackDurationMs` stands in for a missing or zero
 * `leaseDurationSeconds`.
 */
export function leaseHeld(
  record: LeaderElectionRecord,
  observedTime: number,
  now: number,
  fallbackDurationMs: number,
): boolean {
  if (record.holderIdentity === '') return false;
  const durationMs =
    record.leaseDurationSeconds > 0 ? record.leaseDurationSeconds * 1000 : fallbackDurationMs;
  return observedTime + durationMs > now;
}

/** The Lease of `lock`. */
export function leaseRef(lock: LeaseLock): ObjectRef {
  return { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', namespace: lock.namespace, name: lock.name };
}

/**
 * The record `identity` writes at `now` over `previous` (undefined: a new Lease): a new holder gets a
 * new `acquireTime` and one more transition; a renewal keeps them.
 */
export function holderRecord(
  identity: string,
  leaseDurationSeconds: number,
  now: number,
  previous: LeaderElectionRecord | undefined,
): LeaderElectionRecord {
  const time = formatMicroTime(now);
  const ours = previous?.holderIdentity === identity;
  return {
    holderIdentity: identity,
    leaseDurationSeconds,
    acquireTime: ours && previous.acquireTime ? previous.acquireTime : time,
    renewTime: time,
    leaseTransitions:
      previous === undefined ? 0 : ours ? previous.leaseTransitions : previous.leaseTransitions + 1,
    strategy: previous?.strategy ?? '',
    preferredHolder: previous?.preferredHolder ?? '',
  };
}

/** `record` handed back at `now`: no holder and a one-second duration, so the next candidate takes it. */
export function releasedRecord(record: LeaderElectionRecord, now: number): LeaderElectionRecord {
  const time = formatMicroTime(now);
  return { ...record, holderIdentity: '', leaseDurationSeconds: 1, acquireTime: time, renewTime: time };
}

/** The Lease with `record` in its spec; fields the election does not own are kept. */
export function withRecord(lease: Lease, record: LeaderElectionRecord): Lease {
  return { ...lease, spec: { ...lease.spec, ...specOf(record) } };
}

export function specOf(record: LeaderElectionRecord): NonNullable<Lease['spec']> {
  const spec: NonNullable<Lease['spec']> = {
    holderIdentity: record.holderIdentity,
    leaseDurationSeconds: record.leaseDurationSeconds,
    leaseTransitions: record.leaseTransitions,
  };
  if (record.acquireTime) spec.acquireTime = record.acquireTime;
  if (record.renewTime) spec.renewTime = record.renewTime;
  if (record.strategy) spec.strategy = record.strategy;
  if (record.preferredHolder) spec.preferredHolder = record.preferredHolder;
  return spec;
}
