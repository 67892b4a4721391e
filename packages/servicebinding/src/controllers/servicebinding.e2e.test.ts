// The ServiceBinding controller on a real kube-apiserver and etcd (no webhooks yet). The
// controller runs as a user with the install bundle's RBAC, granted only `get`/`list` on the
// Provisioned Service kind (no `watch`), as the conformance suite's does. There is no kubelet: every test
// asserts on the stored objects (pod templates, statuses).

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { eventually, grantClusterRole, schemalessCRD, skipE2E } from '@bindery/controlplane';
import type { PolicyRule } from '@bindery/controlplane';
import { isNotFound } from '@bindery/kube';
import type { KubeClient, KubeObject, TypeRef } from '@bindery/kube';
import type { Condition } from '@bindery/runtime';
import type { ServiceBinding } from '../apis/index.ts';
import { startControllerEnvironment } from './e2e-helpers.ts';
import type { ControllerEnvironment } from './e2e-helpers.ts';
import {
  rolloutAnnotation,
  secretVersionAnnotation,
  serviceBindingFinalizer,
  serviceBindingType,
} from './servicebinding.ts';

const ns = 'servicebinding-e2e';

const deploymentType: TypeRef = { apiVersion: 'apps/v1', kind: 'Deployment' };
const statefulSetType: TypeRef = { apiVersion: 'apps/v1', kind: 'StatefulSet' };
const cronJobType: TypeRef = { apiVersion: 'batch/v1', kind: 'CronJob' };
const backendType: TypeRef = { apiVersion: 'stable.example.com/v1', kind: 'ProvisionedBackend' };
const runnerType: TypeRef = { apiVersion: 'workloads.example.com/v1', kind: 'Runner' };
const mappingType: TypeRef = { apiVersion: 'servicebinding.io/v1', kind: 'ClusterWorkloadResourceMapping' };

/** The conformance suite's Provisioned Service CRD: status is written with the object (no subresource). */
const backendCRD: KubeObject = schemalessCRD({
  group: 'stable.example.com',
  kind: 'ProvisionedBackend',
  plural: 'provisionedbackends',
  labels: { 'servicebinding.io/provisioned-service': 'true' },
});

/** A workload that is not PodSpec-able: its pod lives under `.spec.pod`. */
const runnerCRD: KubeObject = schemalessCRD({
  group: 'workloads.example.com',
  kind: 'Runner',
  plural: 'runners',
});

/** A PodSpec-able workload kind the controller may read but, until a test grants it, not patch. */
const widgetType: TypeRef = { apiVersion: 'workloads.example.com/v1', kind: 'Widget' };
const widgetCRD: KubeObject = schemalessCRD({
  group: 'workloads.example.com',
  kind: 'Widget',
  plural: 'widgets',
});

const runnerMapping = (volumes: string): KubeObject => ({
  ...mappingType,
  metadata: { name: 'runners.workloads.example.com' },
  spec: {
    versions: [
      {
        version: '*',
        annotations: '.spec.pod.annotations',
        containers: [{ path: '.spec.pod.containers[*]', name: '.name' }],
        volumes,
      },
    ],
  },
});

/** Beyond the bundle's rules: the suite's own workload kind, and only get/list on the Provisioned Service kind. */
const suiteRules: PolicyRule[] = [
  {
    apiGroups: ['workloads.example.com'],
    resources: ['runners'],
    verbs: ['get', 'list', 'watch', 'update', 'patch'],
  },
  { apiGroups: ['workloads.example.com'], resources: ['widgets'], verbs: ['get', 'list', 'watch'] },
  // PR-2 asks for watch too; the conformance suite grants only these, and so do we.
  { apiGroups: ['stable.example.com'], resources: ['provisionedbackends'], verbs: ['get', 'list'] },
];

function podSpecable(type: TypeRef, name: string, labels: Record<string, string> = {}): KubeObject {
  const template = {
    metadata: { labels: { app: name } },
    spec: {
      containers: [
        { name: 'app', image: 'registry.example/app:1', env: [{ name: 'LOG_LEVEL', value: 'debug' }] },
      ],
      volumes: [{ name: 'cache', emptyDir: {} }],
    },
  };
  const spec =
    type.kind === 'CronJob'
      ? {
          schedule: '@daily',
          jobTemplate: {
            spec: { template: { ...template, spec: { ...template.spec, restartPolicy: 'Never' } } },
          },
        }
      : {
          // A ReplicationController's selector is a plain map, not a LabelSelector.
          selector: type.kind === 'ReplicationController' ? { app: name } : { matchLabels: { app: name } },
          template,
          ...(type.kind === 'StatefulSet' ? { serviceName: name } : {}),
        };
  return { ...type, metadata: { namespace: ns, name, labels }, spec };
}

