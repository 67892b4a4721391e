import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { ControlPlane, eventually, skipE2E } from '@bindery/controlplane';
import { KubeClient, isNotFound } from '@bindery/kube';
import type { KubeObject } from '@bindery/kube';
import { pino } from 'pino';
import { Controller } from './controller.ts';
import { Manager } from './manager.ts';
import type { ManagerOptions } from './manager.ts';
import type { Reconciler, Request } from './reconciler.ts';

const ns = 'manager-e2e';

/** Labels every ConfigMap of the `suite` it is given with the name of the manager that reconciled it. */
function labeller(
  suite: string,
  by: string,
  options: { failFirst?: number; delayMs?: number } = {},
): Reconciler & { calls: Request[] } {
  const calls: Request[] = [];
  const failures = new Map<string, number>();
  return {
    name: `labeller-${by}`,
    calls,
    async reconcile(ctx, request) {
      calls.push(request);
      const cm = await ctx.config.client
        .get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: request.namespace ?? '', name: request.name })
        .catch((err: unknown) => {
          if (isNotFound(err)) return undefined;
          throw err;
        });
      if (!cm || cm.metadata.labels?.['suite'] !== suite || cm.metadata.labels['reconciled-by']) return {};
      const failed = failures.get(request.name) ?? 0;
      if (failed < (options.failFirst ?? 0)) {
        failures.set(request.name, failed + 1);
        throw new Error(`planned failure ${failed + 1}`);
      }
      if (options.delayMs) await sleep(options.delayMs);
      await ctx.config.client.patch(
        { apiVersion: 'v1', kind: 'ConfigMap', namespace: request.namespace ?? '', name: request.name },
        { metadata: { labels: { 'reconciled-by': by } } },
        { type: 'merge' },
      );
      return {};
    },
  };
}

