// The whole path on a real API server against the sample broker of @bindery/osb-broker: a
// ServiceInstance, a ServiceCredentialBinding, and a servicebinding.io ServiceBinding that names the
// credential binding as its Provisioned Service and projects it into a Deployment — all Ready; then
// everything deleted, and the broker left with nothing.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ControlPlane, eventually, skipE2E } from '@bindery/controlplane';
import { isNotFound } from '@bindery/kube';
import type { KubeClient, KubeObject } from '@bindery/kube';
import { startSampleBroker, sampleCatalog } from '@bindery/osb-broker';
import type { RunningSampleBroker } from '@bindery/osb-broker';
import { Manager } from '@bindery/runtime';
import type { Condition } from '@bindery/runtime';
import {
  addServiceBindingController,
  clusterWorkloadResourceMappingCRD,
  serviceBindingCRD,
  serviceBindingType,
} from '@bindery/servicebinding';
import { pino } from 'pino';
import { apiVersion, osbCRDs } from '../apis/index.ts';
import { OsbClient } from '../client/index.ts';
import { osbClientBrokerApi } from '../platform/osb-client-api.ts';
import { catalogObjects } from '../testing/catalog-objects.ts';
import { addOsbPlatformControllers } from './add-platform.ts';
import { serviceCredentialBindingType } from './serviceinstance.ts';

const ns = 'osb-sample-e2e';
const brokerName = 'sample';

const deployment: KubeObject = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', namespace: ns },
  spec: {
    selector: { matchLabels: { app: 'web' } },
    template: {
      metadata: { labels: { app: 'web' } },
      spec: { containers: [{ name: 'web', image: 'registry.example/web:1' }] },
    },
  },
};

/** The Secrets a workload's pod template projects. */
function projectedSecrets(workload: KubeObject): string[] {
  const spec = workload['spec'] as {
    template: { spec: { volumes?: { projected?: { sources: { secret?: { name: string } }[] } }[] } };
  };
  return (spec.template.spec.volumes ?? []).flatMap((v) =>
    (v.projected?.sources ?? []).flatMap((s) => (s.secret ? [s.secret.name] : [])),
  );
}