const runner = (name: string): KubeObject => ({
  ...runnerType,
  metadata: { namespace: ns, name },
  spec: { pod: { containers: [{ name: 'runner', image: 'registry.example/runner:1' }] } },
});

const backend = (name: string, secret: string | undefined): KubeObject => ({
  ...backendType,
  metadata: { namespace: ns, name },
  ...(secret === undefined ? {} : { status: { binding: { name: secret } } }),
});

function serviceBinding(
  name: string,
  service: ServiceBinding['spec']['service'],
  workload: ServiceBinding['spec']['workload'],
  annotations?: Record<string, string>,
  extra: Partial<ServiceBinding['spec']> = {},
): ServiceBinding {
  return {
    ...serviceBindingType,
    metadata: { namespace: ns, name, ...(annotations ? { annotations } : {}) },
    spec: { service, workload, ...extra },
  };
}

const backendRef = (name: string) => ({ ...backendType, name });
const secretRef = (name: string) => ({ apiVersion: 'v1', kind: 'Secret', name });

interface Pod {
  metadata?: { annotations?: Record<string, string> };
  spec: {
    containers: Array<{ name: string; env?: unknown[]; volumeMounts?: unknown[] }>;
    volumes?: Array<{ name: string; projected?: { sources: Array<{ secret?: { name: string } }> } }>;
  };
}

function templateOf(obj: KubeObject): Pod {
  const spec = obj['spec'] as Record<string, unknown>;
  if (obj.kind === 'CronJob') {
    return (spec['jobTemplate'] as { spec: { template: Pod } }).spec.template;
  }
  return spec['template'] as Pod;
}

/** The Secret the binding's volume projects, and the mount in each container; throws if not projected. */
function assertProjected(pod: Pod, b: ServiceBinding, secret: string, root = '/bindings'): void {
  const uid = b.metadata.uid ?? '';
  const volume = pod.spec.volumes?.find((v) => v.name === `servicebinding-${uid}`);
  assert.ok(volume, `volume servicebinding-${uid} is there`);
  assert.deepEqual(volume.projected?.sources[0]?.secret?.name, secret);
  for (const c of pod.spec.containers) {
    assert.deepEqual(
      c.volumeMounts?.find((m) => (m as { name: string }).name === `servicebinding-${uid}`),
      { name: `servicebinding-${uid}`, readOnly: true, mountPath: `${root}/${b.metadata.name ?? ''}` },
    );
    assert.ok(c.env?.some((e) => (e as { name: string }).name === 'SERVICE_BINDING_ROOT'));
  }
  assert.equal(pod.metadata?.annotations?.[`projector.servicebinding.io/secret-${uid}`], secret);
  // The user's volume is kept (RB-9).
  assert.ok(
    pod.spec.volumes?.some((v) => v.name === 'cache'),
    'the workload’s own volume is kept',
  );
}

function assertNotProjected(obj: KubeObject, b: ServiceBinding): void {
  const uid = b.metadata.uid ?? '';
  assert.equal(
    JSON.stringify(obj).includes(uid),
    false,
    `${obj.kind ?? ''} ${obj.metadata.name ?? ''} carries nothing of binding ${b.metadata.name ?? ''}`,
  );
}

