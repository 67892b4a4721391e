// `--secret-access=none` on a real kube-apiserver: the bundle rendered with it (cert-manager mode)
// gives the controller's ServiceAccount no verb on Secrets anywhere, and the manager the CLI builds,
// run as that ServiceAccount (impersonated) with its webhooks called for real, still binds: a
// direct Secret is projected by reference, a workload created later is bound at admission, nothing
// is Forbidden, and no webhook rule names Secrets. The bundle's webhook configurations are pointed
// at the local webhook server by URL (there is no Service to reach in this cluster).

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ControlPlane, eventually, skipE2E } from '@bindery/controlplane';
import type { KubeClient, KubeObject, TypeRef } from '@bindery/kube';
import { generateSelfSigned } from '@bindery/runtime';
import type { Condition } from '@bindery/runtime';
import { pino } from 'pino';
import type { ServiceBinding } from '../apis/index.ts';
import { serviceBindingManager } from '../cli/manager.ts';
import type { ServiceBindingManager } from '../cli/manager.ts';
import { rolloutAnnotation, serviceBindingType } from '../controllers/servicebinding.ts';
import { aggregate, impersonating, serviceAccountCan } from './e2e-helpers.ts';
import { applyInstallBundle, installNames, renderInstallBundle } from './index.ts';

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
  let cp: ControlPlane;
  let admin: KubeClient;
  let controller: KubeClient;
  let built: ServiceBindingManager;
  let dir: string;
  const logs: string[] = [];
  const stop = new AbortController();
  let running: Promise<void> | undefined;

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
      dir = await mkdtemp(join(tmpdir(), 'bindery-secret-access-e2e-'));
      cp = new ControlPlane();
      await cp.start();
      admin = cp.client();
      controller = await impersonating(
        cp,
        dir,
        `system:serviceaccount:${system}:${installNames.serviceAccount}`,
      );
      const certs = await generateSelfSigned({
        service: installNames.webhookService,
        namespace: system,
        extraHosts: ['127.0.0.1'],
      });
      built = await serviceBindingManager({
        client: controller,
        log: pino({ level: 'info' }, { write: (line: string) => void logs.push(line) }),
        metrics: false,
        health: false,
        leaderElection: { namespace: system, name: installNames.lease },
        webhookServer: { port: 0, host: '127.0.0.1', tls: certs.serving },
        // As in a cluster: the manager programs the rules of the installed configurations only.
        names: {
          interceptor: installNames.interceptorConfiguration,
          trigger: installNames.triggerConfiguration,
          validation: installNames.validationConfiguration,
        },
        secretAccess: 'none',
      });
      const caBundle = Buffer.from(certs.caBundle).toString('base64');
      const bundle = renderInstallBundle({ certMode: 'cert-manager', secretAccess: 'none' })
        .filter((o) => !(o.apiVersion?.startsWith('cert-manager.io/') ?? false))
        .map((o) => {
          if (!o.kind?.endsWith('WebhookConfiguration')) return o;
          const c = structuredClone(o) as Configuration;
          for (const w of c.webhooks) {
            w.clientConfig = { url: built.server.url(w.clientConfig.service?.path ?? ''), caBundle };
          }
          return c;
        });
      await applyInstallBundle(admin, bundle);
      await aggregate(admin);
      await admin.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
      // RBAC reaches the authorizer a moment after it is written.
      await eventually(async () =>
        assert.ok(
          await serviceAccountCan(admin, system, { verb: 'list', group: 'apps', resource: 'deployments' }),
        ),
      );
      running = built.manager.start(stop.signal);
      await eventually(() => assert.ok(built.manager.leading && built.webhooks.index.hasSynced()));
    },
    { timeout: 30 * 60_000 },
  );

  after(async () => {
    stop.abort();
    await running?.catch(() => undefined);
    await controller?.close();
    await admin?.close();
    await cp?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

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
