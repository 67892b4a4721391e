// SecretMount on a real kube-apiserver and etcd: the CRD from config/crd.yaml, the
// controller wiring of main.ts, and the admission webhook registered for real (the API
// server calls it over HTTPS). There is no kubelet: the tests assert on pod templates.

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { ControlPlane, eventually, skipE2E } from '@bindery/controlplane';
import { KubeClient, StatusError, isNotFound } from '@bindery/kube';
import type { KubeObject } from '@bindery/kube';
import { Manager, WebhookServer, podSpecable } from '@bindery/runtime';
import type { Condition, PodTemplateSpec } from '@bindery/runtime';
import { pino } from 'pino';
import { parse } from 'yaml';
import { addSecretMount, secretMountFinalizer, webhookConfigurationName, webhookPath } from './controller.ts';
import { secretMountType, volumeNameOf } from './secret-mount.ts';
import type { SecretMount } from './secret-mount.ts';

const ns = 'secret-mount-e2e';

const deploymentType = { apiVersion: 'apps/v1', kind: 'Deployment' };

function deployment(name: string, labels: Record<string, string> = {}): KubeObject {
  const podLabels = { app: name, ...labels };
  return {
    ...deploymentType,
    metadata: { namespace: ns, name, labels },
    spec: {
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: podLabels },
        spec: {
          initContainers: [{ name: 'migrate', image: 'registry.example/migrate:1' }],
          containers: [
            {
              name: 'app',
              image: 'registry.example/app:1',
              volumeMounts: [{ name: 'cache', mountPath: '/cache' }],
            },
            { name: 'proxy', image: 'registry.example/proxy:1' },
          ],
          volumes: [{ name: 'cache', emptyDir: {} }],
        },
      },
    },
  };
}

function secretMountOf(
  name: string,
  subject: SecretMount['spec']['subject'],
  mountPath = '/bindings/db',
): SecretMount {
  return {
    ...secretMountType,
    metadata: { namespace: ns, name },
    spec: { subject, secretName: 'db-credentials', mountPath },
  };
}

const templateOf = (obj: KubeObject): PodTemplateSpec => {
  const view = podSpecable(obj);
  assert.ok(view, `${obj.metadata.name ?? ''} has a pod template`);
  return view.spec.template;
};

/** Asserts that the SecretMount `binding` is mounted in every container of `obj`. */
function assertBound(obj: KubeObject, binding: string, mountPath = '/bindings/db'): void {
  const spec = templateOf(obj).spec;
  const volume = volumeNameOf(binding);
  assert.deepEqual(
    spec.volumes?.find((v) => v.name === volume),
    // The API server defaults the mode; `do` leaves it alone.
    { name: volume, secret: { secretName: 'db-credentials', defaultMode: 420 } },
    `${obj.metadata.name ?? ''} has the volume`,
  );
  for (const c of [...(spec.initContainers ?? []), ...(spec.containers ?? [])]) {
    assert.deepEqual(
      c.volumeMounts?.find((m) => m.name === volume),
      { name: volume, mountPath, readOnly: true },
      `container ${c.name} of ${obj.metadata.name ?? ''} mounts it`,
    );
  }
  assert.ok(
    spec.volumes?.some((v) => v.name === 'cache'),
    'the volume the Deployment had is kept',
  );
}

function assertNotBound(obj: KubeObject, binding: string): void {
  const spec = templateOf(obj).spec;
  const volume = volumeNameOf(binding);
  assert.equal(
    spec.volumes?.some((v) => v.name === volume),
    false,
    `${obj.metadata.name ?? ''} has no volume ${volume}`,
  );
}

