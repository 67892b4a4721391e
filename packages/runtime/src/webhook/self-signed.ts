// Self-managed serving certificates, for installs without cert-manager: a CA and a serving
// certificate for the webhook Service, and the CA patched into the webhook configurations'
// `caBundle` (again whenever something — a re-applied manifest, a GitOps sync — resets it).

import { webcrypto } from 'node:crypto';
import { isIP } from 'node:net';
import type * as X509 from '@peculiar/x509';
import { isNotFound } from '@bindery/kube';
import type { KubeObject } from '@bindery/kube';
import type { Client } from '../client.ts';
import type { JsonPatchOperation } from '../json-patch.ts';
import type { KeyPair } from './cert-watcher.ts';

type CryptoKey = webcrypto.CryptoKey;

const ALGORITHM: webcrypto.EcKeyGenParams & webcrypto.EcdsaParams = {
  name: 'ECDSA',
  namedCurve: 'P-256',
  hash: 'SHA-256',
};
const DAY_MS = 24 * 60 * 60 * 1000;

let x509Module: Promise<typeof X509> | undefined;

/**
 * @peculiar/x509 is loaded on first use only: it needs `reflect-metadata` (a global polyfill, which
 * must be imported first) and most users of this package never generate a certificate.
 */
function loadX509(): Promise<typeof X509> {
  x509Module ??= (async () => {
    await import('reflect-metadata');
    const x509 = await import('@peculiar/x509');
    x509.cryptoProvider.set(webcrypto);
    return x509;
  })();
  return x509Module;
}

/** The names the API server uses for a webhook Service: `<service>.<namespace>.svc` (and the cluster-domain form). */
export function serviceHosts(service: string, namespace: string): string[] {
  return [`${service}.${namespace}.svc`, `${service}.${namespace}.svc.cluster.local`];
}

export interface SelfSignedOptions {
  /** The webhook Service's name and namespace; the certificate is valid for `serviceHosts(service, namespace)`. */
  service: string;
  namespace: string;
  /** More DNS names or IP addresses (`127.0.0.1` for a server reached by URL). */
  extraHosts?: string[];
  /** Of the serving certificate; default 365. */
  validDays?: number;
  /**
   * Sign with this CA (PEM certificate and PKCS#8 ECDSA P-256 key, as an earlier call returned it,
   * e.g. kept in a Secret) so the `caBundle` already in the cluster stays valid. Default: a new CA.
   */
  ca?: KeyPair;
  /** Of a new CA; default 3650. */
  caValidDays?: number;
}

export interface SelfSignedCertificates {
  /** The CA: keep it to sign the next serving certificate with the same `caBundle`. */
  ca: KeyPair;
  /** The serving certificate and key, for `new WebhookServer({ tls: serving })`. */
  serving: KeyPair;
  /** The PEM to put in `caBundle` (`ensureCABundle` does). */
  caBundle: string;
  hosts: string[];
  notAfter: Date;
}

/** Generates (or reuses) a CA and issues a serving certificate for the webhook Service. */
export async function generateSelfSigned(options: SelfSignedOptions): Promise<SelfSignedCertificates> {
  const x509 = await loadX509();
  const hosts = [...serviceHosts(options.service, options.namespace), ...(options.extraHosts ?? [])];
  const now = Date.now();
  // Backdated an hour: the API server's clock may be a little behind ours.
  const notBefore = new Date(now - 60 * 60 * 1000);

  let caCert: X509.X509Certificate;
  let caKey: CryptoKey;
  let ca: KeyPair;
  if (options.ca) {
    caCert = new x509.X509Certificate(options.ca.cert);
    try {
      caKey = await webcrypto.subtle.importKey('pkcs8', pemBody(options.ca.key), ALGORITHM, true, ['sign']);
    } catch (err) {
      throw new Error(`the CA key is not a PKCS#8 ECDSA P-256 key: ${(err as Error).message}`, {
        cause: err,
      });
    }
    ca = options.ca;
  } else {
    const keys = await generateKeys();
    caCert = await x509.X509CertificateGenerator.createSelfSigned({
      name: [{ CN: [`${options.service}.${options.namespace} webhook CA`] }],
      keys,
      signingAlgorithm: ALGORITHM,
      notBefore,
      notAfter: new Date(now + (options.caValidDays ?? 3650) * DAY_MS),
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      ],
    });
    caKey = keys.privateKey;
    ca = { cert: caCert.toString('pem') + '\n', key: await exportPrivateKey(x509, keys.privateKey) };
  }

  const keys = await generateKeys();
  const notAfter = new Date(Math.min(now + (options.validDays ?? 365) * DAY_MS, caCert.notAfter.getTime()));
  const cert = await x509.X509CertificateGenerator.create({
    subject: [{ CN: [hosts[0] ?? options.service] }],
    issuer: caCert.subject,
    publicKey: keys.publicKey,
    signingKey: caKey,
    signingAlgorithm: ALGORITHM,
    notBefore,
    notAfter,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      await x509.AuthorityKeyIdentifierExtension.create(caCert.publicKey),
      new x509.SubjectAlternativeNameExtension(
        hosts.map((host) => ({ type: isIP(host) ? ('ip' as const) : ('dns' as const), value: host })),
      ),
    ],
  });
  return {
    ca,
    serving: { cert: cert.toString('pem') + '\n', key: await exportPrivateKey(x509, keys.privateKey) },
    caBundle: ca.cert,
    hosts,
    notAfter,
  };
}

