// Keeps the webhook configurations in step with the live bindings (an aggregate-style runnable
// over the ServiceBinding index, on the leader): the interceptor's and the trigger's rules are
// recomputed whenever a workload or service kind appears or disappears, and every `resyncMs` to
// undo drift — the bindings package's `WebhookRulesReconciler` loop and `webhookRules`. Writes are
// server-side applies by `webhookFieldManager`, only when something differs.
//
// With `clientConfig` it owns the whole webhook entries (and creates the three configurations,
// the API validation one included): for `dev` mode and installs without manifests for them. Without
// it, it sets only the `rules` of configurations shipped by the install manifests, and waits for
// them to exist.

import { groupKind, isNotFound, parseApiVersion } from '@bindery/kube';
import type { KubeObject, TypeRef } from '@bindery/kube';
import { WebhookRulesReconciler, webhookRules } from '@bindery/bindings';
import type { KnownResource, WebhookRule } from '@bindery/bindings';
import { deepEqual } from '@bindery/runtime';
import type { Client, Runnable } from '@bindery/runtime';
import { pino } from 'pino';
import type { Logger } from 'pino';
import { group as apiGroup, serviceBindingKind } from '../apis/index.ts';
import { isDirectSecretReference } from '../resolver/index.ts';
import type { ResourceFor } from '../resolver/index.ts';
import type { AccessChecker } from './access-checker.ts';
import type { ServiceBindingIndex } from './binding-index.ts';
import {
  defaultWebhookConfigurationNames,
  interceptorPath,
  managedRulesAnnotation,
  triggerPath,
  validateMappingPath,
  validateServiceBindingPath,
  webhookFieldManager,
  webhookNames,
} from './constants.ts';

const ADMISSION = 'admissionregistration.k8s.io/v1';

/** Where the API server reaches the webhooks: a Service in the cluster, or a URL (dev mode). */
export type WebhookEndpoint =
  | { service: { namespace: string; name: string; port?: number } }
  /** The server's base URL, e.g. `https://127.0.0.1:9443`; the paths are appended. */
  | { url: string };

export interface WebhookClientConfigOptions {
  endpoint: WebhookEndpoint;
  /** PEM of the CA that signed the serving certificate. Omit when cert-manager injects it. */
  caBundle?: string;
}

export interface WebhookConfigurationNamesOptions {
  interceptor?: string;
  trigger?: string;
  validation?: string;
}

export interface WebhookConfigurationsOptions {
  index: ServiceBindingIndex;
  /** Reads and applies the configurations: a client of the API server (not a cache). */
  client: Pick<Client, 'get'> & {
    apply(
      obj: KubeObject,
      options: { fieldManager: string; force?: boolean; signal?: AbortSignal },
    ): Promise<KubeObject>;
  };
  resourceFor: ResourceFor;
  access: AccessChecker;
  names?: WebhookConfigurationNamesOptions;
  clientConfig?: WebhookClientConfigOptions;
  /** Of the interceptor and trigger; default: every namespace but `kube-system` (and the Service's). */
  namespaceSelector?: Record<string, unknown>;
  /** How often the configurations are checked when no binding kind changed. Default 5 min. */
  resyncMs?: number;
  /** Gathers binding changes into one write. Default 100 ms. */
  debounceMs?: number;
  log?: Logger;
}

export interface DesiredRules {
  interceptor: WebhookRule[];
  trigger: WebhookRule[];
  /** A kind kept from the last computation because of a transient error: compute again soon. */
  incomplete: boolean;
}

interface WebhookConfiguration extends KubeObject {
  webhooks?: Array<Record<string, unknown> & { name?: string }>;
}

