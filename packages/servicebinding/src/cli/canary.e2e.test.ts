// The Secret canary: a Secret holds a unique value (in its data and, as `kubectl apply` leaves it,
// in its last-applied-configuration annotation); the manager that `bindery manager` and `bindery
// dev` build runs, with its webhooks registered for real, through a binding's whole life — created,
// projected at admission, rolled on a Secret change, broken (missing Secret, missing workload,
// refused spec), deleted — and then every output is searched for the value: logs (pino at trace),
// events, binding statuses, /metrics, webhook responses, the workloads, and every informer cache.
// None may hold it: bindings project by reference, and the controller reads Secret metadata only.

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { request } from 'node:https';
import { after, before, describe, it } from 'node:test';
import { ControlPlane, eventually, skipE2E } from '@bindery/controlplane';
import { StatusError, isNotFound } from '@bindery/kube';
import type { KubeClient, KubeObject, TypeRef } from '@bindery/kube';
import { generateSelfSigned } from '@bindery/runtime';
import type { Condition } from '@bindery/runtime';
import { pino } from 'pino';
import { clusterWorkloadResourceMappingCRD, serviceBindingCRD } from '../apis/index.ts';
import type { ServiceBinding } from '../apis/index.ts';
import {
  rolloutAnnotation,
  secretVersionAnnotation,
  serviceBindingType,
} from '../controllers/servicebinding.ts';
import {
  defaultWebhookConfigurationNames,
  interceptorPath,
  triggerPath,
  validateMappingPath,
  validateServiceBindingPath,
} from '../webhooks/constants.ts';
import { serviceBindingManager } from './manager.ts';
import type { ServiceBindingManager } from './manager.ts';

const ns = 'canary-e2e';
const ADMISSION = 'admissionregistration.k8s.io/v1';
const deploymentType: TypeRef = { apiVersion: 'apps/v1', kind: 'Deployment' };
const secretType: TypeRef = { apiVersion: 'v1', kind: 'Secret' };
const lastApplied = 'kubectl.kubernetes.io/last-applied-configuration';

/** Unique per run: found anywhere but in the Secret, it leaked. */
const canary = `canary-${randomUUID()}`;
const values = [`${canary}-v1`, `${canary}-v2`];
/** Every form the values travel in: as they are, and base64 (the Secret's `data`). */
const needles = [canary, ...values.map((v) => Buffer.from(v).toString('base64'))];

/** A Secret as client-side `kubectl apply` leaves it: its data copied into an annotation. */
function secret(name: string, value: string): KubeObject {
  const data = {
    password: Buffer.from(value).toString('base64'),
    username: Buffer.from('app').toString('base64'),
  };
  const applied = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, namespace: ns },
    data,
    type: 'Opaque',
  };
  return {
    ...secretType,
    metadata: { name, namespace: ns, annotations: { [lastApplied]: JSON.stringify(applied) } },
    type: 'Opaque',
    data,
  };
}

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

function binding(
  name: string,
  service: ServiceBinding['spec']['service'],
  workload: ServiceBinding['spec']['workload'],
  extra: { spec?: Partial<ServiceBinding['spec']>; annotations?: Record<string, string> } = {},
): ServiceBinding {
  return {
    ...serviceBindingType,
    metadata: { namespace: ns, name, ...(extra.annotations && { annotations: extra.annotations }) },
    spec: { service, workload, ...extra.spec },
  };
}

const secretRef = (name: string) => ({ apiVersion: 'v1', kind: 'Secret', name });
const byName = (name: string) => ({ ...deploymentType, name });

/** POSTs an AdmissionReview to the webhook server; the whole answer, as text. */
function postReview(url: string, ca: string, review: unknown): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(url, {
      method: 'POST',
      ca,
      agent: false,
      headers: { 'content-type': 'application/json' },
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve(
          `${res.statusCode ?? 0} ${JSON.stringify(res.headers)} ${Buffer.concat(chunks).toString('utf8')}`,
        ),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(JSON.stringify(review));
  });
}

