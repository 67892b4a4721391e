// Credential rotation through a Provisioned Service on a real kube-apiserver (issue 11): the
// controller may watch the service kind and watches Secrets as metadata, so a rotation is
// re-projected from watch events, not at the next poll (60 s, the default here) or resync (10 h).
// The deadlines are generous for a loaded machine and far below the poll; bench/rotation.bench.ts
// carries the figures. (`.status.binding.name` alone, watched: liveness.e2e.test.ts.)

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { eventually, schemalessCRD, skipE2E } from '@bindery/controlplane';
import type { PolicyRule } from '@bindery/controlplane';
import type { KubeClient, KubeObject, TypeRef } from '@bindery/kube';
import type { ServiceBinding } from '../apis/index.ts';
import { startControllerEnvironment, workloadDeployment } from './e2e-helpers.ts';
import type { ControllerEnvironment } from './e2e-helpers.ts';
import { rolloutAnnotation, secretVersionAnnotation, serviceBindingType } from './servicebinding.ts';

const ns = 'rotation-e2e';
const group = 'rotation.example.com';
const deploymentType: TypeRef = { apiVersion: 'apps/v1', kind: 'Deployment' };
const secretType: TypeRef = { apiVersion: 'v1', kind: 'Secret' };
const backendType: TypeRef = { apiVersion: `${group}/v1`, kind: 'RotatingBackend' };

/** Far below the 60 s poll: only a watch event gets there in time. */
const deadlineMs = 20_000;

const backendCRD: KubeObject = schemalessCRD({ group, kind: 'RotatingBackend', plural: 'rotatingbackends' });

/** Beyond the bundle's rules: list and watch on the service kind. */
const suiteRules: PolicyRule[] = [
  { apiGroups: [group], resources: ['rotatingbackends'], verbs: ['get', 'list', 'watch'] },
];

const secret = (name: string, password: string): KubeObject => ({
  ...secretType,
  metadata: { namespace: ns, name },
  stringData: { type: 'postgresql', password },
});

const backend = (name: string, secretName: string): KubeObject => ({
  ...backendType,
  metadata: { namespace: ns, name },
  status: { binding: { name: secretName } },
});

const deployment = (name: string): KubeObject => workloadDeployment(ns, name);

interface Template {
  metadata?: { annotations?: Record<string, string> };
  spec: { volumes?: Array<{ name: string; projected?: { sources: Array<{ secret?: { name: string } }> } }> };
}

