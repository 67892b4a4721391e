import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { ControlPlane, eventually, skipE2E } from '@bindery/controlplane';
import { KubeClient } from './client.ts';
import { realClock } from './clock.ts';
import type { Clock } from './clock.ts';
import { LeaderElector } from './leader-election.ts';
import type { LeaderElectorOptions } from './leader-election.ts';
import type { Lease } from './lease-record.ts';
import { parseMicroTime } from './micro-time.ts';

const ns = 'leader-election-e2e';
const microTime = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

// Short periods, so that a takeover takes seconds. Candidates wait exactly one
// retry period between attempts (no jitter), so the bounds below are tight.
const leaseDurationMs = 3_000;
const renewDeadlineMs = 2_000;
const retryPeriodMs = 500;
/** Request latency and timer lateness on a loaded test machine. */
const slackMs = 500;

interface Candidate {
  elector: LeaderElector;
  stop: AbortController;
  done: Promise<void>;
  startedAt: number | undefined;
  stoppedAt: number | undefined;
  leaderSignal: AbortSignal | undefined;
  errors: unknown[];
}

describe('LeaderElector against a real API server', { skip: skipE2E }, () => {
  let cp: ControlPlane;
  let client: KubeClient;
  const running: Candidate[] = [];

  before(
    async () => {
      cp = new ControlPlane();
      await cp.start();
      client = new KubeClient({ kubeConfig: cp.kubeConfig() });
      await client.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
    },
    { timeout: 30 * 60_000 }, // the first run builds the binaries
  );

  after(async () => {
    for (const c of running) c.stop.abort();
    await Promise.all(running.map((c) => c.done));
    await client?.close();
    await cp?.stop();
  });

  function candidate(identity: string, lock: string, options: Partial<LeaderElectorOptions> = {}): Candidate {
    const c: Candidate = {
      stop: new AbortController(),
      startedAt: undefined,
      stoppedAt: undefined,
      leaderSignal: undefined,
      errors: [],
    } as unknown as Candidate;
    c.elector = new LeaderElector({
      client,
      lock: { namespace: ns, name: lock },
      identity,
      leaseDurationMs,
      renewDeadlineMs,
      retryPeriodMs,
      jitterFactor: 0,
      onStartedLeading: (signal) => {
        c.startedAt = Date.now();
        c.leaderSignal = signal;
      },
      onStoppedLeading: () => {
        c.stoppedAt = Date.now();
      },
      onError: (err) => c.errors.push(err),
      ...options,
    });
    c.done = c.elector.run(c.stop.signal);
    running.push(c);
    return c;
  }

  const getLease = (name: string): Promise<Lease> =>
    client.get<Lease>({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', namespace: ns, name });

  it('creates the Lease and renews it with MicroTime timestamps', async () => {
    const before = Date.now();
    const a = candidate('a', 'basic');
    await eventually(() => assert.ok(a.startedAt));
    assert.equal(a.elector.isLeader(), true);
    assert.equal(a.elector.getLeader(), 'a');
    const first = await getLease('basic');
    assert.equal(first.spec?.holderIdentity, 'a');
    assert.equal(first.spec?.leaseDurationSeconds, 3);
    assert.equal(first.spec?.leaseTransitions, 0);
    assert.match(first.spec?.acquireTime ?? '', microTime);
    assert.match(first.spec?.renewTime ?? '', microTime);
    const acquired = parseMicroTime(first.spec?.acquireTime ?? '') ?? 0;
    assert.ok(acquired >= before - 1 && acquired <= Date.now(), 'acquireTime is when it was acquired');

    await sleep(3 * retryPeriodMs);
    const renewed = await getLease('basic');
    assert.equal(
      renewed.spec?.acquireTime,
      first.spec?.acquireTime,
      'acquireTime stays while the holder renews',
    );
    assert.match(renewed.spec?.renewTime ?? '', microTime);
    const renewedAt = parseMicroTime(renewed.spec?.renewTime ?? '') ?? 0;
    assert.ok(renewedAt > (parseMicroTime(first.spec?.renewTime ?? '') ?? 0));
    assert.ok(Date.now() - renewedAt < retryPeriodMs + slackMs, 'renewed within the last retry period');
    assert.equal(a.elector.check(0), true);

    a.stop.abort();
    await a.done;
    assert.ok(a.stoppedAt);
    assert.equal(a.leaderSignal?.aborted, true);
    assert.deepEqual(a.errors, []);
  });

  it('after a kill (no release) the other candidate takes over once the lease expires, not before', async () => {
    const a = candidate('a', 'kill', { releaseOnCancel: false });
    await eventually(() => assert.ok(a.startedAt));
    const b = candidate('b', 'kill');
    await sleep(2 * leaseDurationMs); // b sees a renew, again and again
    assert.equal(b.startedAt, undefined, 'b never takes over from a live leader');
    assert.equal(b.elector.getLeader(), 'a');

    const killedAt = Date.now();
    a.stop.abort();
    await a.done;
    const left = await getLease('kill');
    assert.equal(left.spec?.holderIdentity, 'a', 'no release was written');
    const lastRenew = parseMicroTime(left.spec?.renewTime ?? '') ?? Number.NaN;

    await eventually(() => assert.ok(b.startedAt), 4 * leaseDurationMs);
    const takeoverAt = b.startedAt ?? Number.NaN;
    // Safety: b saw a's last renewal only after it was written, and waits a whole lease
    // duration from then. (Both clocks are this process's, so they compare here.)
    assert.ok(
      takeoverAt - lastRenew >= leaseDurationMs,
      `took over ${takeoverAt - lastRenew} ms after a's last renewal: less than the lease duration`,
    );
    // Liveness: a's last renewal was at most when it was killed; b saw it within one retry
    // period, and tries again every retry period once leaseDuration has passed since.
    const bound = leaseDurationMs + 2 * retryPeriodMs + slackMs;
    assert.ok(
      takeoverAt - killedAt <= bound,
      `took over ${takeoverAt - killedAt} ms after the kill; expected at most ${bound}`,
    );
    console.log(
      `takeover after kill: ${takeoverAt - killedAt} ms after the kill, ${takeoverAt - lastRenew} ms after the last renewal`,
    );

    const lease = await getLease('kill');
    assert.equal(lease.spec?.holderIdentity, 'b');
    assert.equal(lease.spec?.leaseTransitions, 1);
    assert.equal(lease.spec?.leaseDurationSeconds, 3);
    assert.match(lease.spec?.renewTime ?? '', microTime);
    assert.match(lease.spec?.acquireTime ?? '', microTime);
    const acquired = parseMicroTime(lease.spec?.acquireTime ?? '') ?? 0;
    assert.ok(acquired >= killedAt && acquired <= takeoverAt, 'acquireTime is the takeover');
    assert.deepEqual(b.errors, []);
    b.stop.abort();
    await b.done;
  });

  it('on a clean shutdown releases the Lease and the other candidate takes over within a retry period', async () => {
    const a = candidate('a', 'release');
    await eventually(() => assert.ok(a.startedAt));
    const b = candidate('b', 'release');
    await sleep(2 * retryPeriodMs);
    assert.equal(b.startedAt, undefined);

    const stoppedAt = Date.now();
    a.stop.abort();
    await a.done;
    const released = await getLease('release');
    // client-go's release: no holder, a 1 s duration, times set to the release.
    if (released.spec?.holderIdentity !== 'b') {
      assert.equal(released.spec?.holderIdentity ?? '', '');
      assert.equal(released.spec?.leaseDurationSeconds, 1);
      assert.equal(released.spec?.acquireTime, released.spec?.renewTime);
      assert.ok((parseMicroTime(released.spec?.renewTime ?? '') ?? 0) >= stoppedAt);
    }

    await eventually(() => assert.ok(b.startedAt), 2 * leaseDurationMs);
    const took = (b.startedAt ?? Number.NaN) - stoppedAt;
    console.log(`takeover after release: ${took} ms`);
    assert.ok(took <= retryPeriodMs + slackMs, `took over ${took} ms after the release`);
    assert.ok(took < leaseDurationMs / 2, 'well before the lease would have expired');
    const lease = await getLease('release');
    assert.equal(lease.spec?.holderIdentity, 'b');
    assert.equal(lease.spec?.leaseTransitions, 1);
    assert.equal(lease.spec?.leaseDurationSeconds, 3);
    assert.deepEqual([...a.errors, ...b.errors], []);
    b.stop.abort();
    await b.done;
  });

  it('never takes over a live Lease, whatever the candidate clock says', async () => {
    const skewed = (offsetMs: number): Clock => ({ ...realClock, now: () => Date.now() + offsetMs });
    const a = candidate('a', 'skew', { releaseOnCancel: false });
    await eventually(() => assert.ok(a.startedAt));
    const ahead = candidate('ahead', 'skew', { clock: skewed(3_600_000) });
    const behind = candidate('behind', 'skew', { clock: skewed(-3_600_000) });
    await sleep(3 * leaseDurationMs);
    assert.equal(ahead.startedAt, undefined, 'a clock an hour ahead does not see the lease as expired');
    assert.equal(behind.startedAt, undefined);
    assert.equal((await getLease('skew')).spec?.holderIdentity, 'a');
    assert.equal(a.elector.isLeader(), true);

    // …and once the holder dies, the candidates still wait out the lease and no longer.
    const killedAt = Date.now();
    a.stop.abort();
    await a.done;
    const lastRenew = parseMicroTime((await getLease('skew')).spec?.renewTime ?? '') ?? Number.NaN;
    await eventually(() => assert.ok(ahead.startedAt ?? behind.startedAt), 4 * leaseDurationMs);
    const winner = ahead.startedAt ? ahead : behind;
    const loser = winner === ahead ? behind : ahead;
    const takeoverAt = winner.startedAt ?? Number.NaN;
    assert.ok(
      takeoverAt - lastRenew >= leaseDurationMs,
      `${takeoverAt - lastRenew} ms after the last renewal`,
    );
    assert.ok(
      takeoverAt - killedAt <= leaseDurationMs + 2 * retryPeriodMs + slackMs,
      `${takeoverAt - killedAt} ms`,
    );
    await sleep(2 * retryPeriodMs);
    assert.equal(loser.startedAt, undefined, 'exactly one of them took over');
    assert.equal((await getLease('skew')).spec?.holderIdentity, winner.elector.identity);
    for (const c of [ahead, behind]) c.stop.abort();
    await Promise.all([ahead.done, behind.done]);
  });

  it('stops leading at once when another holder takes the Lease', async () => {
    const a = candidate('a', 'usurped');
    await eventually(() => assert.ok(a.startedAt));
    const lease = await getLease('usurped');
    await client.update({ ...lease, spec: { ...lease.spec, holderIdentity: 'intruder' } });
    const takenAt = Date.now();
    await a.done; // run() returns by itself when leadership is lost
    assert.ok(a.stoppedAt);
    assert.equal(a.leaderSignal?.aborted, true);
    assert.ok(
      (a.stoppedAt ?? Number.NaN) - takenAt <= retryPeriodMs + slackMs,
      'noticed on the next renewal',
    );
    assert.equal(a.elector.isLeader(), false);
    assert.equal(a.elector.getLeader(), 'intruder');
    assert.equal(
      (await getLease('usurped')).spec?.holderIdentity,
      'intruder',
      'a released nothing it did not hold',
    );
  });
});