function review(operation: string, object: KubeObject | undefined, oldObject?: KubeObject): unknown {
  const [group, version] = (object ?? oldObject)?.apiVersion?.includes('/')
    ? ((object ?? oldObject)?.apiVersion ?? '').split('/')
    : ['', (object ?? oldObject)?.apiVersion ?? 'v1'];
  const kind = (object ?? oldObject)?.kind ?? '';
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: randomUUID(),
      kind: { group, version, kind },
      resource: { group, version, resource: `${kind.toLowerCase()}s` },
      namespace: ns,
      name: (object ?? oldObject)?.metadata.name,
      operation,
      userInfo: { username: 'tenant' },
      object: object ?? null,
      oldObject: oldObject ?? null,
    },
  };
}

/** Where a needle was found, for the failure message: the surrounding text, with the needle masked. */
function leaks(what: string, text: string): string[] {
  const found: string[] = [];
  for (const needle of needles) {
    const at = text.indexOf(needle);
    if (at >= 0) {
      const context = text
        .slice(Math.max(0, at - 160), at + needle.length + 40)
        .replaceAll(needle, '<CANARY>');
      found.push(`${what}: …${context}…`);
    }
  }
  return found;
}

describe('the Secret canary never leaves the Secret', { skip: skipE2E }, () => {
  let cp: ControlPlane;
  let admin: KubeClient;
  let built: ServiceBindingManager;
  let ca: string;
  const logLines: string[] = [];
  const webhookAnswers: string[] = [];
  const apiErrors: string[] = [];
  const stop = new AbortController();
  let running: Promise<void> | undefined;

  const getBinding = (name: string): Promise<ServiceBinding> =>
    admin.get<ServiceBinding>({ ...serviceBindingType, namespace: ns, name });
  const condition = async (name: string, type: string): Promise<Condition | undefined> =>
    (await getBinding(name)).status?.conditions?.find((c) => c.type === type);
  const waitFor = (name: string, type: string, status: string, reason?: string): Promise<void> =>
    eventually(async () => {
      const c = await condition(name, type);
      assert.equal(c?.status, status, `${name} ${type}: ${JSON.stringify(c)}`);
      if (reason !== undefined) assert.equal(c?.reason, reason);
    });
  const getDeployment = (name: string): Promise<KubeObject> =>
    admin.get({ ...deploymentType, namespace: ns, name });
  const podAnnotations = async (name: string): Promise<Record<string, string>> =>
    (
      (await getDeployment(name))['spec'] as {
        template: { metadata?: { annotations?: Record<string, string> } };
      }
    ).template.metadata?.annotations ?? {};

  before(
    async () => {
      cp = new ControlPlane();
      await cp.start();
      admin = cp.client();
      await cp.installCRDs([serviceBindingCRD(), clusterWorkloadResourceMappingCRD()]);
      await admin.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
      const certs = await generateSelfSigned({
        service: 'bindery-webhook',
        namespace: 'default',
        extraHosts: ['127.0.0.1'],
      });
      ca = certs.caBundle;
      const log = pino({ level: 'trace' }, { write: (line: string) => logLines.push(line) });
      built = await serviceBindingManager({
        client: admin,
        log,
        metrics: { host: '127.0.0.1', port: 0 },
        health: { host: '127.0.0.1', port: 0 },
        leaderElection: false,
        webhookServer: { port: 0, host: '127.0.0.1', tls: certs.serving },
        clientConfig: (url) => ({ endpoint: { url }, caBundle: certs.caBundle }),
        deniedEnvNames: ['LD_PRELOAD'],
      });
      running = built.manager.start(stop.signal);
      await eventually(() => assert.ok(built.manager.leading && built.webhooks.index.hasSynced()));
    },
    { timeout: 30 * 60_000 },
  );

  after(async () => {
    stop.abort();
    await running?.catch(() => undefined);
    for (const name of Object.values(defaultWebhookConfigurationNames)) {
      for (const kind of ['MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration']) {
        await admin?.delete({ apiVersion: ADMISSION, kind, name }).catch(() => undefined);
      }
    }
    await admin?.close();
    await cp?.stop();
  });

  it('a binding lifecycle with failures puts the Secret value in no log, event, status, metric or answer', async () => {
    await admin.create(secret('db', values[0] ?? ''));
    await admin.create(deployment('web'));
    const direct = binding('direct', secretRef('db'), byName('web'), {
      annotations: { [rolloutAnnotation]: 'true' },
      spec: { env: [{ name: 'DB_PASSWORD', key: 'password' }] },
    });
    await admin.create(direct);
    await waitFor('direct', 'Ready', 'True');
    const uid = (await getBinding('direct')).metadata.uid ?? '';
    const firstVersion = (await podAnnotations('web'))[secretVersionAnnotation(uid)];
    assert.ok(firstVersion, 'the rollout annotation carries the Secret resourceVersion');

    // At admission: a Deployment created after its (selector) binding is projected by the interceptor.
    await admin.create(
      binding('late', secretRef('db'), { ...deploymentType, selector: { matchLabels: { tier: 'late' } } }),
    );
    await waitFor('late', 'Ready', 'True');
    await eventually(async () => {
      const dry = await admin.create(deployment('late-web', { tier: 'late' }), { dryRun: true });
      assert.match(JSON.stringify(dry), /servicebinding-/, 'the interceptor is in the admission chain');
    });
    await admin.create(deployment('late-web', { tier: 'late' }));

    // A binding is a Provisioned Service: its status.binding.name is the Secret.
    await admin.create(deployment('chained'));
    await admin.create(
      binding(
        'chain',
        { apiVersion: serviceBindingType.apiVersion, kind: serviceBindingType.kind, name: 'direct' },
        byName('chained'),
      ),
    );
    await waitFor('chain', 'Ready', 'True');

    // Failures: a Secret that does not exist, a workload that does not exist, a spec the webhook refuses.
    await admin.create(binding('missing', secretRef('absent'), byName('web')));
    await waitFor('missing', 'Ready', 'False', 'ServiceNotFound');
    await admin.create(binding('nowork', secretRef('db'), byName('ghost')));
    await waitFor('nowork', 'Ready', 'False');
    const refused = await admin
      .create(binding('refused', secretRef('db'), byName('web'), { spec: { name: '../etc' } }))
      .catch((e: unknown) => e);
    assert.ok(refused instanceof StatusError, 'the validating webhook refuses it');
    apiErrors.push(refused.message);
    // A variable on the deny list, with its value from the Secret: not projected, the reason named.
    await admin.create(deployment('preloaded'));
    await admin.create(
      binding('preload', secretRef('db'), byName('preloaded'), {
        spec: { env: [{ name: 'LD_PRELOAD', key: 'password' }] },
      }),
    );
    await waitFor('preload', 'WorkloadProjected', 'False', 'EnvNameDenied');
    assert.match((await condition('preload', 'Ready'))?.message ?? '', /spec\.env\[0\]\.name: "LD_PRELOAD"/);

    // The Secret changes: the rollout annotation moves, the value travels nowhere.
    const changed = secret('db', values[1] ?? '');
    await admin.patch(
      { ...secretType, namespace: ns, name: 'db' },
      { metadata: changed.metadata, data: changed['data'] },
      { type: 'merge' },
    );
    await eventually(async () =>
      assert.notEqual((await podAnnotations('web'))[secretVersionAnnotation(uid)], firstVersion),
    );

    // Forged and real reviews of the Secret itself and of a workload, to every webhook path.
    const current = await admin.get({ ...secretType, namespace: ns, name: 'db' });
    const reviews = [
      review('CREATE', current),
      review('UPDATE', current, secret('db', values[0] ?? '')),
      review('DELETE', undefined, current),
      review('CREATE', deployment('forged', { tier: 'late' })),
      review('CREATE', deployment('preloaded')),
      review('CREATE', {
        ...direct,
        metadata: { ...direct.metadata, name: 'x' },
        spec: { ...direct.spec, name: '..' },
      }),
    ];
    for (const path of [interceptorPath, triggerPath, validateServiceBindingPath, validateMappingPath]) {
      for (const r of reviews) webhookAnswers.push(await postReview(built.server.url(path), ca, r));
    }

    assert.ok(
      webhookAnswers.some((a) => a.includes('LD_PRELOAD') && a.includes('deny list')),
      'the interceptor warns of the denied variable',
    );

    // The Secret goes: Ready=False; it comes back; the binding goes: unprojected.
    await admin.delete({ ...secretType, namespace: ns, name: 'db' });
    await waitFor('direct', 'Ready', 'False', 'ServiceNotFound');
    await admin.create(secret('db', values[1] ?? ''));
    await waitFor('direct', 'Ready', 'True');
    await admin.delete({ ...serviceBindingType, namespace: ns, name: 'direct' });
    await eventually(async () => {
      const gone = await getBinding('direct').catch((e: unknown) => e);
      assert.ok(isNotFound(gone), 'direct is gone');
      assert.equal((await podAnnotations('web'))[secretVersionAnnotation(uid)], undefined);
    });

    // Every output, searched.
    const found: string[] = [];
    found.push(...leaks('logs', logLines.join('')));
    assert.ok(logLines.length > 50, `the manager logged (${logLines.length} lines)`);
    const events = [
      ...(await admin.list({ apiVersion: 'events.k8s.io/v1', kind: 'Event' }, { namespace: ns })).items,
      ...(await admin.list({ apiVersion: 'v1', kind: 'Event' }, { namespace: ns })).items,
    ];
    assert.ok(events.length > 0, 'events were recorded');
    found.push(...leaks('events', JSON.stringify(events)));
    const bindings = (await admin.list(serviceBindingType, { namespace: ns })).items;
    found.push(...leaks('binding statuses', JSON.stringify(bindings)));
    const workloads = (await admin.list(deploymentType, { namespace: ns })).items;
    found.push(...leaks('workloads', JSON.stringify(workloads)));
    const metrics = built.manager.metricsAddress;
    assert.ok(metrics);
    const metricsText = await (await fetch(`http://${metrics.host}:${metrics.port}/metrics`)).text();
    assert.match(metricsText, /servicebinding|controller|workqueue/);
    found.push(...leaks('/metrics', metricsText));
    found.push(...leaks('webhook answers', webhookAnswers.join('\n')));
    found.push(...leaks('API errors', apiErrors.join('\n')));
    const caches = built.manager.informers.informers().flatMap((i) => [...i.indexer.values()]);
    found.push(...leaks('informer caches', JSON.stringify(caches)));
    assert.deepEqual(found, []);
  });

  it('the Secret cache keeps only what the controller reads, and the trigger is sent no Secret', async () => {
    const cached = [...built.manager.informer(secretType, true).indexer.values()];
    assert.ok(cached.length > 0, 'Secrets are cached (metadata)');
    for (const s of cached) {
      assert.deepEqual(Object.keys(s.metadata).sort(), ['name', 'namespace', 'resourceVersion', 'uid']);
    }
    const trigger = await admin.get<
      KubeObject & { webhooks: Array<{ rules?: Array<{ resources: string[] }> }> }
    >({
      apiVersion: ADMISSION,
      kind: 'ValidatingWebhookConfiguration',
      name: defaultWebhookConfigurationNames.trigger,
    });
    const resources = (trigger.webhooks[0]?.rules ?? []).flatMap((r) => r.resources);
    assert.ok(
      resources.includes('servicebindings') || resources.includes('deployments'),
      JSON.stringify(resources),
    );
    assert.ok(
      !resources.includes('secrets'),
      `the trigger rules name no Secrets: ${JSON.stringify(resources)}`,
    );
  });
});