async function generateKeys(): Promise<webcrypto.CryptoKeyPair> {
  return webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify']);
}

async function exportPrivateKey(x509: typeof X509, key: CryptoKey): Promise<string> {
  return x509.PemConverter.encode(await webcrypto.subtle.exportKey('pkcs8', key), 'PRIVATE KEY') + '\n';
}

function pemBody(pem: string): Buffer {
  return Buffer.from(pem.replace(/-----(BEGIN|END) [A-Z ]+-----/g, '').replace(/\s+/g, ''), 'base64');
}

/** The webhook configurations whose webhooks should all trust the CA, by name. */
export interface WebhookConfigurationNames {
  mutating?: string[];
  validating?: string[];
}

export interface EnsureCABundleResult {
  /** `MutatingWebhookConfiguration/<name>` entries that were patched. */
  patched: string[];
  /** Entries whose webhooks all had the CA already. */
  unchanged: string[];
  /** Entries that do not exist (yet). */
  missing: string[];
}

interface WebhookConfiguration extends KubeObject {
  webhooks?: Array<{ name?: string; clientConfig?: { caBundle?: string } }>;
}

/**
 * Makes every webhook of the named configurations trust `caPem` (set as `clientConfig.caBundle`,
 * base64 of the PEM). Only webhooks that differ are patched, with a JSON Patch that first tests each
 * webhook's name at its index, so a concurrent reordering fails the patch instead of writing the
 * wrong entry (it is then read again and retried). Call it at start and periodically: it is cheap
 * when nothing changed, and it puts the CA back when a re-applied manifest resets it.
 *
 * Give it a client that reads from the API server (a `KubeClient`): after a failed test a cached
 * read may still be stale, and the retries would fail the same way.
 */
export async function ensureCABundle(
  client: Client,
  names: WebhookConfigurationNames,
  caPem: string,
  options: { signal?: AbortSignal } = {},
): Promise<EnsureCABundleResult> {
  const want = Buffer.from(caPem).toString('base64');
  const result: EnsureCABundleResult = { patched: [], unchanged: [], missing: [] };
  const targets = [
    ...(names.mutating ?? []).map((name) => ({ kind: 'MutatingWebhookConfiguration', name })),
    ...(names.validating ?? []).map((name) => ({ kind: 'ValidatingWebhookConfiguration', name })),
  ];
  for (const { kind, name } of targets) {
    const ref = { apiVersion: 'admissionregistration.k8s.io/v1', kind, name };
    const entry = `${kind}/${name}`;
    for (let attempt = 1; ; attempt++) {
      let current: WebhookConfiguration;
      try {
        current = await client.get<WebhookConfiguration>(
          ref,
          options.signal ? { signal: options.signal } : {},
        );
      } catch (err) {
        if (isNotFound(err)) {
          result.missing.push(entry);
          break;
        }
        throw err;
      }
      const ops: JsonPatchOperation[] = [];
      (current.webhooks ?? []).forEach((webhook, i) => {
        if (!webhook.clientConfig || webhook.clientConfig.caBundle === want) return;
        ops.push(
          { op: 'test', path: `/webhooks/${i}/name`, value: webhook.name },
          { op: 'add', path: `/webhooks/${i}/clientConfig/caBundle`, value: want },
        );
      });
      if (ops.length === 0) {
        result.unchanged.push(entry);
        break;
      }
      try {
        await client.patch(ref, ops, { type: 'json', ...(options.signal && { signal: options.signal }) });
        result.patched.push(entry);
        break;
      } catch (err) {
        if (attempt >= 3 || options.signal?.aborted) {
          throw new Error(`cannot set the caBundle of ${entry}: ${(err as Error).message}`, { cause: err });
        }
      }
    }
  }
  return result;
}
