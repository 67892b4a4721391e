import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FakeClock } from './clock.ts';
import { StatusError } from './errors.ts';
import { LeaderElector } from './leader-election.ts';
import type { LeaderElectorOptions, LeaseClient } from './leader-election.ts';
import { leaseHeld, recordChanged, recordFromLease } from './lease-record.ts';
import type { LeaderElectionRecord, Lease } from './lease-record.ts';
import { formatMicroTime } from './micro-time.ts';
import type { KubeObject, ObjectRef } from './object.ts';

const microTime = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

const record = (fields: Partial<LeaderElectionRecord> = {}): LeaderElectionRecord => ({
  holderIdentity: 'a',
  leaseDurationSeconds: 15,
  acquireTime: '2024-01-02T03:04:05.000000Z',
  renewTime: '2024-01-02T03:04:07.000000Z',
  leaseTransitions: 3,
  strategy: '',
  preferredHolder: '',
  ...fields,
});

describe('recordChanged', () => {
  it('is true for the first observation', () => {
    assert.equal(recordChanged(undefined, record()), true);
  });

  it('is false for the same record', () => {
    assert.equal(recordChanged(record(), record()), false);
  });

  it('is true when any field changes', () => {
    const changes: Array<Partial<LeaderElectionRecord>> = [
      { holderIdentity: 'b' },
      { holderIdentity: '' },
      { leaseDurationSeconds: 1 },
      { acquireTime: '2024-01-02T03:04:06.000000Z' },
      { renewTime: '2024-01-02T03:04:07.000001Z' },
      { leaseTransitions: 4 },
      { strategy: 'OldestEmulationVersion' },
      { preferredHolder: 'b' },
    ];
    for (const change of changes) {
      assert.equal(recordChanged(record(), record(change)), true, JSON.stringify(change));
    }
  });

  it('compares times by instant, not spelling', () => {
    assert.equal(recordChanged(record(), record({ renewTime: '2024-01-02T04:04:07+01:00' })), false);
    assert.equal(recordChanged(record(), record({ renewTime: 'garbage' })), true);
  });
});

describe('recordFromLease', () => {
  it('reads the spec, with missing fields as empty', () => {
    const lease: Lease = { metadata: { name: 'x' }, spec: { holderIdentity: 'a', leaseTransitions: 2 } };
    assert.deepEqual(recordFromLease(lease), {
      holderIdentity: 'a',
      leaseDurationSeconds: 0,
      acquireTime: '',
      renewTime: '',
      leaseTransitions: 2,
      strategy: '',
      preferredHolder: '',
    });
    assert.equal(recordFromLease({ metadata: {} }).holderIdentity, '');
  });
});

describe('leaseHeld', () => {
  it('holds others off for leaseDurationSeconds after it was observed, on the observer clock', () => {
    const r = record({ leaseDurationSeconds: 15 });
    assert.equal(leaseHeld(r, 1_000, 1_000, 0), true);
    assert.equal(leaseHeld(r, 1_000, 15_999, 0), true);
    assert.equal(leaseHeld(r, 1_000, 16_000, 0), false);
  });

  it('never holds anyone off without a holder', () => {
    assert.equal(leaseHeld(record({ holderIdentity: '' }), 1_000, 1_000, 60_000), false);
  });

  it('uses the fallback duration when the record has none', () => {
    const r = record({ leaseDurationSeconds: 0 });
    assert.equal(leaseHeld(r, 0, 9_999, 10_000), true);
    assert.equal(leaseHeld(r, 0, 10_000, 10_000), false);
  });
});

// ---- the algorithm, against an in-memory Lease store and a manual clock ----

const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Advances `clocks` together by `ms`, in steps, letting promises run between steps. */
async function elapse(ms: number, ...clocks: FakeClock[]): Promise<void> {
  const step = 10;
  await settle();
  for (let t = 0; t < ms; t += step) {
    for (const clock of clocks) clock.advance(Math.min(step, ms - t));
    await settle();
  }
}

type Verb = 'get' | 'create' | 'update';

