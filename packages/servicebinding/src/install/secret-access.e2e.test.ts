// `--secret-access=none` on a real kube-apiserver: the bundle rendered with it (cert-manager mode)
// gives the controller's ServiceAccount no verb on Secrets anywhere, and the manager the CLI builds,
// run as that ServiceAccount (impersonated) with its webhooks called for real, still binds: a
// direct Secret is projected by reference, a workload created later is bound at admission, nothing
// is Forbidden, and no webhook rule names Secrets. The bundle's webhook configurations are pointed
// at the local webhook server by URL (there is no Service to reach in this cluster).

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eventually, skipE2E } from '@bindery/controlplane';
import type { KubeClient, KubeObject, TypeRef } from '@bindery/kube';
import type { Condition } from '@bindery/runtime';
import type { ServiceBinding } from '../apis/index.ts';
import { rolloutAnnotation, serviceBindingType } from '../controllers/servicebinding.ts';
import { installWithManager, serviceAccountCan } from './e2e-helpers.ts';
import type { InstalledManager } from './e2e-helpers.ts';
import { installNames } from './index.ts';

const system = installNames.namespace;
const ns = 'secret-access-e2e';
const deploymentType: TypeRef = { apiVersion: 'apps/v1', kind: 'Deployment' };
const secretType: TypeRef = { apiVersion: 'v1', kind: 'Secret' };
const ADMISSION = 'admissionregistration.k8s.io/v1';

interface WebhookEntry {
  name: string;
  clientConfig: { service?: { path?: string }; url?: string; caBundle?: string };
  rules?: Array<{ resources: string[] }>;
}
type Configuration = KubeObject & { webhooks: WebhookEntry[] };

function deployment(name: string, labels: Record<string, string> = {}): KubeObject {
  return {
    ...deploymentType,
    metadata: { namespace: ns, name, labels },
    spec: {
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: 'app', image: 'registry.example/app:1' }] },
      },
    },
  };
}

describe('--secret-access=none on a real API server', { skip: skipE2E }, () => {
  let env: InstalledManager | undefined;
  let admin: KubeClient;
  let logs: string[];

  const can = (verb: string, namespace?: string): Promise<boolean> =>
    serviceAccountCan(admin, system, { verb, resource: 'secrets', ...(namespace && { namespace }) });
  const readyBinding = (name: string): Promise<ServiceBinding> =>
    eventually(async () => {
      const b = await admin.get<ServiceBinding>({ ...serviceBindingType, namespace: ns, name });
      const conditions: Condition[] = b.status?.conditions ?? [];
      assert.equal(conditions.find((c) => c.type === 'Ready')?.status, 'True', JSON.stringify(b.status));
      return b;
    });

  before(
    async () => {
      env = await installWithManager({
        install: { secretAccess: 'none' },
        manager: { secretAccess: 'none' },
        namespace: ns,
        granted: { verb: 'list', group: 'apps', resource: 'deployments' },
      });
      ({ admin, logs } = env);
      await env.start();
    },
    { timeout: 30 * 60_000 },
  );

  after(() => env?.stop());

  it('the ServiceAccount has no verb on Secrets, in any namespace or cluster-wide', async () => {
    for (const verb of ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete']) {
      assert.equal(await can(verb, ns), false, `may not ${verb} Secrets in ${ns}`);
      assert.equal(await can(verb), false, `may not ${verb} Secrets cluster-wide`);
    }
  });

  it('bindings to a direct Secret become Ready, by reference, at reconcile and at admission; no rule names Secrets; nothing is Forbidden', async () => {
    await admin.create({
      ...secretType,
      metadata: { namespace: ns, name: 'db' },
      stringData: { password: 'x' },
    });
    await admin.create(deployment('web'));
    await admin.create({
      ...serviceBindingType,
      metadata: { namespace: ns, name: 'web-db', annotations: { [rolloutAnnotation]: 'true' } },
      spec: {
        service: { apiVersion: 'v1', kind: 'Secret', name: 'db' },
        workload: { ...deploymentType, name: 'web' },
      },
    });
    const b = await readyBinding('web-db');
    assert.equal(b.status?.binding?.name, 'db');
    const projected = b.status?.conditions?.find((c) => c.type === 'WorkloadProjected');
    assert.match(projected?.message ?? '', /rollout-on-secret-change is ignored: .*--secret-access=none/);
    const web = await admin.get({ ...deploymentType, namespace: ns, name: 'web' });
    assert.match(JSON.stringify(web['spec']), /"secret":\{"name":"db"\}/);

    await admin.create({
      ...serviceBindingType,
      metadata: { namespace: ns, name: 'late-db' },
      spec: {
        service: { apiVersion: 'v1', kind: 'Secret', name: 'db' },
        workload: { ...deploymentType, selector: { matchLabels: { tier: 'late' } } },
      },
    });
    await readyBinding('late-db');
    const late = await eventually(async () => {
      const dry = await admin.create(deployment('late', { tier: 'late' }), { dryRun: true });
      assert.match(JSON.stringify(dry['spec']), /"secret":\{"name":"db"\}/, 'projected at admission');
      return admin.create(deployment('late', { tier: 'late' }));
    });
    assert.match(JSON.stringify(late['spec']), /"secret":\{"name":"db"\}/);

    for (const [kind, name] of [
      ['MutatingWebhookConfiguration', installNames.interceptorConfiguration],
      ['ValidatingWebhookConfiguration', installNames.triggerConfiguration],
    ] as const) {
      const c = await admin.get<Configuration>({ apiVersion: ADMISSION, kind, name });
      const resources = (c.webhooks[0]?.rules ?? []).flatMap((r) => r.resources);
      assert.ok(resources.includes('deployments'), `${name}: ${resources.join(', ')}`);
      assert.ok(!resources.includes('secrets'), `${name} names no Secrets: ${resources.join(', ')}`);
    }
    assert.deepEqual(
      logs.filter((l) => /forbidden/i.test(l)),
      [],
      'no permission is missing',
    );
  });
});
