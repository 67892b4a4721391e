import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ControlPlane, eventually, skipE2E } from '@bindery/controlplane';
import { StatusError } from '@bindery/kube';
import type { KubeClient, KubeObject } from '@bindery/kube';
import { pino } from 'pino';
import { deny, mutating, validating } from './handlers.ts';
import { ensureCABundle, generateSelfSigned } from './self-signed.ts';
import { WebhookServer } from './server.ts';

const ADMISSION = 'admissionregistration.k8s.io/v1';
const log = pino({ level: 'silent' });

describe('WebhookServer on the real kube-apiserver', { skip: skipE2E }, () => {
  const cp = new ControlPlane();
  let client: KubeClient;
  let n = 0;
  const configMap = (labels: Record<string, string>, name = `cm-${n++}`): KubeObject => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace: 'default', labels },
    data: { key: 'value' },
  });

  before(
    async () => {
      await cp.start();
      client = cp.client();
    },
    { timeout: 30 * 60_000 },
  );

  after(async () => {
    await cp.stop();
  });

  it('mutates and validates ConfigMaps through a server with a certificate from the control plane CA', async () => {
    const serving = await cp.certificateAuthority.issueServing({ hosts: ['127.0.0.1'] });
    const server = new WebhookServer({ port: 0, tls: serving, log });
    server.register(
      '/mutate-v1-configmap',
      mutating<KubeObject>((cm) => {
        cm.metadata.labels = { ...cm.metadata.labels, 'bindery.dev/mutated': 'true' };
        cm.metadata.annotations = { ...cm.metadata.annotations, 'bindery.dev/path': 'a/b~c' };
        (cm['data'] as Record<string, string>)['added'] = 'by-webhook';
      }),
    );
    server.register(
      '/validate-v1-configmap',
      validating<KubeObject>((ctx) =>
        ctx.request.object?.metadata.name === 'forbidden-name'
          ? deny('metadata.name: "forbidden-name" is reserved by the e2e test')
          : { allowed: true },
      ),
    );
    await server.listen();
    const selector = { matchLabels: { 'bindery-e2e': 'webhook' } };
    try {
      await cp.registerWebhook({
        kind: 'Mutating',
        name: 'bindery-e2e-mutate',
        url: server.url('/mutate-v1-configmap'),
        caBundle: cp.caCert,
        rules: [
          {
            operations: ['CREATE', 'UPDATE'],
            apiGroups: [''],
            apiVersions: ['v1'],
            resources: ['configmaps'],
          },
        ],
        objectSelector: selector,
      });
      await cp.registerWebhook({
        kind: 'Validating',
        name: 'bindery-e2e-validate',
        url: server.url('/validate-v1-configmap'),
        caBundle: cp.caCert,
        rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['configmaps'] }],
        objectSelector: selector,
      });

      // The API server picks new configurations up from an informer, moments later.
      await eventually(async () => {
        const created = await client.create(configMap({ 'bindery-e2e': 'webhook' }));
        assert.equal(
          created.metadata.labels?.['bindery.dev/mutated'],
          'true',
          'the ConfigMap arrived mutated',
        );
        assert.equal(created.metadata.annotations?.['bindery.dev/path'], 'a/b~c');
        assert.deepEqual(created['data'], { key: 'value', added: 'by-webhook' });
      });
      await eventually(async () => {
        const err = await client
          .create(configMap({ 'bindery-e2e': 'webhook' }, 'forbidden-name'))
          .catch((e: unknown) => e);
        assert.ok(err instanceof StatusError, `the create was denied, got ${String(err)}`);
        assert.equal(err.code, 403);
        assert.match(
          err.message,
          /admission webhook "bindery-e2e-validate.bindery.test" denied the request: metadata.name: "forbidden-name" is reserved by the e2e test/,
        );
      });
      // Objects the selector does not match are not sent at all.
      const plain = await client.create(configMap({}));
      assert.equal(plain.metadata.labels?.['bindery.dev/mutated'], undefined);
    } finally {
      for (const [kind, name] of [
        ['MutatingWebhookConfiguration', 'bindery-e2e-mutate'],
        ['ValidatingWebhookConfiguration', 'bindery-e2e-validate'],
      ] as const) {
        await client.delete({ apiVersion: ADMISSION, kind, name }).catch(() => undefined);
      }
      await server.stop();
    }
  });

  it('serves a self-signed certificate once ensureCABundle has put its CA into the configuration', async () => {
    const certs = await generateSelfSigned({
      service: 'bindery-webhook',
      namespace: 'bindery-system',
      extraHosts: ['127.0.0.1'],
    });
    const server = new WebhookServer({ port: 0, tls: certs.serving, log });
    server.register(
      '/validate',
      validating<KubeObject>((ctx) =>
        ctx.request.object?.metadata.name === 'self-signed-deny'
          ? { allowed: false, message: 'denied through the self-signed certificate' }
          : { allowed: true },
      ),
    );
    await server.listen();
    const name = 'bindery-e2e-self-signed';
    const ref = { apiVersion: ADMISSION, kind: 'ValidatingWebhookConfiguration', name };
    const webhook = (suffix: string, label: string): Record<string, unknown> => ({
      name: `${suffix}.bindery.test`,
      // The control plane's CA did not sign the server's certificate: calls fail until ensureCABundle.
      clientConfig: { url: server.url('/validate'), caBundle: Buffer.from(cp.caCert).toString('base64') },
      rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['configmaps'] }],
      objectSelector: { matchLabels: { 'bindery-e2e': label } },
      failurePolicy: 'Fail',
      sideEffects: 'None',
      admissionReviewVersions: ['v1'],
    });
    try {
      await client.create({
        ...ref,
        metadata: { name },
        webhooks: [webhook('first', 'self-signed-1'), webhook('second', 'self-signed-2')],
      });
      await eventually(async () => {
        const err = await client
          .create(configMap({ 'bindery-e2e': 'self-signed-1' }))
          .catch((e: unknown) => e);
        assert.ok(err instanceof StatusError, 'untrusted until the caBundle is set');
        assert.match(err.message, /failed calling webhook "first.bindery.test".*(x509|certificate)/);
      });

      const first = await ensureCABundle(
        client,
        { validating: [name, 'bindery-e2e-absent'] },
        certs.caBundle,
      );
      assert.deepEqual(first, {
        patched: [`ValidatingWebhookConfiguration/${name}`],
        unchanged: [],
        missing: ['ValidatingWebhookConfiguration/bindery-e2e-absent'],
      });
      for (const label of ['self-signed-1', 'self-signed-2']) {
        await eventually(async () => {
          const err = await client
            .create(configMap({ 'bindery-e2e': label }, `self-signed-deny`))
            .catch((e: unknown) => e);
          assert.ok(err instanceof StatusError);
          assert.match(err.message, /denied the request: denied through the self-signed certificate/);
        });
        await client.create(configMap({ 'bindery-e2e': label }));
      }

      // Someone re-applies the manifest with its empty caBundle: the next call puts the CA back.
      await client.patch(ref, [{ op: 'remove', path: '/webhooks/1/clientConfig/caBundle' }], {
        type: 'json',
      });
      assert.deepEqual((await ensureCABundle(client, { validating: [name] }, certs.caBundle)).patched, [
        `ValidatingWebhookConfiguration/${name}`,
      ]);
      assert.deepEqual((await ensureCABundle(client, { validating: [name] }, certs.caBundle)).unchanged, [
        `ValidatingWebhookConfiguration/${name}`,
      ]);
      const stored = await client.get<
        KubeObject & { webhooks: Array<{ clientConfig: { caBundle: string } }> }
      >(ref);
      for (const w of stored.webhooks) {
        assert.equal(Buffer.from(w.clientConfig.caBundle, 'base64').toString(), certs.caBundle);
      }
    } finally {
      await client.delete(ref).catch(() => undefined);
      await server.stop();
    }
  });
});
