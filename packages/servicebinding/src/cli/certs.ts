// Self-managed serving certificates for `bindery manager --cert-mode=self-managed`: the CA lives in
// a Secret the install bundle creates empty, filled once by whichever replica gets there first
// (optimistic concurrency on resourceVersion), so every replica and every restart serves a
// certificate the same `caBundle` trusts. The CA is then kept in the webhook configurations.

import { isConflict, isNotFound } from '@bindery/kube';
import type { KubeClient, KubeObject } from '@bindery/kube';
import { ensureCABundle, generateSelfSigned, inspectKeyPair } from '@bindery/runtime';
import type { KeyPair, Runnable, WebhookConfigurationNames } from '@bindery/runtime';
import type { Logger } from 'pino';

export interface ServingCertificates {
  serving: KeyPair;
  /** PEM of the CA, for `caBundle`. */
  caBundle: string;
}

export interface SecretCertificatesOptions {
  client: KubeClient;
  namespace: string;
  /** The Secret holding `ca.crt`, `ca.key`, `tls.crt`, `tls.key`. It must exist. */
  secret: string;
  /** The webhook Service: the certificate is valid for its DNS names. */
  service: string;
  extraHosts?: string[];
  log: Logger;
  signal?: AbortSignal;
}

interface Secret extends KubeObject {
  data?: Record<string, string>;
}

const RENEW_BEFORE_MS = 30 * 24 * 60 * 60 * 1000;
const b64 = (s: string): string => Buffer.from(s).toString('base64');
const unb64 = (s: string | undefined): string | undefined =>
  s === undefined || s === '' ? undefined : Buffer.from(s, 'base64').toString('utf8');

/** The CA and serving certificate from the Secret, generated and stored there the first time. */
export async function secretCertificates(options: SecretCertificatesOptions): Promise<ServingCertificates> {
  const { client, namespace, secret, log, signal } = options;
  const ref = { apiVersion: 'v1', kind: 'Secret', namespace, name: secret };
  const call = signal ? { signal } : {};
  for (let attempt = 1; ; attempt++) {
    let current: Secret;
    try {
      current = await client.get<Secret>(ref, call);
    } catch (err) {
      if (isNotFound(err)) {
        throw new Error(
          `the Secret ${namespace}/${secret} (--cert-secret) does not exist: the install bundle creates it ` +
            '(bindery manifests --cert-mode self-managed); create it empty, or leave out --cert-secret',
          { cause: err },
        );
      }
      throw err;
    }
    const data = current.data ?? {};
    const caCert = unb64(data['ca.crt']);
    const caKey = unb64(data['ca.key']);
    if (caCert !== undefined && caKey !== undefined) {
      const cert = unb64(data['tls.crt']);
      const key = unb64(data['tls.key']);
      if (cert !== undefined && key !== undefined && stillValid({ cert, key })) {
        return { serving: { cert, key }, caBundle: caCert };
      }
      // Expiring (or missing): a fresh one from the same CA, so the caBundle stays valid. Not
      // written back: every replica may issue its own, and they all chain to the stored CA.
      const renewed = await generateSelfSigned({
        service: options.service,
        namespace,
        ca: { cert: caCert, key: caKey },
        ...(options.extraHosts && { extraHosts: options.extraHosts }),
      });
      log.info({ secret: `${namespace}/${secret}` }, 'issued a serving certificate from the stored CA');
      return { serving: renewed.serving, caBundle: caCert };
    }
    const generated = await generateSelfSigned({
      service: options.service,
      namespace,
      ...(options.extraHosts && { extraHosts: options.extraHosts }),
    });
    try {
      await client.update<Secret>(
        {
          ...current,
          data: {
            ...data,
            'ca.crt': b64(generated.ca.cert),
            'ca.key': b64(generated.ca.key),
            'tls.crt': b64(generated.serving.cert),
            'tls.key': b64(generated.serving.key),
          },
        },
        { fieldManager: 'bindery-manager', ...call },
      );
      log.info({ secret: `${namespace}/${secret}` }, 'generated the webhook CA and stored it');
      return { serving: generated.serving, caBundle: generated.caBundle };
    } catch (err) {
      // Another replica stored its CA first: use that one.
      if (!isConflict(err) || attempt >= 5) throw err;
    }
  }
}

function stillValid(pair: KeyPair): boolean {
  try {
    return Date.parse(inspectKeyPair(pair).validTo) - Date.now() > RENEW_BEFORE_MS;
  } catch {
    return false;
  }
}

export interface CABundleInjectorOptions {
  client: KubeClient;
  names: WebhookConfigurationNames;
  caBundle: string;
  log: Logger;
  /** Default 60 s: a re-applied manifest resets `caBundle`; this puts it back. */
  intervalMs?: number;
}

/**
 * Keeps the CA in the installed webhook configurations' `caBundle` (self-managed mode without
 * `--webhook-url`: the configurations come from the install bundle, which leaves `caBundle` out).
 * On the leader only: one writer.
 */
export class CABundleInjector implements Runnable {
  readonly name = 'webhook-cabundle';
  readonly needLeaderElection = true;
  readonly #options: CABundleInjectorOptions;

  constructor(options: CABundleInjectorOptions) {
    this.#options = options;
  }

  async start(signal: AbortSignal): Promise<void> {
    const { client, names, caBundle, log } = this.#options;
    let waitMs = 1_000;
    while (!signal.aborted) {
      try {
        const result = await ensureCABundle(client, names, caBundle, { signal });
        if (result.patched.length > 0) log.info({ patched: result.patched }, 'caBundle set');
        // Not applied yet (a first install): look again soon.
        waitMs =
          result.missing.length > 0 ? Math.min(waitMs * 2, 30_000) : (this.#options.intervalMs ?? 60_000);
        if (result.missing.length > 0)
          log.warn({ missing: result.missing }, 'webhook configurations not found');
      } catch (err) {
        if (signal.aborted) return;
        log.warn({ err }, 'cannot set the caBundle of the webhook configurations; retrying');
        waitMs = Math.min(waitMs * 2, 30_000);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, waitMs);
        signal.addEventListener('abort', done, { once: true });
        function done(): void {
          clearTimeout(timer);
          signal.removeEventListener('abort', done);
          resolve();
        }
      });
    }
  }
}
