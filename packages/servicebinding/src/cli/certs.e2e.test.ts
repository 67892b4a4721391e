// Self-managed certificates on a real API server: the CA stored once in the bundle's empty Secret,
// reused by every later replica, and written into the installed webhook configurations.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ControlPlane, eventually, skipE2E } from '@bindery/controlplane';
import type { KubeObject } from '@bindery/kube';
import { pino } from 'pino';
import { CABundleInjector, secretCertificates } from './certs.ts';

const namespace = 'default';
const log = pino({ level: 'silent' });

describe('self-managed webhook certificates', { skip: skipE2E }, () => {
  const controlPlane = new ControlPlane();

  before(async () => {
    await controlPlane.start();
  });

  after(async () => {
    await controlPlane.stop();
  });

  it('stores a CA in the empty Secret once, and every replica serves from it', async () => {
    const client = controlPlane.client();
    await client.create({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'webhook-cert', namespace } });
    const options = { client, namespace, secret: 'webhook-cert', service: 'bindery-webhook', log };
    // Two replicas at once: one write wins, the other reads the winner's CA.
    const [a, b] = await Promise.all([secretCertificates(options), secretCertificates(options)]);
    assert.equal(a.caBundle, b.caBundle);
    const later = await secretCertificates(options);
    assert.equal(later.caBundle, a.caBundle);
    const secret = await client.get<KubeObject & { data?: Record<string, string> }>({
      apiVersion: 'v1',
      kind: 'Secret',
      namespace,
      name: 'webhook-cert',
    });
    assert.deepEqual(Object.keys(secret.data ?? {}).sort(), ['ca.crt', 'ca.key', 'tls.crt', 'tls.key']);
    assert.equal(Buffer.from(secret.data?.['ca.crt'] ?? '', 'base64').toString(), a.caBundle);
  });

  it('says how to fix a missing Secret', async () => {
    await assert.rejects(
      secretCertificates({
        client: controlPlane.client(),
        namespace,
        secret: 'missing',
        service: 'bindery-webhook',
        log,
      }),
      /Secret default\/missing \(--cert-secret\) does not exist: the install bundle creates it/,
    );
  });

  it('writes the CA into the installed configurations', async () => {
    const client = controlPlane.client();
    await client.create({
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingWebhookConfiguration',
      metadata: { name: 'installed' },
      webhooks: [
        {
          name: 'trigger.example.dev',
          admissionReviewVersions: ['v1'],
          sideEffects: 'None',
          failurePolicy: 'Ignore',
          clientConfig: { service: { namespace, name: 'bindery-webhook', path: '/trigger' } },
        },
      ],
    });
    const caBundle = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
    const stop = new AbortController();
    const running = new CABundleInjector({
      client,
      names: { validating: ['installed'] },
      caBundle,
      log,
    }).start(stop.signal);
    try {
      await eventually(async () => {
        const config = await client.get<
          KubeObject & { webhooks: Array<{ clientConfig: { caBundle?: string } }> }
        >({
          apiVersion: 'admissionregistration.k8s.io/v1',
          kind: 'ValidatingWebhookConfiguration',
          name: 'installed',
        });
        assert.equal(config.webhooks[0]?.clientConfig.caBundle, Buffer.from(caBundle).toString('base64'));
      });
    } finally {
      stop.abort();
      await running;
    }
  });
});
