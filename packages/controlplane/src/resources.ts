import { setTimeout as sleep } from 'node:timers/promises';
import type { KubeClient, KubeObject } from '@bindery/kube';

const FIELD_MANAGER = 'bindery-controlplane';

export interface InstallCRDsOptions {
  signal?: AbortSignal;
  /** For all of them to become servable; default 30 s. */
  timeoutMs?: number;
}

interface CRD extends KubeObject {
  spec?: {
    group?: string;
    names?: { plural?: string };
    versions?: Array<{ name?: string; served?: boolean }>;
  };
  status?: { conditions?: Array<{ type?: string; status?: string; reason?: string; message?: string }> };
}

/**
 * Server-side applies each CustomResourceDefinition, then waits until it is Established and discovery
 * lists its resource in every served version: before that, requests for the new kind get 404.
 */
export async function installCRDs(
  client: KubeClient,
  crds: KubeObject[],
  options: InstallCRDsOptions = {},
): Promise<KubeObject[]> {
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  const signal = options.signal;
  for (const crd of crds) {
    if (crd.kind !== 'CustomResourceDefinition') {
      throw new Error(
        `installCRDs: ${crd.kind ?? 'an object'} ${crd.metadata.name ?? ''} is not a CustomResourceDefinition`,
      );
    }
    await client.apply(
      { apiVersion: 'apiextensions.k8s.io/v1', ...crd },
      { fieldManager: FIELD_MANAGER, force: true, ...(signal && { signal }) },
    );
  }
  const installed: KubeObject[] = [];
  for (const crd of crds as CRD[]) {
    const name = crd.metadata.name ?? '';
    let current: CRD;
    for (;;) {
      current = await client.get<CRD>(
        { apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', name },
        signal ? { signal } : {},
      );
      const conditions = current.status?.conditions ?? [];
      const established = conditions.some((c) => c.type === 'Established' && c.status === 'True');
      if (established && (await servedEverywhere(client, current, signal))) break;
      if (Date.now() > deadline) {
        const why = conditions
          .map((c) => `${c.type}=${c.status} ${c.reason ?? ''} ${c.message ?? ''}`)
          .join('; ');
        throw new Error(
          `CustomResourceDefinition ${name} was not servable in time (conditions: ${why || 'none'})`,
        );
      }
      await sleep(100, undefined, signal ? { signal } : {});
    }
    for (const version of servedVersions(current))
      client.discovery.invalidate(`${current.spec?.group}/${version}`);
    installed.push(current);
  }
  return installed;
}

function servedVersions(crd: CRD): string[] {
  return (crd.spec?.versions ?? []).filter((v) => v.served !== false && v.name).map((v) => v.name ?? '');
}

async function servedEverywhere(
  client: KubeClient,
  crd: CRD,
  signal: AbortSignal | undefined,
): Promise<boolean> {
  const plural = crd.spec?.names?.plural;
  for (const version of servedVersions(crd)) {
    try {
      const list = await client.request<{ resources?: Array<{ name?: string }> }>({
        method: 'GET',
        path: `/apis/${crd.spec?.group}/${version}`,
        signal,
      });
      if (!list.resources?.some((r) => r.name === plural)) return false;
    } catch {
      return false; // 404 until the group version is registered
    }
  }
  return true;
}

export interface WebhookRule {
  operations: Array<'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT' | '*'>;
  apiGroups: string[];
  apiVersions: string[];
  resources: string[];
  scope?: 'Cluster' | 'Namespaced' | '*';
}

export interface WebhookRegistration {
  kind: 'Mutating' | 'Validating';
  /** The configuration's name. */
  name: string;
  /**
   * The webhook's name inside it, which must have at least three DNS labels; defaults to `name` when
   * that has, else `<name>.bindery.test`.
   */
  webhookName?: string;
  /** `https://127.0.0.1:<port>/<path>` of a local server. */
  url: string;
  /** PEM (or base64 of PEM) of the CA that signed that server's certificate. */
  caBundle: string;
  rules: WebhookRule[];
  /** Default `Fail`, so a broken test server shows up as errors rather than silently. */
  failurePolicy?: 'Fail' | 'Ignore';
  sideEffects?: 'None' | 'NoneOnDryRun';
  matchPolicy?: 'Exact' | 'Equivalent';
  timeoutSeconds?: number;
  namespaceSelector?: Record<string, unknown>;
  objectSelector?: Record<string, unknown>;
  matchConditions?: Array<{ name: string; expression: string }>;
  /** Mutating only. */
  reinvocationPolicy?: 'Never' | 'IfNeeded';
  admissionReviewVersions?: string[];
}

/**
 * Server-side applies a webhook configuration that reaches a local HTTPS server by `clientConfig.url`.
 * The API server picks a new configuration up from its informer within moments, not synchronously.
 */
export async function registerWebhook(
  client: KubeClient,
  webhook: WebhookRegistration,
  options: { signal?: AbortSignal } = {},
): Promise<KubeObject> {
  const { kind, name, webhookName, url, rules, admissionReviewVersions, caBundle: ca, ...rest } = webhook;
  const caBundle = ca.includes('-----BEGIN') ? Buffer.from(ca).toString('base64') : ca;
  if (kind === 'Validating' && rest.reinvocationPolicy !== undefined) {
    throw new Error(`webhook ${name}: reinvocationPolicy applies to Mutating webhooks only`);
  }
  const config: KubeObject = {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: `${kind}WebhookConfiguration`,
    metadata: { name },
    webhooks: [
      {
        name: webhookName ?? (name.split('.').length >= 3 ? name : `${name}.bindery.test`),
        clientConfig: { url, caBundle },
        rules,
        admissionReviewVersions: admissionReviewVersions ?? ['v1'],
        failurePolicy: 'Fail',
        sideEffects: 'None',
        ...rest,
      },
    ],
  };
  return client.apply(config, {
    fieldManager: FIELD_MANAGER,
    force: true,
    ...(options.signal && { signal: options.signal }),
  });
}