/** A Lease store with resourceVersion checks, as the API server does them. */
class FakeLeases implements LeaseClient {
  readonly leases = new Map<string, Lease>();
  readonly calls: Array<{ verb: Verb; identity?: string }> = [];
  #rv = 1;
  /** Makes a verb fail (return an error) or hang (return 'hang'). */
  fault: ((verb: Verb) => Error | 'hang' | undefined) | undefined;

  #key(ref: { namespace?: string | undefined; name?: string | undefined }): string {
    return `${ref.namespace ?? ''}/${ref.name ?? ''}`;
  }

  async #call(verb: Verb, path: string, signal: AbortSignal | undefined): Promise<void> {
    await Promise.resolve();
    const fault = this.fault?.(verb);
    if (fault === 'hang') {
      await new Promise((_, reject) => {
        signal?.addEventListener('abort', () => reject(new Error('aborted')), { once: true });
      });
    }
    if (fault instanceof Error) throw fault;
    if (signal?.aborted) throw new Error(`${verb} ${path}: aborted`);
  }

  get<T extends KubeObject = KubeObject>(ref: ObjectRef, options: { signal?: AbortSignal } = {}): Promise<T> {
    return (async () => {
      this.calls.push({ verb: 'get' });
      await this.#call('get', this.#key(ref), options.signal);
      const lease = this.leases.get(this.#key(ref));
      if (!lease) throw new StatusError({ code: 404, request: `GET ${this.#key(ref)}` });
      return structuredClone(lease) as T;
    })();
  }

  create<T extends KubeObject>(obj: T, options: { signal?: AbortSignal } = {}): Promise<T> {
    return (async () => {
      this.calls.push({ verb: 'create', identity: (obj as Lease).spec?.holderIdentity ?? '' });
      const key = this.#key(obj.metadata);
      await this.#call('create', key, options.signal);
      if (this.leases.has(key))
        throw new StatusError({ code: 409, status: { reason: 'AlreadyExists' }, request: key });
      const stored = structuredClone(obj) as Lease;
      stored.metadata.resourceVersion = String(this.#rv++);
      this.leases.set(key, stored);
      return structuredClone(stored) as T;
    })();
  }

  update<T extends KubeObject>(obj: T, options: { signal?: AbortSignal } = {}): Promise<T> {
    return (async () => {
      this.calls.push({ verb: 'update', identity: (obj as Lease).spec?.holderIdentity ?? '' });
      const key = this.#key(obj.metadata);
      await this.#call('update', key, options.signal);
      const current = this.leases.get(key);
      if (!current) throw new StatusError({ code: 404, request: key });
      if (current.metadata.resourceVersion !== obj.metadata.resourceVersion) {
        throw new StatusError({ code: 409, status: { reason: 'Conflict' }, request: key });
      }
      const stored = structuredClone(obj) as Lease;
      stored.metadata.resourceVersion = String(this.#rv++);
      this.leases.set(key, stored);
      return structuredClone(stored) as T;
    })();
  }

  lease(): Lease {
    const lease = this.leases.get('ns/lock');
    assert.ok(lease, 'the Lease exists');
    return lease;
  }
}

interface Candidate {
  elector: LeaderElector;
  stop: AbortController;
  done: Promise<void>;
  started: number;
  stopped: number;
  leaderSignal: AbortSignal | undefined;
  newLeaders: string[];
  errors: unknown[];
}

function candidate(
  identity: string,
  client: LeaseClient,
  clock: FakeClock,
  options: Partial<LeaderElectorOptions> = {},
): Candidate {
  const c: Candidate = {
    stop: new AbortController(),
    started: 0,
    stopped: 0,
    leaderSignal: undefined,
    newLeaders: [],
    errors: [],
  } as unknown as Candidate;
  c.elector = new LeaderElector({
    client,
    clock,
    lock: { namespace: 'ns', name: 'lock' },
    identity,
    leaseDurationMs: 15_000,
    renewDeadlineMs: 10_000,
    retryPeriodMs: 2_000,
    jitterFactor: 0,
    onStartedLeading: (signal) => {
      c.started++;
      c.leaderSignal = signal;
    },
    onStoppedLeading: () => {
      c.stopped++;
    },
    onNewLeader: (id) => c.newLeaders.push(id),
    onError: (err) => c.errors.push(err),
    ...options,
  });
  c.done = c.elector.run(c.stop.signal);
  return c;
}

describe('LeaderElector', () => {
  const t0 = Date.UTC(2024, 0, 1);

  it('creates the Lease, leads, and renews every retry period', async () => {
    const clock = new FakeClock(t0);
    const api = new FakeLeases();
    const a = candidate('a', api, clock);
    await elapse(10, clock);
    assert.equal(a.started, 1);
    assert.equal(a.elector.isLeader(), true);
    assert.equal(a.elector.getLeader(), 'a');
    assert.deepEqual(a.newLeaders, ['a']);
    const created = api.lease();
    assert.equal(created.apiVersion, 'coordination.k8s.io/v1');
    assert.equal(created.kind, 'Lease');
    assert.deepEqual(created.spec, {
      holderIdentity: 'a',
      leaseDurationSeconds: 15,
      leaseTransitions: 0,
      acquireTime: formatMicroTime(t0),
      renewTime: formatMicroTime(t0),
    });

    const writesBefore = api.calls.filter((c) => c.verb === 'update').length;
    await elapse(10_000, clock);
    const renewals = api.calls.filter((c) => c.verb === 'update').length - writesBefore;
    assert.ok(renewals >= 4 && renewals <= 5, `${renewals} renewals in 10 s at a 2 s period`);
    const renewed = api.lease().spec;
    assert.equal(renewed?.acquireTime, formatMicroTime(t0), 'acquireTime stays');
    assert.notEqual(renewed?.renewTime, formatMicroTime(t0));
    assert.match(renewed?.renewTime ?? '', microTime);
    assert.equal(renewed?.leaseTransitions, 0);
    // The fast path: a leader updates without reading first.
    assert.equal(api.calls.filter((c) => c.verb === 'get').length, 1);

    a.stop.abort();
    await elapse(10, clock);
    await a.done;
    assert.equal(a.stopped, 1);
    assert.equal(a.leaderSignal?.aborted, true);
  });

  it('takes over a stale Lease only after leaseDuration on its own clock, however old renewTime is', async () => {
    const clock = new FakeClock(t0);
    const api = new FakeLeases();
    // A holder that died long ago, or whose clock is years behind: renewTime says 2001.
    api.leases.set('ns/lock', {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { namespace: 'ns', name: 'lock', resourceVersion: '100' },
      spec: {
        holderIdentity: 'ghost',
        leaseDurationSeconds: 15,
        acquireTime: '2001-01-01T00:00:00.000000Z',
        renewTime: '2001-01-01T00:00:00.000000Z',
        leaseTransitions: 7,
      },
    });
    const b = candidate('b', api, clock);
    await elapse(14_500, clock);
    assert.equal(b.started, 0, 'not before 15 s since b first saw the record');
    assert.equal(b.elector.getLeader(), 'ghost');
    assert.deepEqual(b.newLeaders, ['ghost']);
    await elapse(2_500, clock); // 15 s + one retry period
    assert.equal(b.started, 1);
    const spec = api.lease().spec;
    assert.equal(spec?.holderIdentity, 'b');
    assert.equal(spec?.leaseTransitions, 8, 'a holder change counts as a transition');
    assert.equal(spec?.acquireTime, formatMicroTime(t0 + 16_000), 'the first attempt at or after t0 + 15 s');
    assert.deepEqual(b.newLeaders, ['ghost', 'b']);
    b.stop.abort();
    await elapse(10, clock);
    await b.done;
  });

  it('never takes over from a live holder, even with its clock hours ahead', async () => {
    const clockA = new FakeClock(t0);
    const clockB = new FakeClock(t0 + 5 * 3_600_000);
    const api = new FakeLeases();
    const a = candidate('a', api, clockA);
    await elapse(10, clockA, clockB);
    const b = candidate('b', api, clockB);
    await elapse(60_000, clockA, clockB);
    assert.equal(a.elector.isLeader(), true);
    assert.equal(b.started, 0);
    assert.equal(api.lease().spec?.holderIdentity, 'a');
    assert.equal(b.elector.getLeader(), 'a');

    a.stop.abort();
    b.stop.abort();
    await elapse(10, clockA, clockB);
    await Promise.all([a.done, b.done]);
  });

  it('lets the other candidate take over after a kill (no release) within leaseDuration + 2 retry periods', async () => {
    const clockA = new FakeClock(t0);
    const clockB = new FakeClock(t0 + 5 * 3_600_000);
    const api = new FakeLeases();
    const a = candidate('a', api, clockA, { releaseOnCancel: false });
    await elapse(10, clockA, clockB);
    const b = candidate('b', api, clockB);
    await elapse(7_000, clockA, clockB);
    const lastRenewRv = api.lease().metadata.resourceVersion;
    a.stop.abort();
    await elapse(10, clockA, clockB);
    await a.done;
    assert.equal(a.stopped, 1);
    assert.equal(api.lease().metadata.resourceVersion, lastRenewRv, 'no release was written');
    assert.equal(api.lease().spec?.holderIdentity, 'a');

    let waited = 0;
    while (b.started === 0 && waited < 40_000) {
      await elapse(100, clockA, clockB);
      waited += 100;
    }
    assert.equal(b.started, 1);
    // a last renewed at most one retry period before the kill; b saw it at most one period after.
    assert.ok(waited >= 15_000 - 2_000, `took over after ${waited} ms: not before the lease expired`);
    assert.ok(waited <= 15_000 + 2 * 2_000, `took over after ${waited} ms`);
    assert.equal(api.lease().spec?.leaseTransitions, 1);
    b.stop.abort();
    await elapse(10, clockA, clockB);
    await b.done;
  });

  it('releases on a clean shutdown so the other candidate takes over within a retry period', async () => {
    const clock = new FakeClock(t0);
    const api = new FakeLeases();
    const a = candidate('a', api, clock);
    await elapse(10, clock);
    const b = candidate('b', api, clock);
    await elapse(5_000, clock);
    assert.equal(b.started, 0);

    a.stop.abort();
    await elapse(10, clock);
    await a.done;
    const released = api.lease().spec;
    assert.equal(released?.holderIdentity, '');
    assert.equal(released?.leaseDurationSeconds, 1);
    assert.equal(released?.leaseTransitions, 0);
    assert.equal(released?.renewTime, formatMicroTime(t0 + 5_010));
    assert.equal(a.stopped, 1);
    assert.equal(a.elector.isLeader(), false);

    await elapse(2_000, clock);
    assert.equal(b.started, 1, 'b took over on its next attempt');
    assert.equal(api.lease().spec?.holderIdentity, 'b');
    assert.equal(api.lease().spec?.leaseTransitions, 1);
    assert.equal(api.lease().spec?.leaseDurationSeconds, 15);
    b.stop.abort();
    await elapse(10, clock);
    await b.done;
  });

  it('waits for the work started by onStartedLeading before releasing', async () => {
    const clock = new FakeClock(t0);
    const api = new FakeLeases();
    let finishWork: () => void = () => undefined;
    const a = candidate('a', api, clock, {
      onStartedLeading: (signal) =>
        new Promise<void>((resolve) => {
          signal.addEventListener('abort', () => (finishWork = resolve), { once: true });
        }),
    });
    await elapse(10, clock);
    a.stop.abort();
    await elapse(1_000, clock);
    assert.equal(api.lease().spec?.holderIdentity, 'a', 'still held while the work drains');
    finishWork();
    await elapse(10, clock);
    await a.done;
    assert.equal(api.lease().spec?.holderIdentity, '');
  });

  it('stops leading when it cannot renew within renewDeadline', async () => {
    const clock = new FakeClock(t0);
    const api = new FakeLeases();
    const a = candidate('a', api, clock);
    await elapse(10, clock);
    assert.equal(a.started, 1);
    const lastRenew = clock.now() - 10;
    api.fault = (verb) => (verb === 'get' ? undefined : new StatusError({ code: 500, request: verb }));
    let waited = 0;
    while (a.stopped === 0 && waited < 30_000) {
      await elapse(100, clock);
      waited += 100;
    }
    assert.equal(a.stopped, 1);
    assert.equal(a.leaderSignal?.aborted, true);
    assert.equal(a.elector.isLeader(), false);
    const stoppedAt = clock.now();
    assert.ok(
      stoppedAt - lastRenew <= 10_000 + 100,
      `stopped ${stoppedAt - lastRenew} ms after the last renewal`,
    );
    assert.ok(stoppedAt - lastRenew >= 10_000 - 2_000, 'kept trying until near the deadline');
    assert.ok(a.errors.some((e) => e instanceof StatusError && e.code === 500));
    await a.done; // run() returns by itself when leadership is lost
  });

  it('stops leading by the deadline even when the API server hangs', async () => {
    const clock = new FakeClock(t0);
    const api = new FakeLeases();
    const a = candidate('a', api, clock, { releaseOnCancel: false });
    await elapse(10, clock);
    api.fault = () => 'hang';
    await elapse(10_000, clock);
    assert.equal(a.stopped, 1);
    await a.done;
  });

  it('stops at once when another holder took the Lease', async () => {
    const clock = new FakeClock(t0);
    const api = new FakeLeases();
    const a = candidate('a', api, clock);
    await elapse(10, clock);
    const lease = api.lease();
    api.leases.set('ns/lock', {
      ...lease,
      metadata: { ...lease.metadata, resourceVersion: '999' },
      spec: { ...lease.spec, holderIdentity: 'usurper' },
    });
    await elapse(2_100, clock);
    assert.equal(a.stopped, 1);
    assert.deepEqual(a.newLeaders, ['a', 'usurper']);
    await a.done;
    assert.equal(api.lease().spec?.holderIdentity, 'usurper', 'a does not release what it does not hold');
  });

  it('elects exactly one of many candidates racing for a new Lease', async () => {
    const clock = new FakeClock(t0);
    const api = new FakeLeases();
    const all = ['a', 'b', 'c', 'd'].map((id) => candidate(id, api, clock, { jitterFactor: 1.2 }));
    await elapse(30_000, clock);
    assert.equal(
      all.reduce((n, c) => n + c.started, 0),
      1,
    );
    const leader = all.find((c) => c.started === 1);
    assert.equal(api.lease().spec?.holderIdentity, leader?.elector.identity);
    for (const c of all) assert.equal(c.elector.getLeader(), leader?.elector.identity);
    for (const c of all) c.stop.abort();
    await elapse(10, clock);
    await Promise.all(all.map((c) => c.done));
    for (const c of all) assert.deepEqual(c.errors, [], 'lost races are not errors');
  });

  it('reports unhealthy when it leads but has not renewed for leaseDuration + tolerance', async () => {
    const clock = new FakeClock(t0);
    const api = new FakeLeases();
    const a = candidate('a', api, clock);
    await elapse(10, clock);
    assert.equal(a.elector.check(1_000), true);
    // Time passes while the renew loop cannot run (as if the event loop were blocked).
    clock.advance(15_000 + 1_000 + 1);
    assert.equal(a.elector.isLeader(), true);
    assert.equal(a.elector.check(1_000), false);
    assert.equal(a.elector.check(5_000), true);
    a.stop.abort();
    await elapse(10, clock);
    await a.done;
    assert.equal(a.elector.check(0), true, 'a follower is healthy');
  });

  it('rejects settings that would allow two leaders', () => {
    const base = {
      client: new FakeLeases(),
      lock: { namespace: 'ns', name: 'lock' },
      identity: 'a',
      onStartedLeading: () => undefined,
      onStoppedLeading: () => undefined,
    };
    assert.throws(
      () => new LeaderElector({ ...base, leaseDurationMs: 10_000, renewDeadlineMs: 10_000 }),
      /greater than renewDeadlineMs/,
    );
    assert.throws(
      () => new LeaderElector({ ...base, renewDeadlineMs: 2_000, retryPeriodMs: 2_000 }),
      /greater than retryPeriodMs/,
    );
    assert.throws(() => new LeaderElector({ ...base, identity: '' }), /identity/);
    assert.throws(
      () => new LeaderElector({ ...base, leaseDurationMs: 500, renewDeadlineMs: 400, retryPeriodMs: 100 }),
      /at least 1000/,
    );
    assert.doesNotThrow(() => new LeaderElector(base));
  });

  it('refuses to run twice at once', async () => {
    const clock = new FakeClock(t0);
    const a = candidate('a', new FakeLeases(), clock);
    await assert.rejects(a.elector.run(new AbortController().signal), /already running/);
    a.stop.abort();
    await elapse(10, clock);
    await a.done;
  });
});
