// Liveness of the ServiceBinding controller on a real kube-apiserver (issue 8 items 1-2, issue 11):
// a binding to an odd workload kind (not served, not a workload, not listable) gets a clear
// condition and never stalls the workers, the readiness probe or the other bindings; informers
// started for the kinds bindings name are stopped when no binding names them; a Provisioned Service
// the controller may watch is watched (a rotation is re-projected in seconds, not at the next poll),
// and one it may not watch is polled, which its condition says.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eventually, schemalessCRD, skipE2E } from '@bindery/controlplane';
import type { PolicyRule } from '@bindery/controlplane';
import { isNotFound } from '@bindery/kube';
import type { KubeClient, KubeObject, TypeRef } from '@bindery/kube';
import type { Condition, Manager } from '@bindery/runtime';
import type { ServiceBinding } from '../apis/index.ts';
import { startControllerEnvironment, workloadDeployment } from './e2e-helpers.ts';
import type { ControllerEnvironment } from './e2e-helpers.ts';
import { serviceBindingType } from './servicebinding.ts';

const ns = 'liveness-e2e';
const group = 'liveness.example.com';
const deploymentType: TypeRef = { apiVersion: 'apps/v1', kind: 'Deployment' };
const secretType: TypeRef = { apiVersion: 'v1', kind: 'Secret' };
const runnerType: TypeRef = { apiVersion: `${group}/v1`, kind: 'Runner' };
const gizmoType: TypeRef = { apiVersion: `${group}/v1`, kind: 'Gizmo' };
const watchedType: TypeRef = { apiVersion: `${group}/v1`, kind: 'WatchedBackend' };
const polledType: TypeRef = { apiVersion: `${group}/v1`, kind: 'PolledBackend' };
const mappingType: TypeRef = { apiVersion: 'servicebinding.io/v1', kind: 'ClusterWorkloadResourceMapping' };

const crd = (kind: string, plural: string): KubeObject => schemalessCRD({ group, kind, plural });

/** Beyond the bundle's rules: a custom workload kind, and two Provisioned Service kinds: one it may watch, one it may only get and list. Nothing on Gizmos. */
const suiteRules: PolicyRule[] = [
  { apiGroups: [group], resources: ['runners'], verbs: ['get', 'list', 'watch', 'update', 'patch'] },
  { apiGroups: [group], resources: ['watchedbackends'], verbs: ['get', 'list', 'watch'] },
  { apiGroups: [group], resources: ['polledbackends'], verbs: ['get', 'list'] },
];

const deployment = (name: string): KubeObject => workloadDeployment(ns, name);

const secret = (name: string): KubeObject => ({
  ...secretType,
  metadata: { namespace: ns, name },
  stringData: { type: 'mysql' },
});

function binding(
  name: string,
  service: ServiceBinding['spec']['service'],
  workload: ServiceBinding['spec']['workload'],
): ServiceBinding {
  return { ...serviceBindingType, metadata: { namespace: ns, name }, spec: { service, workload } };
}

/** The Secret a Deployment's pod template projects for `b`, if any. */
function projectedSecret(deploy: KubeObject, b: ServiceBinding): string | undefined {
  const template = (deploy['spec'] as { template: { spec: { volumes?: unknown[] } } }).template;
  const volume = template.spec.volumes?.find(
    (v) => (v as { name: string }).name === `servicebinding-${b.metadata.uid ?? ''}`,
  ) as { projected?: { sources: Array<{ secret?: { name: string } }> } } | undefined;
  return volume?.projected?.sources[0]?.secret?.name;
}

