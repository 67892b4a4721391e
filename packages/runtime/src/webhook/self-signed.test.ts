import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { describe, it } from 'node:test';
import { StatusError } from '@bindery/kube';
import type { KubeList, KubeObject, ObjectRef, PatchOptions } from '@bindery/kube';
import type { Client } from '../client.ts';
import { applyJsonPatch } from '../json-patch.ts';
import type { JsonPatchOperation } from '../json-patch.ts';
import { ensureCABundle, generateSelfSigned, serviceHosts } from './self-signed.ts';

describe('generateSelfSigned', () => {
  it('issues a serving certificate for the Service names, signed by a new CA', async () => {
    const certs = await generateSelfSigned({
      service: 'bindery-webhook',
      namespace: 'bindery-system',
      extraHosts: ['127.0.0.1'],
    });
    assert.deepEqual(serviceHosts('bindery-webhook', 'bindery-system'), [
      'bindery-webhook.bindery-system.svc',
      'bindery-webhook.bindery-system.svc.cluster.local',
    ]);
    const ca = new X509Certificate(certs.caBundle);
    const serving = new X509Certificate(certs.serving.cert);
    assert.equal(ca.ca, true);
    assert.equal(serving.ca, false);
    assert.ok(serving.verify(ca.publicKey), 'signed by the CA');
    assert.ok(serving.checkIssued(ca));
    assert.equal(
      serving.subjectAltName,
      'DNS:bindery-webhook.bindery-system.svc, DNS:bindery-webhook.bindery-system.svc.cluster.local, IP Address:127.0.0.1',
    );
    assert.equal(
      serving.checkHost('bindery-webhook.bindery-system.svc'),
      'bindery-webhook.bindery-system.svc',
    );
    assert.ok(new Date(serving.validFrom).getTime() < Date.now());
    assert.ok(certs.notAfter.getTime() > Date.now() + 364 * 24 * 3600 * 1000);
    assert.equal(certs.ca.cert, certs.caBundle);
  });

  it('signs with a CA it is given, so the caBundle in the cluster stays valid', async () => {
    const first = await generateSelfSigned({ service: 's', namespace: 'n' });
    const next = await generateSelfSigned({ service: 's', namespace: 'n', ca: first.ca, validDays: 30 });
    assert.equal(next.caBundle, first.caBundle);
    const serving = new X509Certificate(next.serving.cert);
    assert.ok(serving.verify(new X509Certificate(first.caBundle).publicKey));
    assert.notEqual(serving.serialNumber, new X509Certificate(first.serving.cert).serialNumber);
    assert.ok(next.notAfter.getTime() < Date.now() + 31 * 24 * 3600 * 1000);
    await assert.rejects(
      generateSelfSigned({ service: 's', namespace: 'n', ca: { cert: first.ca.cert, key: 'nope' } }),
      /the CA key is not a PKCS#8 ECDSA P-256 key/,
    );
  });
});

/** Just enough of a Client: objects by kind/name, JSON patches applied as the API server would. */
class ConfigClient implements Client {
  readonly objects = new Map<string, KubeObject>();
  readonly patches: Array<{ name: string; ops: JsonPatchOperation[] }> = [];
  /** Runs before a patch is applied, to simulate a concurrent writer. */
  beforePatch: ((key: string) => void) | undefined;

  put(obj: KubeObject): void {
    this.objects.set(`${obj.kind}/${obj.metadata.name}`, structuredClone(obj));
  }
  get<T extends KubeObject = KubeObject>(ref: ObjectRef): Promise<T> {
    const obj = this.objects.get(`${ref.kind}/${ref.name}`);
    if (!obj) return Promise.reject(new StatusError({ code: 404, request: `GET ${ref.kind}/${ref.name}` }));
    return Promise.resolve(structuredClone(obj) as T);
  }
  patch<T extends KubeObject = KubeObject>(
    ref: ObjectRef,
    patch: unknown,
    options: PatchOptions,
  ): Promise<T> {
    assert.equal(options.type, 'json');
    const key = `${ref.kind}/${ref.name}`;
    this.beforePatch?.(key);
    const ops = patch as JsonPatchOperation[];
    this.patches.push({ name: key, ops });
    try {
      const next = applyJsonPatch<KubeObject>(this.objects.get(key), ops);
      this.objects.set(key, next);
      return Promise.resolve(structuredClone(next) as T);
    } catch (err) {
      return Promise.reject(
        new StatusError({ code: 422, request: `PATCH ${key}`, status: { message: (err as Error).message } }),
      );
    }
  }
  list<T extends KubeObject = KubeObject>(): Promise<KubeList<T>> {
    return Promise.reject(new Error('not used'));
  }
  create<T extends KubeObject>(): Promise<T> {
    return Promise.reject(new Error('not used'));
  }
  update<T extends KubeObject>(): Promise<T> {
    return Promise.reject(new Error('not used'));
  }
  updateStatus<T extends KubeObject>(): Promise<T> {
    return Promise.reject(new Error('not used'));
  }
  delete(): Promise<unknown> {
    return Promise.reject(new Error('not used'));
  }
}

