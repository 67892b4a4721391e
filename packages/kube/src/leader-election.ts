// Leader election on a coordination.k8s.io/v1 Lease: client-go's algorithm
// (k8s.io/client-go/tools/leaderelection).
//
// Safety never depends on two machines agreeing on the time. A candidate records,
// on its own clock, when it last saw the Lease record change; it takes over only
// once `observedTime + leaseDurationSeconds` has passed on that same clock with no
// further change. The remote `renewTime` is written for humans and tools, and is
// compared only for equality (did it change?), never against the local clock.
//
// The leader measures its renew deadline from the moment it sent its last
// successful renewal. Another candidate can only have observed that renewal after
// it was written, so it waits at least `leaseDuration` from then, and the leader
// has stopped leading `renewDeadline` (< `leaseDuration`) after it: at most one
// leader at a time, as long as the clocks run at about the same rate.
//
// The record a Lease carries, and how it is compared and written, is in lease-record.ts.

import type { KubeClient } from './client.ts';
import { realClock, sleep } from './clock.ts';
import type { Clock } from './clock.ts';
import { isAlreadyExists, isConflict, isNotFound } from './errors.ts';
import {
  holderRecord,
  leaseHeld,
  leaseRef,
  recordChanged,
  recordFromLease,
  releasedRecord,
  specOf,
  withRecord,
} from './lease-record.ts';
import type { LeaderElectionRecord, Lease, LeaseLock } from './lease-record.ts';

/** What the elector needs of a client: the three verbs it uses on one Lease. */
export type LeaseClient = Pick<KubeClient, 'get' | 'create' | 'update'>;

export interface LeaderElectorOptions {
  client: LeaseClient;
  lock: LeaseLock;
  /** Unique per process: a second process with the same identity would think it leads too. */
  identity: string;
  /** How long others wait, after last seeing the Lease change, before taking it over. Default 15 s. */
  leaseDurationMs?: number;
  /** How long the leader keeps trying to renew before it gives up leading. Default 10 s. */
  renewDeadlineMs?: number;
  /** How often candidates try to acquire and the leader renews. Default 2 s. */
  retryPeriodMs?: number;
  /**
   * Candidates wait `retryPeriod * (1 + random * jitterFactor)` between attempts so
   * that they do not all ask at once. Default 1.2, as in client-go.
   */
  jitterFactor?: number;
  /**
   * Clear the holder on a clean shutdown so another candidate takes over at once
   * instead of after `leaseDuration`. Only safe if the work done while leading has
   * stopped when `run()` is asked to stop: the elector waits (up to `renewDeadline`)
   * for a promise returned by `onStartedLeading` before it releases. Default true.
   */
  releaseOnCancel?: boolean;
  /** Measures observed time, deadlines and retry periods. Default: the process clock. */
  clock?: Clock;
  /**
   * Called once leadership is acquired. `signal` aborts when leadership ends (lost,
   * or `run()` stopped). A returned promise is awaited before the Lease is released.
   */
  onStartedLeading(signal: AbortSignal): void | Promise<void>;
  /** Called once after leading ended (never if this process did not lead). */
  onStoppedLeading(): void;
  /** Called when the observed holder changes, including to this identity. Not called for "no holder". */
  onNewLeader?(identity: string): void;
  /** Failed attempts, for logging. A lost race (409 Conflict) is expected and not reported. */
  onError?(err: unknown): void;
}

/**
 * One candidate in an election. `run()` campaigns until it acquires the Lease,
 * leads (calling `onStartedLeading`) while it keeps renewing, and returns when its
 * signal aborts or it fails to renew within `renewDeadline`. Like client-go, a
 * process that lost leadership should exit and start afresh.
 */
export class LeaderElector {
  readonly identity: string;
  readonly lock: LeaseLock;
  readonly leaseDurationMs: number;
  readonly renewDeadlineMs: number;
  readonly retryPeriodMs: number;
  readonly #options: LeaderElectorOptions;
  readonly #client: LeaseClient;
  readonly #clock: Clock;
  readonly #jitterFactor: number;
  readonly #leaseDurationSeconds: number;
  /** The Lease as the server last returned it: the base of the next update. */
  #lease: Lease | undefined;
  #observed: LeaderElectionRecord | undefined;
  /** When (our clock) the record was last seen to change, or was written by us. */
  #observedTime = 0;
  /** When (our clock) we sent the last renewal that succeeded. */
  #lastRenew = 0;
  #leading = false;
  #running = false;
  #reportedLeader = '';