describe('OSB platform against the sample broker, into a Deployment', { skip: skipE2E }, () => {
  let cp: ControlPlane;
  let admin: KubeClient;
  let sample: RunningSampleBroker;
  let osb: OsbClient;
  const stop = new AbortController();
  let running: Promise<void> | undefined;

  const ready = (obj: KubeObject): Condition | undefined =>
    ((obj['status'] as { conditions?: Condition[] } | undefined)?.conditions ?? []).find(
      (c) => c.type === 'Ready',
    );
  const waitReady = (kind: string, name: string, group = apiVersion): Promise<KubeObject> =>
    eventually(async () => {
      const obj = await admin.get({ apiVersion: group, kind, namespace: ns, name });
      assert.equal(ready(obj)?.status, 'True', `${kind} ${name}: ${JSON.stringify(obj['status'])}`);
      return obj;
    }, 60_000);

  const webDeployment = (): Promise<KubeObject> =>
    admin.get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: ns, name: 'web' });

  before(
    async () => {
      cp = new ControlPlane();
      await cp.start();
      admin = cp.client();
      await cp.installCRDs([...osbCRDs(), serviceBindingCRD(), clusterWorkloadResourceMappingCRD()]);
      await admin.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
      for (const obj of catalogObjects(sampleCatalog, brokerName)) await admin.create(obj);
      await admin.create(deployment);
      sample = await startSampleBroker({
        client: admin,
        namespace: 'sample-broker-e2e',
        delayMs: 300,
        log: pino({ level: 'silent' }),
      });
      osb = new OsbClient({ url: sample.url, timeoutMs: 10_000 });
      const api = osbClientBrokerApi(osb);
      const manager = new Manager({
        client: admin,
        name: 'osb-sample',
        log: pino({ level: process.env['BINDERY_E2E_LOG'] ?? 'silent' }),
        metrics: false,
        health: false,
      });
      addOsbPlatformControllers(manager, {
        brokers: () => Promise.resolve(api),
        polling: { minDelayMs: 200, maxDelayMs: 1000 },
      });
      addServiceBindingController(manager, {
        serviceTypes: [serviceBindingType, serviceCredentialBindingType],
        ensureDefaultMappings: false,
      });
      running = manager.start(stop.signal);
    },
    { timeout: 30 * 60_000 },
  );

  after(async () => {
    stop.abort();
    await running?.catch(() => undefined);
    await osb?.close();
    await sample?.stop();
    await cp?.stop();
  });

  it('instance → credential binding → ServiceBinding into a Deployment, all Ready', async () => {
    await admin.create({
      apiVersion,
      kind: 'ServiceInstance',
      metadata: { name: 'db', namespace: ns },
      spec: {
        clusterServiceClassExternalName: 'bindery-database',
        clusterServicePlanExternalName: 'small',
        parameters: { database: 'orders', connectionLimit: 5 },
      },
    });
    await admin.create({
      apiVersion,
      kind: 'ServiceCredentialBinding',
      metadata: { name: 'db', namespace: ns },
      spec: { instanceRef: { name: 'db' }, parameters: { role: 'readwrite' } },
    });
    await admin.create({
      ...serviceBindingType,
      metadata: { name: 'web-db', namespace: ns },
      spec: {
        service: { apiVersion, kind: 'ServiceCredentialBinding', name: 'db' },
        workload: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' },
      },
    });
    await waitReady('ServiceInstance', 'db');
    const binding = await waitReady('ServiceCredentialBinding', 'db');
    assert.deepEqual((binding['status'] as { binding?: unknown }).binding, { name: 'db' });
    const secret = await admin.get({ apiVersion: 'v1', kind: 'Secret', namespace: ns, name: 'db' });
    assert.equal(secret['type'], 'servicebinding.io/postgresql');
    const keys = Object.keys(secret['data'] as Record<string, string>).sort();
    assert.ok(
      keys.includes('password') && keys.includes('type') && keys.includes('provider'),
      keys.join(','),
    );
    await waitReady('ServiceBinding', 'web-db', serviceBindingType.apiVersion);
    await eventually(async () => {
      assert.ok(
        projectedSecrets(await webDeployment()).includes('db'),
        'the Deployment projects the credential Secret',
      );
    });
  });

  it('a rotation writes a new Secret and re-projects the Deployment onto it (OSBP-21)', async () => {
    const before = await waitReady('ServiceCredentialBinding', 'db');
    await admin.update({ ...before, spec: { ...(before['spec'] as object), rotationRequests: 1 } });
    const rotated = await eventually(async () => {
      const b = await waitReady('ServiceCredentialBinding', 'db');
      const status = b['status'] as { observedRotationRequests?: number; binding?: { name: string } };
      assert.equal(status.observedRotationRequests, 1);
      assert.notEqual(status.binding?.name, 'db', 'a rotation names a new Secret');
      return status.binding!.name;
    }, 60_000);
    const secret = await admin.get({ apiVersion: 'v1', kind: 'Secret', namespace: ns, name: rotated });
    assert.equal(secret['type'], 'servicebinding.io/postgresql');
    await eventually(async () => {
      assert.deepEqual(
        projectedSecrets(await webDeployment()),
        [rotated],
        'the Deployment follows the rotation',
      );
    }, 60_000);
  });

  it('provisions an async-only plan by polling last_operation', async () => {
    await admin.create({
      apiVersion,
      kind: 'ServiceInstance',
      metadata: { name: 'big', namespace: ns },
      spec: {
        clusterServiceClassExternalName: 'bindery-database',
        clusterServicePlanExternalName: 'large',
        parameters: { replicas: 2 },
      },
    });
    await waitReady('ServiceInstance', 'big');
  });

  it('a plan that is not bindable is a condition on the credential binding (OSBP-18)', async () => {
    await admin.create({
      apiVersion,
      kind: 'ServiceInstance',
      metadata: { name: 'metrics', namespace: ns },
      spec: {
        clusterServiceClassExternalName: 'bindery-queue',
        clusterServicePlanExternalName: 'metrics-only',
      },
    });
    await waitReady('ServiceInstance', 'metrics');
    await admin.create({
      apiVersion,
      kind: 'ServiceCredentialBinding',
      metadata: { name: 'metrics', namespace: ns },
      spec: { instanceRef: { name: 'metrics' } },
    });
    await eventually(async () => {
      const b = await admin.get({ ...serviceCredentialBindingType, namespace: ns, name: 'metrics' });
      assert.equal(ready(b)?.reason, 'NotBindable');
    });
  });

  it('deleting the ServiceBinding, the credential binding and the instances leaves the broker empty', async () => {
    await admin.delete({ ...serviceBindingType, namespace: ns, name: 'web-db' });
    for (const name of ['db', 'metrics'])
      await admin.delete({ ...serviceCredentialBindingType, namespace: ns, name });
    for (const name of ['db', 'big', 'metrics'])
      await admin.delete({ apiVersion, kind: 'ServiceInstance', namespace: ns, name });
    await eventually(async () => {
      for (const name of ['db', 'big', 'metrics']) {
        assert.ok(
          isNotFound(
            await admin
              .get({ apiVersion, kind: 'ServiceInstance', namespace: ns, name })
              .catch((e: unknown) => e),
          ),
          name,
        );
      }
    }, 60_000);
    const credentialSecrets = await admin.list({ apiVersion: 'v1', kind: 'Secret' }, { namespace: ns });
    assert.deepEqual(
      credentialSecrets.items.map((s) => s.metadata.name).filter((n) => n?.startsWith('db')),
      [],
      "the credential binding deleted its Secret and its predecessor's",
    );
    const left = await admin.list({ apiVersion: 'v1', kind: 'Secret' }, { namespace: 'sample-broker-e2e' });
    assert.deepEqual(
      left.items.map((s) => s.metadata.name),
      [],
      'the sample broker holds nothing any more',
    );
  });
});
