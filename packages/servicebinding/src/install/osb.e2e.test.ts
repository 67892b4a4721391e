// The OSB bundle on a real kube-apiserver: `bindery manager --osb` (the manager the CLI builds), run
// as the bundle's ServiceAccount (impersonated) with only the bundle's RBAC, takes a
// ClusterServiceBroker for the sample broker to Ready, provisions an instance, binds it, and a
// servicebinding.io ServiceBinding naming the ServiceCredentialBinding projects its Secret into a
// Deployment: the aggregated role reads the credential binding as a Provisioned Service.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eventually, skipE2E } from '@bindery/controlplane';
import type { KubeClient, KubeObject } from '@bindery/kube';
import { apiVersion as osbApiVersion } from '@bindery/osb';
import { startSampleBroker } from '@bindery/osb-broker';
import type { RunningSampleBroker } from '@bindery/osb-broker';
import type { Condition } from '@bindery/runtime';
import { installWithManager } from './e2e-helpers.ts';
import type { InstalledManager } from './e2e-helpers.ts';
import { installNames } from './index.ts';

const system = installNames.namespace;
const ns = 'osb-bundle-e2e';
const b64 = (s: string) => Buffer.from(s).toString('base64');

type WithConditions = KubeObject & { status?: { conditions?: Condition[]; binding?: { name: string } } };

describe('the OSB install bundle on a real API server', { skip: skipE2E }, () => {
  let env: InstalledManager | undefined;
  let admin: KubeClient;
  let logs: string[];
  let sample: RunningSampleBroker;

  const ready = (apiVersion: string, kind: string, name: string, namespace?: string) =>
    eventually(async () => {
      const o = await admin.get<WithConditions>({ apiVersion, kind, name, ...(namespace && { namespace }) });
      assert.equal(
        o.status?.conditions?.find((c) => c.type === 'Ready')?.status,
        'True',
        JSON.stringify(o.status),
      );
      return o;
    }, 60_000);

  before(
    async () => {
      env = await installWithManager({
        install: { osb: true },
        manager: { osb: true },
        namespace: ns,
        granted: { verb: 'list', group: 'osb.bindery.dev', resource: 'servicecredentialbindings' },
      });
      ({ admin, logs } = env);
      sample = await startSampleBroker({
        client: admin,
        namespace: 'sample-broker',
        delayMs: 200,
        basic: { username: 'platform', password: 'bundle-pw' },
      });
      await env.start();
    },
    { timeout: 30 * 60_000 },
  );

  after(async () => {
    await sample?.stop();
    await env?.stop();
  });

  it('broker, instance, credential binding and a ServiceBinding into a Deployment, all Ready, with the bundle RBAC only', async () => {
    await admin.create({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { namespace: system, name: 'sample-auth' },
      data: { username: b64('platform'), password: b64('bundle-pw') },
    });
    await admin.create({
      apiVersion: osbApiVersion,
      kind: 'ClusterServiceBroker',
      metadata: { name: 'sample' },
      spec: {
        url: sample.url,
        insecureAllowHTTP: true,
        authInfo: { basic: { secretRef: { namespace: system, name: 'sample-auth' } } },
      },
    });
    await ready(osbApiVersion, 'ClusterServiceBroker', 'sample');

    await admin.create({
      apiVersion: osbApiVersion,
      kind: 'ServiceInstance',
      metadata: { namespace: ns, name: 'queue' },
      spec: { clusterServiceClassExternalName: 'bindery-queue', clusterServicePlanExternalName: 'standard' },
    });
    await ready(osbApiVersion, 'ServiceInstance', 'queue', ns);
    await admin.create({
      apiVersion: osbApiVersion,
      kind: 'ServiceCredentialBinding',
      metadata: { namespace: ns, name: 'queue-creds' },
      spec: { instanceRef: { name: 'queue' } },
    });
    const credentials = await ready(osbApiVersion, 'ServiceCredentialBinding', 'queue-creds', ns);
    const secretName = credentials.status?.binding?.name ?? '';
    assert.ok(secretName);

    await admin.create({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { namespace: ns, name: 'app' },
      spec: {
        selector: { matchLabels: { app: 'app' } },
        template: {
          metadata: { labels: { app: 'app' } },
          spec: { containers: [{ name: 'app', image: 'registry.example/app:1' }] },
        },
      },
    });
    await admin.create({
      apiVersion: 'servicebinding.io/v1',
      kind: 'ServiceBinding',
      metadata: { namespace: ns, name: 'app-queue' },
      spec: {
        service: { apiVersion: osbApiVersion, kind: 'ServiceCredentialBinding', name: 'queue-creds' },
        workload: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'app' },
      },
    });
    await ready('servicebinding.io/v1', 'ServiceBinding', 'app-queue', ns);
    type Volume = { projected?: { sources?: Array<{ secret?: { name: string } }> } };
    const app = await admin.get<KubeObject & { spec: { template: { spec: { volumes?: Volume[] } } } }>({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      namespace: ns,
      name: 'app',
    });
    const projected = app.spec.template.spec.volumes?.flatMap((v) => v.projected?.sources ?? []) ?? [];
    assert.ok(
      projected.some((src) => src.secret?.name === secretName),
      JSON.stringify(app.spec.template.spec.volumes),
    );
    assert.deepEqual(
      logs.filter((l) => /forbidden/i.test(l)),
      [],
      'the bundle RBAC is enough: nothing was Forbidden',
    );
  });
});