describe('Manager against a real API server', { skip: skipE2E }, () => {
  let cp: ControlPlane;
  let admin: KubeClient;

  before(async () => {
    cp = new ControlPlane();
    await cp.start();
    admin = new KubeClient({ kubeConfig: cp.kubeConfig() });
    await admin.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  });

  after(async () => {
    await admin?.close();
    await cp?.stop();
  });

  function manager(options: Partial<ManagerOptions> = {}): Manager {
    return new Manager({
      client: new KubeClient({ kubeConfig: cp.kubeConfig() }),
      log: pino({ level: 'silent' }),
      metrics: { host: '127.0.0.1', port: 0 },
      health: { host: '127.0.0.1', port: 0 },
      ...options,
    });
  }

  const configMap = (name: string, suite: string): KubeObject => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace: ns, labels: { suite } },
  });

  async function labelOf(name: string): Promise<string | undefined> {
    const cm = await admin.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name });
    return cm.metadata.labels?.['reconciled-by'];
  }

  it('reconciles, retries failures with backoff, and serves metrics and health', async () => {
    const mgr = manager();
    const reconciler = labeller('basic', 'basic', { failFirst: 2 });
    mgr.add(
      new Controller({
        name: 'labeller',
        for: { apiVersion: 'v1', kind: 'ConfigMap' },
        reconciler,
        workers: 2,
      }),
    );
    const stop = new AbortController();
    const running = mgr.start(stop.signal);
    try {
      await admin.create(configMap('one', 'basic'));
      await eventually(async () => assert.equal(await labelOf('one'), 'basic'));
      // Two planned failures, then success: three reconciles of `one` at least.
      assert.ok(reconciler.calls.filter((r) => r.name === 'one').length >= 3);

      const metrics = await (await fetch(`http://127.0.0.1:${mgr.metricsAddress?.port}/metrics`)).text();
      assert.match(metrics, /controller_runtime_reconcile_total\{controller="labeller",result="error"\} 2/);
      assert.match(
        metrics,
        /controller_runtime_reconcile_total\{controller="labeller",result="success"\} \d+/,
      );
      assert.match(metrics, /workqueue_adds_total\{name="labeller"\} \d+/);
      assert.match(metrics, /workqueue_retries_total\{name="labeller"\} 2/);

      const ready = await fetch(`http://127.0.0.1:${mgr.healthAddress?.port}/readyz`);
      assert.equal(ready.status, 200);
      assert.match(await ready.text(), /\[\+\]informers ok/);
      assert.equal((await fetch(`http://127.0.0.1:${mgr.healthAddress?.port}/healthz`)).status, 200);
    } finally {
      stop.abort();
      await running;
    }
  });

  it('caches objects without managedFields unless told to keep them whole', async () => {
    await admin.create(configMap('cached', 'transform'));
    const ref = { apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'cached' };
    assert.ok((await admin.get(ref)).metadata.managedFields, 'the API server sends managedFields');
    for (const [options, kept] of [
      [{}, false],
      [{ cacheTransform: false as const }, true],
    ] as const) {
      const mgr = manager(options);
      const stop = new AbortController();
      const running = mgr.start(stop.signal);
      try {
        const cached = await mgr.cachedClient.get(ref);
        assert.equal(cached.metadata.managedFields !== undefined, kept);
        assert.equal(cached.metadata.labels?.['suite'], 'transform');
      } finally {
        stop.abort();
        await running;
      }
    }
  });

  it('reads of a kind the API server does not serve fail at once instead of waiting for a sync', async () => {
    const mgr = manager();
    const started = Date.now();
    await assert.rejects(
      mgr.cachedClient.get({
        apiVersion: 'example.bindery.dev/v1',
        kind: 'Missing',
        namespace: ns,
        name: 'x',
      }),
      (err: Error) => err.name === 'NoKindMatchError' && err.message.includes('Missing'),
    );
    assert.ok(Date.now() - started < 5_000, 'failed fast');
  });

  it('reads of a kind the client may not list give up at the deadline, and /readyz stays true', async () => {
    const user = await cp.addUser({ name: 'no-configmaps' });
    const mgr = new Manager({
      client: KubeClient.fromKubeConfig({ kubeconfig: user.kubeconfigPath }),
      log: pino({ level: 'silent' }),
      metrics: false,
      health: { host: '127.0.0.1', port: 0 },
      cacheSyncTimeoutMs: 1_000,
    });
    // A manager with nothing to run stops at once.
    mgr.addRunnable({
      name: 'idle',
      start: (signal) => new Promise((resolve) => signal.addEventListener('abort', () => resolve())),
    });
    const stop = new AbortController();
    const running = mgr.start(stop.signal);
    try {
      await eventually(async () =>
        assert.equal((await fetch(`http://127.0.0.1:${mgr.healthAddress?.port}/readyz`)).status, 200),
      );
      await assert.rejects(
        mgr.cachedClient.list({ apiVersion: 'v1', kind: 'ConfigMap' }, { namespace: ns }),
        (err: Error) =>
          err.name === 'CacheSyncTimeoutError' &&
          err.message.includes('ConfigMap') &&
          /forbidden/.test(err.message),
      );
      // The informer that never syncs was started on demand: the replica stays ready.
      assert.equal((await fetch(`http://127.0.0.1:${mgr.healthAddress?.port}/readyz`)).status, 200);
    } finally {
      stop.abort();
      await running;
    }
  });

  it('hands every cached object to the controllers again each sync period', async () => {
    const mgr = manager({ syncPeriodMs: 500 });
    const seen: string[] = [];
    mgr.add(
      new Controller({
        name: 'resync',
        for: { apiVersion: 'v1', kind: 'ConfigMap' },
        reconciler: {
          name: 'resync',
          reconcile: (_ctx, request) => {
            if (request.name === 'resynced') seen.push(request.name);
            return Promise.resolve({});
          },
        },
      }),
    );
    await admin.create(configMap('resynced', 'resync'));
    const stop = new AbortController();
    const running = mgr.start(stop.signal);
    try {
      // Nothing changes the ConfigMap: only resyncs reconcile it again.
      await eventually(() => assert.ok(seen.length >= 3, `reconciled ${seen.length} times`), 10_000);
    } finally {
      stop.abort();
      await running;
    }
  });

  it('a reconcile that throws anything never stops the controller', async () => {
    const mgr = manager();
    let calls = 0;
    const reconciler: Reconciler = {
      name: 'thrower',
      reconcile(_ctx, request) {
        calls++;
        // Not even an Error: a string, then an object with a throwing getter.
        if (request.name === 'bad-1') return Promise.reject(new Error('plain'));
        // eslint-disable-next-line @typescript-eslint/only-throw-error -- the point of the test
        if (request.name === 'bad-2') throw 'a string';
        return Promise.resolve({});
      },
    };
    mgr.add(new Controller({ name: 'thrower', for: { apiVersion: 'v1', kind: 'ConfigMap' }, reconciler }));
    const stop = new AbortController();
    const running = mgr.start(stop.signal);
    try {
      await admin.create(configMap('bad-1', 'thrower'));
      await admin.create(configMap('bad-2', 'thrower'));
      await admin.create(configMap('good', 'thrower'));
      await eventually(() => assert.ok(calls >= 5));
      const metrics = await (await fetch(`http://127.0.0.1:${mgr.metricsAddress?.port}/metrics`)).text();
      // Both bad keys failed at least once each; how often they were retried by then depends on load.
      const errors = /controller_runtime_reconcile_errors_total\{controller="thrower"\} (\d+)/.exec(metrics);
      assert.ok(Number(errors?.[1]) >= 2, `errors_total ${errors?.[1]}`);
    } finally {
      stop.abort();
      await running;
    }
  });

  it('runs controllers only on the leader, fails over, and drains in-flight work on shutdown', async () => {
    const election = {
      namespace: ns,
      name: 'labeller-lock',
      leaseDurationMs: 3_000,
      renewDeadlineMs: 2_000,
      retryPeriodMs: 300,
    };
    const a = manager({ leaderElection: { ...election, identity: 'a' } });
    const b = manager({ leaderElection: { ...election, identity: 'b' } });
    const ra = labeller('ha', 'a', { delayMs: 1_000 });
    const rb = labeller('ha', 'b');
    a.add(
      new Controller({ name: 'labeller-a', for: { apiVersion: 'v1', kind: 'ConfigMap' }, reconciler: ra }),
    );
    b.add(
      new Controller({ name: 'labeller-b', for: { apiVersion: 'v1', kind: 'ConfigMap' }, reconciler: rb }),
    );
    const stopA = new AbortController();
    const stopB = new AbortController();
    const runningA = a.start(stopA.signal);
    await eventually(() => assert.equal(a.leading, true));
    const runningB = b.start(stopB.signal);
    try {
      await admin.create(configMap('ha-1', 'ha'));
      await eventually(async () => assert.equal(await labelOf('ha-1'), 'a'));
      assert.equal(b.leading, false);
      assert.equal(rb.calls.length, 0, 'the follower reconciles nothing');

      // A slow reconcile is in flight when a is told to stop: it completes first.
      await admin.create(configMap('ha-2', 'ha'));
      await eventually(() => assert.ok(ra.calls.some((r) => r.name === 'ha-2')));
      const stopped = Date.now();
      stopA.abort();
      await runningA;
      assert.equal(await labelOf('ha-2'), 'a', 'the in-flight reconcile finished before shutdown');

      // a released the Lease on the way out: b takes over well within a lease duration.
      await eventually(() => assert.equal(b.leading, true), 10_000);
      assert.ok(Date.now() - stopped < 3_000, `took over after ${Date.now() - stopped} ms`);
      await admin.create(configMap('ha-3', 'ha'));
      await eventually(async () => assert.equal(await labelOf('ha-3'), 'b'));
    } finally {
      stopA.abort();
      stopB.abort();
      await Promise.allSettled([runningA, runningB]);
    }
  });
});