function configuration(kind: string, name: string, webhooks: string[], caBundle?: string): KubeObject {
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind,
    metadata: { name },
    webhooks: webhooks.map((w) => ({
      name: w,
      clientConfig: {
        service: { name: 'webhook', namespace: 'ns', path: `/${w}` },
        ...(caBundle ? { caBundle } : {}),
      },
    })),
  };
}

describe('ensureCABundle', () => {
  const pem = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
  const want = Buffer.from(pem).toString('base64');
  const bundles = (client: ConfigClient, key: string): Array<string | undefined> =>
    ((client.objects.get(key)?.['webhooks'] ?? []) as Array<{ clientConfig: { caBundle?: string } }>).map(
      (w) => w.clientConfig.caBundle,
    );

  it('sets the CA on every webhook that lacks it, and leaves the rest alone', async () => {
    const client = new ConfigClient();
    client.put(configuration('MutatingWebhookConfiguration', 'm', ['a.x.io', 'b.x.io']));
    client.put(configuration('ValidatingWebhookConfiguration', 'v', ['c.x.io'], want));
    const result = await ensureCABundle(client, { mutating: ['m'], validating: ['v', 'absent'] }, pem);
    assert.deepEqual(result, {
      patched: ['MutatingWebhookConfiguration/m'],
      unchanged: ['ValidatingWebhookConfiguration/v'],
      missing: ['ValidatingWebhookConfiguration/absent'],
    });
    assert.deepEqual(bundles(client, 'MutatingWebhookConfiguration/m'), [want, want]);
    assert.deepEqual(client.patches[0]?.ops, [
      { op: 'test', path: '/webhooks/0/name', value: 'a.x.io' },
      { op: 'add', path: '/webhooks/0/clientConfig/caBundle', value: want },
      { op: 'test', path: '/webhooks/1/name', value: 'b.x.io' },
      { op: 'add', path: '/webhooks/1/clientConfig/caBundle', value: want },
    ]);
  });

  it('puts the CA back when something resets it, patching only that webhook', async () => {
    const client = new ConfigClient();
    client.put(configuration('MutatingWebhookConfiguration', 'm', ['a.x.io', 'b.x.io'], want));
    const reset = configuration('MutatingWebhookConfiguration', 'm', ['a.x.io', 'b.x.io'], want);
    (reset['webhooks'] as Array<{ clientConfig: { caBundle?: string } }>)[1]!.clientConfig.caBundle = 'b2xk';
    client.put(reset);
    const result = await ensureCABundle(client, { mutating: ['m'] }, pem);
    assert.deepEqual(result.patched, ['MutatingWebhookConfiguration/m']);
    assert.deepEqual(client.patches[0]?.ops, [
      { op: 'test', path: '/webhooks/1/name', value: 'b.x.io' },
      { op: 'add', path: '/webhooks/1/clientConfig/caBundle', value: want },
    ]);
    assert.deepEqual((await ensureCABundle(client, { mutating: ['m'] }, pem)).unchanged, [
      'MutatingWebhookConfiguration/m',
    ]);
  });

  it('reads again and retries when the webhooks were reordered under it', async () => {
    const client = new ConfigClient();
    client.put(configuration('ValidatingWebhookConfiguration', 'v', ['a.x.io', 'b.x.io']));
    let raced = false;
    client.beforePatch = () => {
      if (raced) return;
      raced = true;
      client.put(configuration('ValidatingWebhookConfiguration', 'v', ['b.x.io', 'a.x.io']));
    };
    const result = await ensureCABundle(client, { validating: ['v'] }, pem);
    assert.deepEqual(result.patched, ['ValidatingWebhookConfiguration/v']);
    assert.equal(client.patches.length, 2, 'the first patch failed its test, the second applied');
    assert.deepEqual(bundles(client, 'ValidatingWebhookConfiguration/v'), [want, want]);
  });
});
