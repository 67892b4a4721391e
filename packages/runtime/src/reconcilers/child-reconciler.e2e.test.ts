import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ControlPlane, eventually, skipE2E } from '@bindery/controlplane';
import { KubeClient, StatusError, isNotFound } from '@bindery/kube';
import type { KubeObject } from '@bindery/kube';
import { pino } from 'pino';
import { Controller } from '../controller.ts';
import { Manager } from '../manager.ts';
import type { Reconciler } from '../reconciler.ts';
import { ChildReconciler } from './child-reconciler.ts';

const ns = 'child-reconciler-e2e';
const configMapType = { apiVersion: 'v1', kind: 'ConfigMap' };
const secretType = { apiVersion: 'v1', kind: 'Secret' };
const stateAnnotation = 'example.com/child';

/**
 * Parents are ConfigMaps labelled `parent=true`; each wants a Secret `<name>-child`. What the
 * ChildReconciler reflects is written to the parent's annotation (a ConfigMap has no status).
 */
function parentReconciler(): Reconciler {
  const child = new ChildReconciler<KubeObject, KubeObject>({
    name: 'SecretChild',
    childType: secretType,
    desiredChild: (_ctx, parent) => ({
      ...secretType,
      metadata: { namespace: ns, name: `${parent.metadata.name ?? ''}-child` },
      stringData: { from: parent.metadata.name ?? '' },
    }),
    mergeBeforeUpdate: (current, desired) => {
      current['stringData'] = desired['stringData'];
    },
    reflectChildStatusOnParent: (_ctx, parent, secret, err) => {
      const state =
        err instanceof StatusError ? err.reason : err ? 'error' : (secret?.metadata.name ?? 'none');
      parent.metadata.annotations = { ...parent.metadata.annotations, [stateAnnotation]: state };
    },
  });
  return {
    name: 'parent',
    setup: (ctx) => child.setup(ctx),
    async reconcile(ctx, request) {
      const ref = { ...configMapType, namespace: request.namespace ?? '', name: request.name };
      let parent: KubeObject;
      try {
        parent = await ctx.config.client.get(ref, { signal: ctx.signal });
      } catch (err) {
        if (isNotFound(err)) return {};
        throw err;
      }
      if (parent.metadata.labels?.['parent'] !== 'true') return {};
      const before = parent.metadata.annotations?.[stateAnnotation];
      await child.reconcile({ ...ctx, resourceType: configMapType }, parent);
      const now = parent.metadata.annotations?.[stateAnnotation];
      if (now !== before) {
        await ctx.config.client.patch(
          ref,
          { metadata: { annotations: { [stateAnnotation]: now ?? null } } },
          { type: 'merge', signal: ctx.signal },
        );
      }
      return {};
    },
  };
}

describe('ChildReconciler against a real API server', { skip: skipE2E }, () => {
  let cp: ControlPlane;
  let admin: KubeClient;

  before(
    async () => {
      cp = new ControlPlane();
      await cp.start();
      admin = new KubeClient({ kubeConfig: cp.kubeConfig() });
      await admin.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
    },
    { timeout: 30 * 60_000 }, // the first run builds the binaries
  );

  after(async () => {
    await admin?.close();
    await cp?.stop();
  });

  async function stateOf(name: string): Promise<string | undefined> {
    const cm = await admin.get({ ...configMapType, namespace: ns, name });
    return cm.metadata.annotations?.[stateAnnotation];
  }

  it('a parent blocked by an object holding its child’s name (AlreadyExists) recovers when that object is deleted', async () => {
    const mgr = new Manager({
      client: new KubeClient({ kubeConfig: cp.kubeConfig() }),
      log: pino({ level: 'silent' }),
      metrics: false,
      health: false,
      leaderElection: false,
    });
    mgr.add(new Controller({ name: 'parent', for: configMapType, reconciler: parentReconciler() }));
    const stop = new AbortController();
    const running = mgr.start(stop.signal);
    try {
      await admin.create({ ...secretType, metadata: { namespace: ns, name: 'p-child' }, stringData: {} });
      await admin.create({
        ...configMapType,
        metadata: { namespace: ns, name: 'p', labels: { parent: 'true' } },
      });
      await eventually(async () => assert.equal(await stateOf('p'), 'AlreadyExists'));

      // No resync, no change to the parent: only the blocker's deletion can wake it.
      await admin.delete({ ...secretType, namespace: ns, name: 'p-child' });
      await eventually(async () => assert.equal(await stateOf('p'), 'p-child'), 20_000);
      const created = await admin.get({ ...secretType, namespace: ns, name: 'p-child' });
      assert.equal(
        created.metadata.ownerReferences?.[0]?.name,
        'p',
        'the new child is controlled by the parent',
      );
    } finally {
      stop.abort();
      await running;
    }
  });
});