describe(
  'credential rotation through a watched Provisioned Service on a real API server',
  { skip: skipE2E },
  () => {
    let env: ControllerEnvironment | undefined;
    let admin: KubeClient;

    const template = async (name: string): Promise<Template> =>
      (
        (await admin.get({ ...deploymentType, namespace: ns, name }))['spec'] as {
          template: Template;
        }
      ).template;
    /** The Secret `b`'s volume projects, and the Secret version annotation it wrote. */
    const projection = async (
      name: string,
      b: ServiceBinding,
    ): Promise<{ secret: string | undefined; version: string | undefined }> => {
      const uid = b.metadata.uid ?? '';
      const t = await template(name);
      return {
        secret: t.spec.volumes?.find((v) => v.name === `servicebinding-${uid}`)?.projected?.sources[0]?.secret
          ?.name,
        version: t.metadata?.annotations?.[secretVersionAnnotation(uid)],
      };
    };
    const waitReady = (name: string): Promise<ServiceBinding> =>
      eventually(async () => {
        const b = await admin.get<ServiceBinding>({ ...serviceBindingType, namespace: ns, name });
        const ready = b.status?.conditions?.find((c) => c.type === 'Ready');
        assert.equal(ready?.status, 'True', JSON.stringify(b.status));
        assert.equal(b.status?.observedGeneration, b.metadata.generation);
        return b;
      });
    /** Writes new data into Secret `name`; its new resourceVersion. */
    const changeSecret = async (name: string, password: string): Promise<string> => {
      const s = await admin.get({ ...secretType, namespace: ns, name });
      s['stringData'] = { type: 'postgresql', password };
      return (await admin.update(s)).metadata.resourceVersion ?? '';
    };

    before(
      async () => {
        env = await startControllerEnvironment({
          name: 'rotation',
          namespace: ns,
          crds: [backendCRD],
          rules: suiteRules,
          // The default poll interval (60 s) and Secret access (metadata), as installed.
          controller: { ensureDefaultMappings: false },
        });
        admin = env.admin;
      },
      { timeout: 30 * 60_000 },
    );

    after(() => env?.stop());

    it('rollout opt-in: new data in the Secret the service names rolls the pod template, before and after .status.binding.name moves to a new Secret', async () => {
      await admin.create(secret('db-v1', 'one'));
      const service = await admin.create(backend('db', 'db-v1'));
      await admin.create(deployment('app'));
      await admin.create({
        ...serviceBindingType,
        metadata: { namespace: ns, name: 'app-db', annotations: { [rolloutAnnotation]: 'true' } },
        spec: {
          service: { ...backendType, name: 'db' },
          workload: { ...deploymentType, name: 'app' },
        },
      });
      const b = await waitReady('app-db');
      const first = await eventually(async () => {
        const p = await projection('app', b);
        assert.equal(p.secret, 'db-v1');
        assert.ok(p.version);
        return p.version;
      });

      // The Secret's data changes: the metadata watch maps it to the binding through the service.
      const v1Changed = await changeSecret('db-v1', 'two');
      assert.notEqual(v1Changed, first);
      await eventually(
        async () => assert.deepEqual(await projection('app', b), { secret: 'db-v1', version: v1Changed }),
        deadlineMs,
      );

      // The service names a new Secret: projected, with that Secret's version.
      const v2 = (await admin.create(secret('db-v2', 'three'))).metadata.resourceVersion;
      service['status'] = { binding: { name: 'db-v2' } };
      await admin.update(service);
      await eventually(
        async () => assert.deepEqual(await projection('app', b), { secret: 'db-v2', version: v2 }),
        deadlineMs,
      );

      // The new Secret's data changes: it is the one tracked now.
      const v2Changed = await changeSecret('db-v2', 'four');
      await eventually(
        async () => assert.deepEqual(await projection('app', b), { secret: 'db-v2', version: v2Changed }),
        deadlineMs,
      );

      // The rotated-out Secret changing again rolls nothing: the workload is left as it is.
      const settled = (await admin.get({ ...deploymentType, namespace: ns, name: 'app' })).metadata
        .resourceVersion;
      await changeSecret('db-v1', 'five');
      await sleep(2_000);
      assert.equal(
        (await admin.get({ ...deploymentType, namespace: ns, name: 'app' })).metadata.resourceVersion,
        settled,
      );
    });

    it('without the opt-in, new data in the bound Secret leaves the pod template alone (projected by reference)', async () => {
      await admin.create(secret('cache-secret', 'one'));
      await admin.create(backend('cache', 'cache-secret'));
      await admin.create(deployment('worker'));
      await admin.create({
        ...serviceBindingType,
        metadata: { namespace: ns, name: 'worker-cache' },
        spec: { service: { ...backendType, name: 'cache' }, workload: { ...deploymentType, name: 'worker' } },
      });
      const b = await waitReady('worker-cache');
      const settled = await eventually(async () => {
        assert.deepEqual(await projection('worker', b), { secret: 'cache-secret', version: undefined });
        return (await admin.get({ ...deploymentType, namespace: ns, name: 'worker' })).metadata
          .resourceVersion;
      });
      await changeSecret('cache-secret', 'two');
      await sleep(2_000);
      assert.equal(
        (await admin.get({ ...deploymentType, namespace: ns, name: 'worker' })).metadata.resourceVersion,
        settled,
      );
    });
  },
);