describe('ServiceBinding controller on a real API server', { skip: skipE2E }, () => {
  let env: ControllerEnvironment | undefined;
  let admin: KubeClient;

  const get = (type: TypeRef, name: string): Promise<KubeObject> =>
    admin.get({ ...type, namespace: ns, name });
  const getBinding = (name: string): Promise<ServiceBinding> =>
    admin.get<ServiceBinding>({ ...serviceBindingType, namespace: ns, name });
  const condition = async (name: string, type: string): Promise<Condition | undefined> =>
    (await getBinding(name)).status?.conditions?.find((c) => c.type === type);
  const waitReady = (name: string): Promise<ServiceBinding> =>
    eventually(async () => {
      const b = await getBinding(name);
      const ready = b.status?.conditions?.find((c) => c.type === 'Ready');
      assert.equal(ready?.status, 'True', JSON.stringify(b.status));
      // The conformance suite's "becomes ready": observedGeneration and status.binding.name too.
      assert.equal(b.status?.observedGeneration, b.metadata.generation);
      assert.ok(b.status?.binding?.name);
      return b;
    });
  const deleteBinding = async (name: string): Promise<void> => {
    await admin.delete({ ...serviceBindingType, namespace: ns, name });
    await eventually(async () => {
      const err = await getBinding(name).catch((e: unknown) => e);
      assert.ok(isNotFound(err), `binding ${name} is gone`);
    });
  };

  before(
    async () => {
      env = await startControllerEnvironment({
        name: 'servicebinding-controller',
        namespace: ns,
        crds: [backendCRD, runnerCRD, widgetCRD],
        rules: suiteRules,
        controller: { servicePollIntervalMs: 300 },
      });
      admin = env.admin;
    },
    { timeout: 30 * 60_000 }, // the first run builds the binaries
  );

  after(() => env?.stop());

  it('PR-2 RI-1 RC-1 SB-24 SB-25: binds a Deployment to a Provisioned Service it may only get/list; deleting the binding leaves only SERVICE_BINDING_ROOT', async () => {
    const created = await admin.create(podSpecable(deploymentType, 'web'));
    const before = structuredClone(templateOf(created));
    await admin.create(backend('db', 'db-secret'));
    // type/provider overrides and an env var read from them: fieldRefs the API server defaults.
    await admin.create(
      serviceBinding('web-db', backendRef('db'), { ...deploymentType, name: 'web' }, undefined, {
        type: 'mysql',
        provider: 'bitnami',
        env: [
          { name: 'DB_TYPE', key: 'type' },
          { name: 'DB_PASSWORD', key: 'password' },
        ],
      }),
    );

    const b = await waitReady('web-db');
    assert.equal(b.status?.binding?.name, 'db-secret');
    assert.deepEqual(b.metadata.finalizers, [serviceBindingFinalizer]);
    assert.equal((await condition('web-db', 'ServiceAvailable'))?.reason, 'ResolvedBindingSecret');
    const web = await eventually(async () => {
      const w = await get(deploymentType, 'web');
      assertProjected(templateOf(w), b, 'db-secret');
      return w;
    });
    assert.deepEqual(
      templateOf(web).spec.containers[0]?.env?.map((e) => (e as { name: string }).name),
      ['LOG_LEVEL', 'SERVICE_BINDING_ROOT', 'DB_PASSWORD', 'DB_TYPE'],
    );
    // Stable: a further reconcile changes nothing (no update loop against API-server defaulting).
    await sleep(1_000);
    assert.equal((await get(deploymentType, 'web')).metadata.resourceVersion, web.metadata.resourceVersion);

    await deleteBinding('web-db');
    const after = templateOf(await get(deploymentType, 'web'));
    const expected = structuredClone(before);
    expected.spec.containers[0]?.env?.push({ name: 'SERVICE_BINDING_ROOT', value: '/bindings' });
    // Only SERVICE_BINDING_ROOT (and the empty lists projection created) are left behind.
    assert.deepEqual(after.spec.containers[0]?.env, expected.spec.containers[0]?.env);
    assert.deepEqual(after.spec.volumes, before.spec.volumes);
    assert.deepEqual(after.spec.containers[0]?.volumeMounts ?? [], []);
    assert.deepEqual(after.metadata?.annotations ?? {}, {});
  });

  it('RB-9: projecting patches the workload, keeping what its cache leaves out (status, kubectl last-applied)', async () => {
    // The manager's workload caches drop `.status` and kubectl's last-applied annotation: a workload
    // written back whole from the cache would lose the annotation (and a PUT of a CRD without a
    // status subresource, its status).
    const lastApplied = '{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"applied"}}';
    const created = await admin.create({
      ...podSpecable(deploymentType, 'applied'),
      metadata: {
        namespace: ns,
        name: 'applied',
        annotations: { 'kubectl.kubernetes.io/last-applied-configuration': lastApplied },
      },
    });
    const status = {
      observedGeneration: 1,
      replicas: 0,
      conditions: [{ type: 'Available', status: 'True' }],
    };
    const withStatus = await admin.updateStatus({ ...created, status });
    await admin.create({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { namespace: ns, name: 'applied-secret' },
      stringData: { type: 'mysql' },
    });
    await admin.create(
      serviceBinding('applied', secretRef('applied-secret'), { ...deploymentType, name: 'applied' }),
    );
    const b = await waitReady('applied');
    const stored = await eventually(async () => {
      const w = await get(deploymentType, 'applied');
      assertProjected(templateOf(w), b, 'applied-secret');
      return w;
    });
    assert.equal(
      stored.metadata.annotations?.['kubectl.kubernetes.io/last-applied-configuration'],
      lastApplied,
    );
    assert.deepEqual(stored['status'], withStatus['status']);
    await deleteBinding('applied');
    const unbound = await get(deploymentType, 'applied');
    assertNotProjected(unbound, b);
    assert.equal(
      unbound.metadata.annotations?.['kubectl.kubernetes.io/last-applied-configuration'],
      lastApplied,
    );
  });

  it('RC-2: a workload the controller may not patch is WorkloadForbidden, and projected once patch is granted', async () => {
    await admin.create({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { namespace: ns, name: 'widget-secret' },
      stringData: { type: 'mysql' },
    });
    await admin.create(podSpecable(widgetType, 'w'));
    // A direct Secret is watched: nothing polls this binding, and granting a verb emits no event.
    await admin.create(serviceBinding('widget', secretRef('widget-secret'), { ...widgetType, name: 'w' }));
    await eventually(async () => {
      const c = await condition('widget', 'WorkloadProjected');
      assert.equal(c?.reason, 'WorkloadForbidden', JSON.stringify(c));
      assert.match(c.message, /needs "patch" on widgets\.workloads\.example\.com/);
    });
    await grantClusterRole(admin, {
      name: 'servicebinding-e2e-widget-patch',
      rules: [{ apiGroups: ['workloads.example.com'], resources: ['widgets'], verbs: ['patch'] }],
      user: 'servicebinding-controller',
    });
    const b = await waitReady('widget');
    await eventually(async () => assertProjected(templateOf(await get(widgetType, 'w')), b, 'widget-secret'));
    await deleteBinding('widget');
  });

  it('DS-1 SA-2: binds a StatefulSet to a Secret directly; deleting the Secret makes ServiceAvailable False', async () => {
    await admin.create({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { namespace: ns, name: 'direct' },
      stringData: { type: 'mysql' },
    });
    await admin.create(podSpecable(statefulSetType, 'store'));
    await admin.create(
      serviceBinding('store-direct', secretRef('direct'), { ...statefulSetType, name: 'store' }),
    );
    const b = await waitReady('store-direct');
    await eventually(async () =>
      assertProjected(templateOf(await get(statefulSetType, 'store')), b, 'direct'),
    );

    await admin.delete({ apiVersion: 'v1', kind: 'Secret', namespace: ns, name: 'direct' });
    await eventually(async () => {
      const available = await condition('store-direct', 'ServiceAvailable');
      assert.equal(available?.status, 'False');
      assert.equal(available.reason, 'ServiceNotFound');
      assert.equal((await condition('store-direct', 'Ready'))?.status, 'False');
    });
    await deleteBinding('store-direct');
    assertNotProjected(await get(statefulSetType, 'store'), b);
  });

  it('RB-2: binds a DaemonSet, a ReplicaSet and a ReplicationController as PodSpec-able workloads', async () => {
    await admin.create({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { namespace: ns, name: 'shared' },
      stringData: { type: 'redis' },
    });
    const types: TypeRef[] = [
      { apiVersion: 'apps/v1', kind: 'DaemonSet' },
      { apiVersion: 'apps/v1', kind: 'ReplicaSet' },
      { apiVersion: 'v1', kind: 'ReplicationController' },
    ];
    for (const type of types) {
      const name = type.kind.toLowerCase();
      await admin.create(podSpecable(type, name));
      await admin.create(serviceBinding(`${name}-shared`, secretRef('shared'), { ...type, name }));
      const b = await waitReady(`${name}-shared`);
      await eventually(async () => assertProjected(templateOf(await get(type, name)), b, 'shared'));
    }
  });

  it('RB-1 WM-4: binds a CronJob through the cronjobs.batch mapping', async () => {
    await admin.create(backend('queue', 'queue-secret'));
    await admin.create(podSpecable(cronJobType, 'nightly'));
    await admin.create(
      serviceBinding('nightly-queue', backendRef('queue'), { ...cronJobType, name: 'nightly' }),
    );
    const b = await waitReady('nightly-queue');
    await eventually(async () => {
      const cj = await get(cronJobType, 'nightly');
      assertProjected(templateOf(cj), b, 'queue-secret');
      assert.equal(
        (cj['spec'] as Record<string, unknown>)['template'],
        undefined,
        'nothing at .spec.template',
      );
    });
  });

  it('SB-22 SB-23: a selector binds one, then two Deployments; removing the label unbinds', async () => {
    await admin.create(backend('cache', 'cache-secret'));
    await admin.create(podSpecable(deploymentType, 'front-1', { tier: 'front' }));
    await admin.create(
      serviceBinding('front-cache', backendRef('cache'), {
        ...deploymentType,
        selector: { matchLabels: { tier: 'front' } },
      }),
    );
    const b = await waitReady('front-cache');
    await eventually(async () =>
      assertProjected(templateOf(await get(deploymentType, 'front-1')), b, 'cache-secret'),
    );

    // A Deployment created later is bound too (the workload watch enqueues the binding).
    await admin.create(podSpecable(deploymentType, 'front-2', { tier: 'front' }));
    await eventually(async () =>
      assertProjected(templateOf(await get(deploymentType, 'front-2')), b, 'cache-secret'),
    );

    // Label removed: the workload no longer matches, and is unprojected.
    const front1 = await get(deploymentType, 'front-1');
    front1.metadata.labels = {};
    await admin.update(front1);
    await eventually(async () => assertNotProjected(await get(deploymentType, 'front-1'), b));
    assertProjected(templateOf(await get(deploymentType, 'front-2')), b, 'cache-secret');
    await waitReady('front-cache');
  });

  it('SB-24 RI-1: a Secret name rotated in the service status is re-projected (polled: no watch permission)', async () => {
    await admin.create(backend('rotating', 'secret-v1'));
    await admin.create(podSpecable(deploymentType, 'rotator'));
    await admin.create(
      serviceBinding('rotator-db', backendRef('rotating'), { ...deploymentType, name: 'rotator' }),
    );
    const b = await waitReady('rotator-db');
    await eventually(async () =>
      assertProjected(templateOf(await get(deploymentType, 'rotator')), b, 'secret-v1'),
    );

    const service = await get(backendType, 'rotating');
    service['status'] = { binding: { name: 'secret-v2' } };
    await admin.update(service);
    await eventually(async () => {
      assertProjected(templateOf(await get(deploymentType, 'rotator')), b, 'secret-v2');
      assert.equal((await getBinding('rotator-db')).status?.binding?.name, 'secret-v2');
    });
  });

  it('RB-1 RB-3 RB-4: a custom workload with its own mapping; editing the mapping re-projects at the new location', async () => {
    await admin.create(runnerMapping('.spec.pod.volumes'));
    await admin.create(backend('store', 'store-secret'));
    await admin.create(runner('job-runner'));
    await admin.create(
      serviceBinding('runner-store', backendRef('store'), { ...runnerType, name: 'job-runner' }),
    );
    const b = await waitReady('runner-store');
    const volumeName = `servicebinding-${b.metadata.uid ?? ''}`;
    const podOf = async () =>
      ((await get(runnerType, 'job-runner'))['spec'] as { pod: Record<string, Array<{ name: string }>> }).pod;
    await eventually(async () => {
      const pod = await podOf();
      assert.deepEqual(
        pod['volumes']?.map((v) => v.name),
        [volumeName],
      );
    });

    const mapping = await admin.get({ ...mappingType, name: 'runners.workloads.example.com' });
    (mapping['spec'] as { versions: Array<{ volumes: string }> }).versions[0]!.volumes =
      '.spec.pod.extraVolumes';
    await admin.update(mapping);
    await eventually(async () => {
      const pod = await podOf();
      assert.deepEqual(
        pod['extraVolumes']?.map((v) => v.name),
        [volumeName],
        'projected at the new location',
      );
      assert.deepEqual(pod['volumes'], [], 'removed from the old location (with the stashed mapping)');
    });
  });

  it('rollout: an opted-in binding records the Secret version; a changed Secret rolls the pod template', async () => {
    await admin.create({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { namespace: ns, name: 'rolling' },
      stringData: { password: 'one' },
    });
    await admin.create(podSpecable(deploymentType, 'roller'));
    await admin.create(
      serviceBinding(
        'roller-secret',
        secretRef('rolling'),
        { ...deploymentType, name: 'roller' },
        { [rolloutAnnotation]: 'true' },
      ),
    );
    const b = await waitReady('roller-secret');
    const key = secretVersionAnnotation(b.metadata.uid ?? '');
    const versionOf = async () =>
      templateOf(await get(deploymentType, 'roller')).metadata?.annotations?.[key];
    const first = await eventually(async () => {
      const v = await versionOf();
      assert.ok(v);
      return v;
    });
    const secret = await admin.get({ apiVersion: 'v1', kind: 'Secret', namespace: ns, name: 'rolling' });
    secret['stringData'] = { password: 'two' };
    const changed = await admin.update(secret);
    await eventually(async () => assert.equal(await versionOf(), changed.metadata.resourceVersion));
    assert.notEqual(first, changed.metadata.resourceVersion);

    await deleteBinding('roller-secret');
    assert.equal(await versionOf(), undefined, 'removed on unbind');
  });
});