export class WebhookConfigurationReconciler implements Runnable {
  readonly name = 'servicebinding-webhook-configurations';
  /** One writer: the leader. */
  readonly needLeaderElection = true;
  readonly #options: WebhookConfigurationsOptions;
  readonly #log: Logger;
  readonly #names: Required<WebhookConfigurationNamesOptions>;
  readonly #loop: WebhookRulesReconciler;
  /** Last known resource per kind, for each webhook's rules: a transient error keeps them. */
  readonly #known = {
    interceptor: new Map<string, KnownResource>(),
    trigger: new Map<string, KnownResource>(),
  };
  #incomplete = false;

  constructor(options: WebhookConfigurationsOptions) {
    this.#options = options;
    this.#names = { ...defaultWebhookConfigurationNames, ...options.names };
    this.#log = (options.log ?? pino({ name: 'servicebinding' })).child({ component: this.name });
    this.#loop = new WebhookRulesReconciler({
      waitForSync: (signal) => options.index.waitForSync(signal),
      // Missing: the manifests are not applied yet. Incomplete: a kind's lookup failed. Soon, either way.
      sync: async (signal) =>
        (await this.sync(signal)).includes('missing') || this.#incomplete ? 'retry' : 'synced',
      log: this.#log,
      ...(options.resyncMs !== undefined ? { resyncMs: options.resyncMs } : {}),
      ...(options.debounceMs !== undefined ? { debounceMs: options.debounceMs } : {}),
    });
    options.index.onKindsChanged(() => this.#loop.kindsChanged());
  }

  start(signal: AbortSignal): Promise<void> {
    return this.#loop.start(signal);
  }

  /** The rules the live bindings call for. */
  async desiredRules(signal?: AbortSignal): Promise<DesiredRules> {
    const { index, access, resourceFor } = this.#options;
    const onSkip = (type: TypeRef, reason: string): void =>
      this.#log.info(
        { kind: type.kind, apiVersion: type.apiVersion, reason },
        'kind left out of the webhook rules',
      );
    // Never Secrets: a webhook on them is sent every Secret write in the cluster, data included.
    // No feature needs it: a Secret is no workload (not PodSpec-able, and no mapping can name the
    // core group), and a directly referenced one is seen by the controller's metadata watch (or,
    // with --secret-access=none, not checked at all). Bindings to bindings are seen by the
    // controller's own informer.
    const workloads = index.workloadTypes().filter((t) => !isDirectSecretReference(t));
    const services = index
      .serviceTypes()
      .filter(
        (t) =>
          !isDirectSecretReference(t) &&
          !(parseApiVersion(t.apiVersion).group === apiGroup && t.kind === serviceBindingKind),
      );
    let incomplete = false;
    const onTransientError = (type: TypeRef, err: unknown): void => {
      incomplete = true;
      this.#log.warn(
        { kind: type.kind, apiVersion: type.apiVersion, err },
        'kind kept in the webhook rules as last known: its lookup failed',
      );
    };
    const interceptor = await webhookRules(workloads, {
      resourceFor,
      lastKnown: this.#known.interceptor,
      onTransientError,
      allowed: (group, resource) => access.allowed({ group, resource, verb: 'update' }, signal),
      operations: ['CREATE', 'UPDATE'],
      onSkip,
    });
    const serviceKinds = new Set(services.map(groupKind));
    const trigger = await webhookRules(dedupe([...workloads, ...services]), {
      resourceFor,
      lastKnown: this.#known.trigger,
      onTransientError,
      allowed: (group, resource) => access.allowed({ group, resource, verb: 'get' }, signal),
      operations: ['CREATE', 'UPDATE', 'DELETE'],
      // A Provisioned Service's `.status.binding.name` is usually written through `/status`.
      subresources: (t) => (serviceKinds.has(groupKind(t)) ? ['status'] : []),
      onSkip,
    });
    return { interceptor, trigger, incomplete };
  }

  /** Applies what differs, once; per configuration: `applied`, `unchanged` or `missing`. */
  async sync(signal?: AbortSignal): Promise<Array<'applied' | 'unchanged' | 'missing'>> {
    this.#incomplete = false;
    const rules = await this.desiredRules(signal);
    this.#incomplete = rules.incomplete;
    const selector = this.#options.namespaceSelector ?? this.#defaultNamespaceSelector();
    const results = [
      await this.#ensure(
        'MutatingWebhookConfiguration',
        this.#names.interceptor,
        [
          {
            name: webhookNames.interceptor,
            rules: rules.interceptor,
            ...this.#full(interceptorPath, {
              failurePolicy: 'Fail',
              reinvocationPolicy: 'IfNeeded',
              namespaceSelector: selector,
            }),
          },
        ],
        signal,
      ),
      await this.#ensure(
        'ValidatingWebhookConfiguration',
        this.#names.trigger,
        [
          {
            name: webhookNames.trigger,
            rules: rules.trigger,
            ...this.#full(triggerPath, { failurePolicy: 'Ignore', namespaceSelector: selector }),
          },
        ],
        signal,
      ),
    ];
    if (this.#options.clientConfig) {
      const apiRule = (resource: string, scope: 'Namespaced' | 'Cluster'): WebhookRule[] => [
        {
          apiGroups: [apiGroup],
          apiVersions: ['*'],
          operations: ['CREATE', 'UPDATE'],
          resources: [resource],
          scope,
        },
      ];
      results.push(
        await this.#ensure(
          'ValidatingWebhookConfiguration',
          this.#names.validation,
          [
            {
              name: webhookNames.serviceBinding,
              rules: apiRule('servicebindings', 'Namespaced'),
              ...this.#full(validateServiceBindingPath, { failurePolicy: 'Fail' }),
            },
            {
              name: webhookNames.mapping,
              rules: apiRule('clusterworkloadresourcemappings', 'Cluster'),
              ...this.#full(validateMappingPath, { failurePolicy: 'Fail' }),
            },
          ],
          signal,
          false,
        ),
      );
    }
    return results;
  }

  /** Everything but the rules, when this runnable owns the whole entries. */
  #full(path: string, extra: Record<string, unknown>): Record<string, unknown> {
    const cc = this.#options.clientConfig;
    if (!cc) return {};
    const endpoint =
      'url' in cc.endpoint
        ? { url: `${cc.endpoint.url.replace(/\/+$/, '')}${path}` }
        : {
            service: {
              namespace: cc.endpoint.service.namespace,
              name: cc.endpoint.service.name,
              path,
              port: cc.endpoint.service.port ?? 443,
            },
          };
    return {
      clientConfig: {
        ...endpoint,
        ...(cc.caBundle !== undefined ? { caBundle: Buffer.from(cc.caBundle).toString('base64') } : {}),
      },
      admissionReviewVersions: ['v1'],
      sideEffects: 'None',
      matchPolicy: 'Equivalent',
      timeoutSeconds: 10,
      ...extra,
    };
  }

  #defaultNamespaceSelector(): Record<string, unknown> {
    const cc = this.#options.clientConfig;
    const own = cc && 'service' in cc.endpoint ? [cc.endpoint.service.namespace] : [];
    return {
      matchExpressions: [
        {
          key: 'kubernetes.io/metadata.name',
          operator: 'NotIn',
          values: [...new Set(['kube-system', ...own])],
        },
      ],
    };
  }

  async #ensure(
    kind: 'MutatingWebhookConfiguration' | 'ValidatingWebhookConfiguration',
    name: string,
    webhooks: Array<Record<string, unknown> & { name: string }>,
    signal: AbortSignal | undefined,
    managedRules = true,
  ): Promise<'applied' | 'unchanged' | 'missing'> {
    const ref = { apiVersion: ADMISSION, kind, name };
    let current: WebhookConfiguration | undefined;
    try {
      current = await this.#options.client.get<WebhookConfiguration>(ref, signal ? { signal } : {});
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    const full = this.#options.clientConfig !== undefined;
    if (current === undefined && !full) {
      this.#log.warn({ configuration: `${kind}/${name}` }, 'webhook configuration not found');
      return 'missing';
    }
    // Without clientConfig only the webhooks the manifest has are ours to program.
    const desired = full
      ? webhooks
      : webhooks
          .filter((w) => current?.webhooks?.some((c) => c.name === w.name))
          .map((w) => ({ name: w.name, rules: w.rules }));
    const annotations = managedRules ? { [managedRulesAnnotation]: 'true' } : {};
    const inSync =
      current !== undefined &&
      Object.entries(annotations).every(([k, v]) => current.metadata.annotations?.[k] === v) &&
      desired.every((w) => {
        const live = current.webhooks?.find((c) => c.name === w.name);
        return live !== undefined && contains(live, w);
      });
    if (inSync) return 'unchanged';
    await this.#options.client.apply(
      { apiVersion: ADMISSION, kind, metadata: { name, annotations }, webhooks: desired },
      { fieldManager: webhookFieldManager, force: true, ...(signal ? { signal } : {}) },
    );
    this.#log.info({ configuration: `${kind}/${name}` }, 'webhook configuration updated');
    return 'applied';
  }
}

/** Whether `live` has every field of `want` (objects compared key by key, arrays whole). */
function contains(live: unknown, want: unknown): boolean {
  if (typeof want !== 'object' || want === null || Array.isArray(want)) return deepEqual(live, want);
  if (typeof live !== 'object' || live === null || Array.isArray(live)) return false;
  const l = live as Record<string, unknown>;
  return Object.entries(want as Record<string, unknown>).every(([k, v]) => contains(l[k], v));
}

function dedupe(types: TypeRef[]): TypeRef[] {
  const seen = new Map<string, TypeRef>();
  for (const t of types) {
    const key = groupKind(t);
    if (!seen.has(key)) seen.set(key, t);
  }
  return [...seen.values()];
}