describe('SecretMount on a real API server', { skip: skipE2E }, () => {
  let cp: ControlPlane;
  let admin: KubeClient;
  let client: KubeClient;
  const stop = new AbortController();
  let running: Promise<void> | undefined;

  const get = (name: string): Promise<KubeObject> => admin.get({ ...deploymentType, namespace: ns, name });
  const getBinding = (name: string): Promise<SecretMount> =>
    admin.get<SecretMount>({ ...secretMountType, namespace: ns, name });
  const readyOf = async (name: string): Promise<Condition | undefined> =>
    (await getBinding(name)).status?.conditions?.find((c) => c.type === 'Ready');

  before(
    async () => {
      cp = new ControlPlane();
      await cp.start();
      admin = new KubeClient({ kubeConfig: cp.kubeConfig() });
      client = new KubeClient({ kubeConfig: cp.kubeConfig() });
      // The CRD a user applies, as it is in the repository.
      const crd = parse(await readFile(new URL('config/crd.yaml', import.meta.url), 'utf8')) as KubeObject;
      await cp.installCRDs([crd]);
      await admin.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });

      const log = pino({ level: 'silent' });
      const manager = new Manager({ client, name: 'secret-mount', log, metrics: false, health: false });
      const server = new WebhookServer({
        port: 0,
        tls: await cp.certificateAuthority.issueServing({ hosts: ['127.0.0.1'] }),
        log,
      });
      addSecretMount(manager, { client, server });
      await server.listen();
      // config/webhook.yaml, but reached by URL, and only for this test's namespace.
      await cp.registerWebhook({
        kind: 'Mutating',
        name: webhookConfigurationName,
        webhookName: 'bind.secretmounts.samples.bindery.dev',
        url: server.url(webhookPath),
        caBundle: cp.caCert,
        rules: [],
        failurePolicy: 'Fail',
        reinvocationPolicy: 'IfNeeded',
        timeoutSeconds: 10,
        namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': ns } },
      });
      running = manager.start(stop.signal);
    },
    { timeout: 30 * 60_000 }, // the first run builds the binaries
  );

  after(async () => {
    stop.abort();
    await running;
    await admin?.delete({
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'MutatingWebhookConfiguration',
      name: webhookConfigurationName,
    });
    await client?.close();
    await admin?.close();
    await cp?.stop();
  });

  it('binds an existing Deployment, and puts its template back when the binding is deleted', async () => {
    const created = await admin.create(deployment('existing'));
    const original = structuredClone(templateOf(created));

    await admin.create(secretMountOf('db', { apiVersion: 'apps/v1', kind: 'Deployment', name: 'existing' }));
    await eventually(async () => assertBound(await get('existing'), 'db'));
    await eventually(async () => {
      const ready = await readyOf('db');
      assert.equal(ready?.status, 'True');
      assert.equal(ready.reason, 'SubjectsBound');
      assert.equal(ready.message, `Bound Deployment ${ns}/existing`);
    });
    assert.deepEqual((await getBinding('db')).metadata.finalizers, [secretMountFinalizer]);

    await admin.delete({ ...secretMountType, namespace: ns, name: 'db' });
    await eventually(async () => {
      const err = await getBinding('db').catch((e: unknown) => e);
      assert.ok(isNotFound(err), 'the finalizer was removed and the binding is gone');
    });
    // Exactly the original: what `do` added is gone, and nothing else changed.
    assert.deepEqual(templateOf(await get('existing')), original);
  });

  it('binds by label selector, and binds a new Deployment at admission', async () => {
    await admin.create(deployment('orders-db', { tier: 'db' }));
    await admin.create(deployment('orders-web', { tier: 'web' }));
    await admin.create(
      secretMountOf(
        'by-tier',
        { apiVersion: 'apps/v1', kind: 'Deployment', selector: { matchLabels: { tier: 'db' } } },
        '/bindings/tier',
      ),
    );
    await eventually(async () => assertBound(await get('orders-db'), 'by-tier', '/bindings/tier'));
    await eventually(async () =>
      assert.equal(
        (await readyOf('by-tier'))?.message,
        `Bound 1 Deployment objects in ${ns} matching tier=db`,
      ),
    );
    assertNotBound(await get('orders-web'), 'by-tier');

    // The controller programmed its webhook's rules from the subject kinds.
    const config = await admin.get<KubeObject & { webhooks: Array<{ rules: unknown }> }>({
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'MutatingWebhookConfiguration',
      name: webhookConfigurationName,
    });
    assert.deepEqual(config.webhooks[0]?.rules, [
      {
        apiGroups: ['apps'],
        apiVersions: ['v1'],
        operations: ['CREATE', 'UPDATE'],
        resources: ['deployments'],
        scope: 'Namespaced',
      },
    ]);

    // What the create returns is what admission stored: bound before any reconcile ran.
    // (The API server picks up the new rules from an informer, moments after the patch.)
    let attempt = 0;
    await eventually(async () => {
      const created = await admin.create(deployment(`orders-db-${attempt++}`, { tier: 'db' }));
      assertBound(created, 'by-tier', '/bindings/tier');
    });
    await eventually(async () =>
      assert.equal(
        (await readyOf('by-tier'))?.message,
        `Bound ${attempt + 1} Deployment objects in ${ns} matching tier=db`,
      ),
    );
  });

  it('refuses a mount path that is not absolute or climbs out with ..', async () => {
    for (const mountPath of ['relative/path', '/bindings/../etc']) {
      const err = await admin
        .create(secretMountOf('bad', { apiVersion: 'apps/v1', kind: 'Deployment', name: 'x' }, mountPath))
        .catch((e: unknown) => e);
      assert.ok(err instanceof StatusError, `${mountPath} refused`);
      assert.equal(err.code, 422);
      assert.match(err.message, /spec.mountPath/);
    }
  });
});