  constructor(options: LeaderElectorOptions) {
    this.#options = options;
    this.#client = options.client;
    this.#clock = options.clock ?? realClock;
    this.identity = options.identity;
    this.lock = { namespace: options.lock.namespace, name: options.lock.name };
    this.leaseDurationMs = options.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = options.renewDeadlineMs ?? 10_000;
    this.retryPeriodMs = options.retryPeriodMs ?? 2_000;
    this.#jitterFactor = options.jitterFactor ?? 1.2;
    // The Lease carries whole seconds; round up so others never wait less than asked.
    this.#leaseDurationSeconds = Math.ceil(this.leaseDurationMs / 1000);
    const where = `leader election on Lease ${this.lock.namespace}/${this.lock.name}`;
    if (this.identity === '') throw new Error(`${where}: identity must not be empty`);
    if (!this.lock.namespace || !this.lock.name)
      throw new Error(`${where}: lock namespace and name are required`);
    if (this.#jitterFactor < 0) throw new Error(`${where}: jitterFactor must not be negative`);
    if (!(this.retryPeriodMs > 0)) throw new Error(`${where}: retryPeriodMs must be greater than 0`);
    if (this.leaseDurationMs < 1000) throw new Error(`${where}: leaseDurationMs must be at least 1000`);
    if (!(this.leaseDurationMs > this.renewDeadlineMs)) {
      throw new Error(
        `${where}: leaseDurationMs (${this.leaseDurationMs}) must be greater than renewDeadlineMs (${this.renewDeadlineMs})`,
      );
    }
    if (!(this.renewDeadlineMs > this.retryPeriodMs * Math.max(1, this.#jitterFactor))) {
      throw new Error(
        `${where}: renewDeadlineMs (${this.renewDeadlineMs}) must be greater than retryPeriodMs (${this.retryPeriodMs}) × max(1, jitterFactor)`,
      );
    }
  }

  /** True while this process leads: between `onStartedLeading` and the end of leading. */
  isLeader(): boolean {
    return this.#leading && this.#observed?.holderIdentity === this.identity;
  }

  /** The holder last observed, or undefined if none was seen (or the Lease was released). */
  getLeader(): string | undefined {
    const holder = this.#observed?.holderIdentity;
    return holder ? holder : undefined;
  }

  /** The election record last observed (or written), and when, on our clock. */
  observedRecord(): { record: LeaderElectionRecord; observedTime: number } | undefined {
    return this.#observed && { record: { ...this.#observed }, observedTime: this.#observedTime };
  }

  /**
   * A health check: false if we think we lead but have not renewed for longer than
   * `leaseDuration + maxToleratedExpiredMs` (the renew loop is stuck, and another
   * replica may lead by now). Followers are always healthy.
   */
  check(maxToleratedExpiredMs = 0): boolean {
    if (!this.isLeader()) return true;
    return this.#clock.now() - this.#lastRenew <= this.leaseDurationMs + maxToleratedExpiredMs;
  }

  /**
   * Campaigns, leads, and returns when `signal` aborts or leadership is lost. Failures go to
   * `onError`; it rejects only if this elector is already running.
   */
  async run(signal: AbortSignal): Promise<void> {
    if (this.#running) throw new Error(`leader elector ${this.identity} is already running`);
    this.#running = true;
    try {
      if (!(await this.#acquire(signal))) return;
      this.#leading = true;
      const leading = new AbortController();
      let work: Promise<void> | undefined;
      try {
        const started = this.#options.onStartedLeading(leading.signal);
        if (started instanceof Promise) work = started.catch((err: unknown) => this.#report(err));
      } catch (err) {
        this.#report(err);
      }
      await this.#renewLoop(signal);
      leading.abort(new Error(`leadership of Lease ${this.lock.namespace}/${this.lock.name} ended`));
      if (this.#options.releaseOnCancel ?? true) {
        // Let the leader's work stop before anyone else may start it.
        if (work) await this.#within(this.renewDeadlineMs, work);
        await this.#release();
      }
      this.#leading = false;
      try {
        this.#options.onStoppedLeading();
      } catch (err) {
        this.#report(err);
      }
    } finally {
      this.#leading = false;
      this.#running = false;
    }
  }

  /** Tries every (jittered) retry period until it holds the Lease; false if `signal` aborted first. */
  async #acquire(signal: AbortSignal): Promise<boolean> {
    while (!signal.aborted) {
      const acquired = await this.#tryAcquireOrRenew(signal);
      this.#reportTransition();
      if (acquired) return true;
      const jitter = this.#jitterFactor > 0 ? Math.random() * this.#jitterFactor : 0;
      await sleep(this.#clock, this.retryPeriodMs * (1 + jitter), signal);
    }
    return false;
  }

  /** Renews every retry period; returns when `signal` aborts or a renewal missed its deadline. */
  async #renewLoop(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      await sleep(this.#clock, this.retryPeriodMs, signal);
      if (signal.aborted) return;
      // Measured from the last renewal we sent: by then + leaseDuration others may take over.
      const deadline = this.#lastRenew + this.renewDeadlineMs;
      const attempt = new AbortController();
      const timer = this.#clock.setTimeout(
        () => attempt.abort(new Error('renew deadline passed')),
        Math.max(0, deadline - this.#clock.now()),
      );
      const attemptSignal = AbortSignal.any([signal, attempt.signal]);
      let renewed = false;
      try {
        while (!attemptSignal.aborted) {
          renewed = await this.#tryAcquireOrRenew(attemptSignal);
          this.#reportTransition();
          if (renewed) break;
          // Someone else holds it now: no point trying until the deadline.
          if (this.#observed !== undefined && this.#observed.holderIdentity !== this.identity) break;
          const left = deadline - this.#clock.now();
          if (left <= 0) break;
          await sleep(this.#clock, Math.min(this.retryPeriodMs, left), attemptSignal);
          if (deadline - this.#clock.now() <= 0) break;
        }
      } finally {
        this.#clock.clearTimeout(timer);
      }
      if (!renewed) {
        if (!signal.aborted) {
          this.#report(
            new Error(
              `${this.identity} failed to renew Lease ${this.lock.namespace}/${this.lock.name} within ${this.renewDeadlineMs} ms; stopping leading`,
            ),
          );
        }
        return;
      }
    }
  }

  /** client-go's tryAcquireOrRenew: one attempt; true if we hold the Lease afterwards. */
  async #tryAcquireOrRenew(signal: AbortSignal): Promise<boolean> {
    const now = this.#clock.now();
    const ref = leaseRef(this.lock);

    // 1. Fast path: the leader updates the Lease it last saw, without reading it first.
    if (
      this.#lease &&
      this.#observed?.holderIdentity === this.identity &&
      leaseHeld(this.#observed, this.#observedTime, now, this.leaseDurationMs)
    ) {
      try {
        const updated = await this.#client.update(
          withRecord(this.#lease, this.#ownRecord(now, this.#observed)),
          { signal },
        );
        this.#wrote(updated, now);
        return true;
      } catch (err) {
        if (signal.aborted) return false;
        if (!isConflict(err)) this.#report(err);
        // Fall back to reading the Lease.
      }
    }

    // 2. Read the Lease, or create it.
    let lease: Lease;
    try {
      lease = await this.#client.get<Lease>(ref, { signal });
    } catch (err) {
      if (signal.aborted) return false;
      if (!isNotFound(err)) {
        this.#report(err);
        return false;
      }
      try {
        const created = await this.#client.create<Lease>(
          {
            apiVersion: ref.apiVersion,
            kind: ref.kind,
            metadata: { namespace: this.lock.namespace, name: this.lock.name },
            spec: specOf(this.#ownRecord(now, undefined)),
          },
          { signal },
        );
        this.#wrote(created, now);
        return true;
      } catch (createErr) {
        if (!signal.aborted && !isAlreadyExists(createErr)) this.#report(createErr);
        return false;
      }
    }

    // 3. Note when the record last changed; respect a live holder.
    const record = recordFromLease(lease);
    this.#lease = lease;
    if (recordChanged(this.#observed, record)) {
      this.#observed = record;
      this.#observedTime = this.#clock.now();
    }
    if (
      record.holderIdentity !== this.identity &&
      leaseHeld(record, this.#observedTime, now, this.leaseDurationMs)
    ) {
      return false;
    }

    // 4. Take it over (or renew it, if the fast path lost to a stale copy).
    try {
      const updated = await this.#client.update(withRecord(lease, this.#ownRecord(now, record)), {
        signal,
      });
      this.#wrote(updated, now);
      return true;
    } catch (err) {
      if (!signal.aborted && !isConflict(err)) this.#report(err);
      return false;
    }
  }

  /** The record we write at `now`, given the one we replace. */
  #ownRecord(now: number, previous: LeaderElectionRecord | undefined): LeaderElectionRecord {
    return holderRecord(this.identity, this.#leaseDurationSeconds, now, previous);
  }

  /** Hands the Lease back: no holder, so the next candidate to look takes it at once. */
  async #release(): Promise<void> {
    const ctl = new AbortController();
    const timer = this.#clock.setTimeout(
      () => ctl.abort(new Error('release timed out')),
      this.renewDeadlineMs,
    );
    try {
      const lease = await this.#client.get<Lease>(leaseRef(this.lock), { signal: ctl.signal });
      const record = recordFromLease(lease);
      if (record.holderIdentity !== this.identity) return;
      const released = await this.#client.update(
        withRecord(lease, releasedRecord(record, this.#clock.now())),
        {
          signal: ctl.signal,
        },
      );
      this.#lease = released;
      this.#observed = recordFromLease(released);
      this.#observedTime = this.#clock.now();
    } catch (err) {
      this.#report(err);
    } finally {
      this.#clock.clearTimeout(timer);
    }
  }

  #wrote(lease: Lease, sentAt: number): void {
    this.#lease = lease;
    this.#observed = recordFromLease(lease);
    this.#observedTime = this.#clock.now();
    this.#lastRenew = sentAt;
  }

  #reportTransition(): void {
    const holder = this.#observed?.holderIdentity ?? '';
    if (holder === this.#reportedLeader) return;
    this.#reportedLeader = holder;
    if (holder === '' || !this.#options.onNewLeader) return;
    try {
      this.#options.onNewLeader(holder);
    } catch (err) {
      this.#report(err);
    }
  }

  #report(err: unknown): void {
    try {
      this.#options.onError?.(err);
    } catch {
      // A logger that throws must not stop the election.
    }
  }

  /** Waits for `promise`, but no longer than `ms`. */
  async #within(ms: number, promise: Promise<void>): Promise<void> {
    const ctl = new AbortController();
    try {
      await Promise.race([promise, sleep(this.#clock, ms, ctl.signal)]);
    } finally {
      ctl.abort();
    }
  }
}