describe('ServiceBinding controller liveness on a real API server', { skip: skipE2E }, () => {
  let env: ControllerEnvironment | undefined;
  let admin: KubeClient;
  let manager: Manager;

  const getBinding = (name: string): Promise<ServiceBinding> =>
    admin.get<ServiceBinding>({ ...serviceBindingType, namespace: ns, name });
  const condition = async (name: string, type: string): Promise<Condition | undefined> =>
    (await getBinding(name)).status?.conditions?.find((c) => c.type === type);
  const waitCondition = (name: string, type: string, status: string, reason: string): Promise<Condition> =>
    eventually(async () => {
      const c = await condition(name, type);
      assert.equal(c?.status, status, JSON.stringify(c));
      assert.equal(c.reason, reason, JSON.stringify(c));
      return c;
    });
  const waitReady = (name: string): Promise<ServiceBinding> =>
    eventually(async () => {
      const b = await getBinding(name);
      const ready = b.status?.conditions?.find((c) => c.type === 'Ready');
      assert.equal(ready?.status, 'True', JSON.stringify(b.status));
      assert.equal(b.status?.observedGeneration, b.metadata.generation);
      return b;
    });
  const deleteBinding = async (name: string): Promise<void> => {
    await admin.delete({ ...serviceBindingType, namespace: ns, name });
    await eventually(async () => {
      const err = await getBinding(name).catch((e: unknown) => e);
      assert.ok(isNotFound(err), `binding ${name} is gone`);
    });
  };
  const readyz = async (): Promise<number> =>
    (await fetch(`http://127.0.0.1:${manager.healthAddress?.port ?? 0}/readyz`)).status;
  /** A binding to a Secret and a Deployment, which every test expects to converge whatever else is going on. */
  const assertOthersConverge = async (name: string): Promise<void> => {
    await admin.create(secret(`${name}-secret`));
    await admin.create(deployment(name));
    await admin.create(binding(name, { ...secretType, name: `${name}-secret` }, { ...deploymentType, name }));
    const b = await waitReady(name);
    const deploy = await admin.get({ ...deploymentType, namespace: ns, name });
    assert.equal(projectedSecret(deploy, b), `${name}-secret`);
  };

  before(
    async () => {
      env = await startControllerEnvironment({
        name: 'liveness',
        namespace: ns,
        crds: [
          crd('Runner', 'runners'),
          crd('Gizmo', 'gizmos'),
          crd('WatchedBackend', 'watchedbackends'),
          crd('PolledBackend', 'polledbackends'),
        ],
        rules: suiteRules,
        health: { host: '127.0.0.1', port: 0 },
        // The default poll interval (60 s): whatever converges faster here was watched, not polled.
        controller: { ensureDefaultMappings: false },
      });
      ({ admin, manager } = env);
      await eventually(async () => assert.equal(await readyz(), 200));
    },
    { timeout: 30 * 60_000 },
  );

  after(() => env?.stop());

  it('a workload kind that is not served: WorkloadKindNotFound, /readyz stays true, other bindings converge', async () => {
    await admin.create(secret('unserved-secret'));
    await admin.create(
      binding(
        'unserved',
        { ...secretType, name: 'unserved-secret' },
        { apiVersion: `${group}/v1`, kind: 'Nothing', name: 'x' },
      ),
    );
    const c = await eventually(async () => {
      const projected = await condition('unserved', 'WorkloadProjected');
      assert.equal(projected?.status, 'False', JSON.stringify(projected));
      return projected;
    });
    // Reconciled, and the replica is still ready: nothing waits for a cache of a kind that is not there.
    assert.equal(await readyz(), 200);
    assert.equal(c.reason, 'WorkloadKindNotFound');
    assert.match(c.message, /no kind "Nothing" is served/);
    await assertOthersConverge('after-unserved');
    assert.equal(await readyz(), 200);
    await deleteBinding('unserved');
  });

  it('v1 Secret as a workload: rejected with WorkloadKindNotSupported, and no cluster-wide Secret cache', async () => {
    await admin.create(secret('as-workload'));
    await admin.create(
      binding(
        'secret-workload',
        { ...secretType, name: 'as-workload' },
        { ...secretType, name: 'as-workload' },
      ),
    );
    const c = await waitCondition(
      'secret-workload',
      'WorkloadProjected',
      'False',
      'WorkloadKindNotSupported',
    );
    assert.match(c.message, /Secret/);
    assert.equal(manager.informers.has({ type: secretType }), false, 'no informer holds whole Secrets');
    await deleteBinding('secret-workload');
  });

  it('a workload kind the controller may not list: WorkloadForbidden, the workers stay free, the binding can be deleted', async () => {
    await admin.create(secret('gizmo-secret'));
    await admin.create({ ...gizmoType, metadata: { namespace: ns, name: 'g' }, spec: {} });
    // Two of them: as many as the controller has workers.
    for (const name of ['gizmo-1', 'gizmo-2']) {
      await admin.create(binding(name, { ...secretType, name: 'gizmo-secret' }, { ...gizmoType, name: 'g' }));
    }
    for (const name of ['gizmo-1', 'gizmo-2']) {
      const c = await waitCondition(name, 'WorkloadProjected', 'False', 'WorkloadForbidden');
      assert.match(c.message, /gizmos\.liveness\.example\.com/);
      assert.match(c.message, /"list"/);
    }
    assert.equal(
      manager.informers.has({ type: gizmoType }),
      false,
      'nothing started for a kind it may not list',
    );
    await assertOthersConverge('after-forbidden');
    assert.equal(await readyz(), 200);
    await deleteBinding('gizmo-1');
    await deleteBinding('gizmo-2');
  });

  it('an informer started for a workload kind is stopped once no binding names the kind', async () => {
    await admin.create({
      ...mappingType,
      metadata: { name: `runners.${group}` },
      spec: {
        versions: [
          {
            version: '*',
            annotations: '.spec.pod.annotations',
            containers: [{ path: '.spec.pod.containers[*]', name: '.name' }],
            volumes: '.spec.pod.volumes',
          },
        ],
      },
    });
    await admin.create(secret('runner-secret'));
    await admin.create({
      ...runnerType,
      metadata: { namespace: ns, name: 'r' },
      spec: { pod: { containers: [{ name: 'runner', image: 'registry.example/runner:1' }] } },
    });
    for (const name of ['runner-1', 'runner-2']) {
      await admin.create(
        binding(name, { ...secretType, name: 'runner-secret' }, { ...runnerType, name: 'r' }),
      );
      await waitReady(name);
    }
    assert.equal(manager.informers.has({ type: runnerType }), true);
    await deleteBinding('runner-1');
    // Still needed by runner-2.
    assert.equal(manager.informers.has({ type: runnerType }), true);
    await deleteBinding('runner-2');
    await eventually(() => assert.equal(manager.informers.has({ type: runnerType }), false));
  });

  it('a Provisioned Service the controller may watch: a rotated .status.binding.name is re-projected from the watch, well before the 60 s poll', async () => {
    const service = await admin.create({
      ...watchedType,
      metadata: { namespace: ns, name: 'db', labels: { tier: 'data' } },
      spec: { engine: 'postgres', storage: '10Gi' },
      status: { binding: { name: 'db-v1' }, conditions: [{ type: 'Ready', status: 'True' }] },
    });
    await admin.create(deployment('rotated'));
    await admin.create(
      binding('rotated', { ...watchedType, name: 'db' }, { ...deploymentType, name: 'rotated' }),
    );
    const b = await waitReady('rotated');
    const projected = async (): Promise<string | undefined> =>
      projectedSecret(await admin.get({ ...deploymentType, namespace: ns, name: 'rotated' }), b);
    await eventually(async () => assert.equal(await projected(), 'db-v1'));

    service['status'] = { binding: { name: 'db-v2' }, conditions: [{ type: 'Ready', status: 'True' }] };
    await admin.update(service);
    // A deadline far below the poll, not a timing: bench/rotation.bench.ts carries the figures.
    await eventually(async () => assert.equal(await projected(), 'db-v2'), 20_000);

    // The cache keeps what the controller reads of a service, nothing else.
    const cached = await manager.cachedClient.get({ ...watchedType, namespace: ns, name: 'db' });
    assert.deepEqual(Object.keys(cached).sort(), ['apiVersion', 'kind', 'metadata', 'status']);
    assert.deepEqual(cached['status'], { binding: { name: 'db-v2' } });
    assert.deepEqual(Object.keys(cached.metadata).sort(), [
      'generation',
      'name',
      'namespace',
      'resourceVersion',
      'uid',
    ]);

    // The service's informer is the binding's: gone with it.
    await deleteBinding('rotated');
    await eventually(() => assert.equal(manager.informers.has({ type: watchedType }), false));
  });

  it('a Provisioned Service the controller may not watch is polled, and its condition says so', async () => {
    await admin.create({
      ...polledType,
      metadata: { namespace: ns, name: 'legacy' },
      status: { binding: { name: 'legacy-secret' } },
    });
    await admin.create(deployment('polled'));
    await admin.create(
      binding('polled', { ...polledType, name: 'legacy' }, { ...deploymentType, name: 'polled' }),
    );
    await waitReady('polled');
    const available = await condition('polled', 'ServiceAvailable');
    assert.equal(available?.reason, 'ResolvedBindingSecret');
    assert.match(available.message, /polled every 60 s/);
    assert.match(available.message, /"watch" on polledbackends\.liveness\.example\.com/);
    assert.equal(manager.informers.has({ type: polledType }), false);
    await deleteBinding('polled');
  });
});
