// The binding admission controller (knative's psbinding AdmissionController): a mutating
// webhook that binds PodSpec-able objects as they are created or updated, so a Deployment
// created after its binding starts bound. It answers from an in-memory index of bindings
// kept by an informer — never an API call per request — and reprograms the rules of its
// MutatingWebhookConfiguration to the subject kinds that bindings name, so the API server
// sends it nothing else.

import { NoKindMatchError, isNotFound, isTombstone, parseApiVersion, realClock, sleep } from '@bindery/kube';
import type { EventHandler, KubeObject, Selector, TypeRef } from '@bindery/kube';
import { deepEqual, deny, mutating, podSpecable } from '@bindery/runtime';
import type {
  AdmissionContext,
  AdmissionHandler,
  Client,
  Denial,
  JsonPatchOperation,
} from '@bindery/runtime';
import { pino } from 'pino';
import type { Logger } from 'pino';
import { describeSubject, subjectSelector } from './bindable.ts';
import type { Bindable, BindableFactory, BindingContext } from './bindable.ts';

/** What the admission controller needs of the bindings' informer (the manager's `informer(type)`). */
export interface BindingInformer<B extends KubeObject> {
  addEventHandler(handler: EventHandler<B>): unknown;
  hasSynced(): boolean;
  waitForSync(signal?: AbortSignal): Promise<void>;
}

/** Where the admission controller keeps its webhook's rules in step with the bindings. */
export interface WebhookRulesOptions {
  /** The MutatingWebhookConfiguration whose rules it owns. */
  configurationName: string;
  /** The webhook in it whose rules it sets; default: every webhook of the configuration. */
  webhookName?: string;
  /**
   * Reads and patches the configuration. Give it a client that reads from the API
   * server (a `KubeClient`): a stale cached read would make the patch's test fail again.
   */
  client: Pick<Client, 'get' | 'patch'>;
  /** The plural resource of a kind: `(t) => kubeClient.discovery.resourceFor(t)`. Only `NoKindMatchError` means "not served"; any other error is taken as transient. */
  resourceFor(type: TypeRef): Promise<{ resource: string }>;
  /** How often the rules are checked when no binding changed, to undo drift. Default 5 min. */
  resyncMs?: number;
}

export interface BindingAdmissionControllerOptions<B extends KubeObject> {
  /** Names it in logs and the manager's readiness checks. */
  name?: string;
  /** The binding type. */
  type: TypeRef;
  bindable: BindableFactory<B>;
  /** The informer of the binding type; the manager starts it. */
  bindings: BindingInformer<B>;
  /** Omit to keep the webhook's rules by hand (they must name every subject kind). */
  rules?: WebhookRulesOptions;
  log?: Logger;
}

/** One rule of a webhook configuration, in the exact form the API server stores. */
export interface WebhookRule {
  apiGroups: string[];
  apiVersions: string[];
  operations: string[];
  resources: string[];
  scope: 'Namespaced';
}

interface IndexedBinding {
  /** `namespace/name` of the binding. */
  key: string;
  /** `apiVersion/Kind` of its subject. */
  kind: string;
  bindable: Bindable;
  selector: Selector | undefined;
  deleting: boolean;
}

interface WebhookConfiguration extends KubeObject {
  webhooks?: Array<{ name?: string; rules?: unknown }>;
}

const ADMISSION_REGISTRATION = 'admissionregistration.k8s.io/v1';

/**
 * Serve `handler` from a WebhookServer and add the controller to the manager as a
 * runnable (every replica runs it: admission is never gated by leadership).
 */
export class BindingAdmissionController<B extends KubeObject> {
  readonly name: string;
  /** The mutating handler: register it at a path of the WebhookServer. */
  readonly handler: AdmissionHandler;
  readonly #options: BindingAdmissionControllerOptions<B>;
  readonly #log: Logger;
  /** By `group/Kind/namespace` of the subject, then binding key. */
  readonly #index = new Map<string, Map<string, IndexedBinding>>();
  /** Binding key → its index key, to move or drop it on change. */
  readonly #where = new Map<string, string>();
  /** Subject kinds (`apiVersion/Kind`) and how many bindings name each. */
  readonly #kinds = new Map<string, { type: TypeRef; count: number }>();
  readonly #resources = new Map<string, string>();
  #wake: (() => void) | undefined;
  #dirty = true;

  constructor(options: BindingAdmissionControllerOptions<B>) {
    this.name = options.name ?? `${options.type.kind.toLowerCase()}-admission`;
    this.#options = options;
    this.#log = (options.log ?? pino({ name: 'bindings' })).child({ admission: this.name });
    this.handler = mutating<KubeObject>((obj, ctx) => this.#admit(obj, ctx));
    options.bindings.addEventHandler({
      onAdd: (b) => this.#upsert(b),
      onUpdate: (_old, b) => this.#upsert(b),
      onDelete: (b) => this.#remove(isTombstone(b) ? b.obj : b),
    });
  }

  /** Ready once the bindings are in memory: before that it would admit objects unbound. */
  ready(): boolean {
    return this.#options.bindings.hasSynced();
  }

  /** The subject kinds that bindings name, deleting ones included (they still undo). */
  subjectTypes(): TypeRef[] {
    return [...this.#kinds.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([, { type }]) => type);
  }

  /** Keeps the webhook's rules in step with the bindings until `signal` aborts. */
  async start(signal: AbortSignal): Promise<void> {
    const rules = this.#options.rules;
    try {
      // Rules computed from a half-filled index would drop kinds that are still bound.
      await this.#options.bindings.waitForSync(signal);
    } catch {
      return;
    }
    if (!rules) return waitForAbort(signal);
    let backoffMs = 1_000;
    while (!signal.aborted) {
      this.#dirty = false;
      let waitMs = rules.resyncMs ?? 5 * 60_000;
      try {
        if ((await this.syncRules(signal)) === 'missing') {
          // Not applied yet (a manifest applied after the controller started): look again soon.
          waitMs = backoffMs;
          backoffMs = Math.min(backoffMs * 2, 30_000);
        } else {
          backoffMs = 1_000;
        }
      } catch (err) {
        if (signal.aborted) return;
        this.#log.warn(
          { err, configuration: rules.configurationName, retryInMs: backoffMs },
          'cannot set the webhook rules',
        );
        waitMs = backoffMs;
        backoffMs = Math.min(backoffMs * 2, 30_000);
      }
      if (!this.#dirty) await this.#sleep(waitMs, signal);
    }
  }

  /** The rules the bindings call for: one per group/version, for CREATE and UPDATE of their subject kinds. */
  async desiredRules(_signal?: AbortSignal): Promise<WebhookRule[]> {
    const rules = this.#options.rules;
    if (!rules) return [];
    const byGroupVersion = new Map<string, Set<string>>();
    for (const type of this.subjectTypes()) {
      const key = `${type.apiVersion}/${type.kind}`;
      let resource = this.#resources.get(key);
      if (resource === undefined) {
        try {
          resource = (await rules.resourceFor(type)).resource;
          this.#resources.set(key, resource);
        } catch (err) {
          // Any other error may be transient (discovery unavailable): writing rules without the
          // kind would let its objects through unbound, so nothing is written and `start` retries.
          if (!(err instanceof NoKindMatchError)) throw err;
          // A binding naming a kind that is not served binds nothing; the others still count.
          this.#log.warn({ err, subject: key }, 'subject kind is not served; left out of the webhook rules');
          continue;
        }
      }
      let resources = byGroupVersion.get(type.apiVersion);
      if (!resources) byGroupVersion.set(type.apiVersion, (resources = new Set()));
      resources.add(resource);
    }
    return [...byGroupVersion.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([apiVersion, resources]) => {
        const { group, version } = parseApiVersion(apiVersion);
        return {
          apiGroups: [group],
          apiVersions: [version],
          operations: ['CREATE', 'UPDATE'],
          resources: [...resources].sort(),
          scope: 'Namespaced' as const,
        };
      });
  }

  /**
   * Sets the rules of the webhook configuration once, patching it only when they differ.
   * Each changed webhook is patched with a `test` of its name at its index, so a
   * concurrent reordering fails the patch instead of writing the wrong entry.
   */
  async syncRules(signal?: AbortSignal): Promise<'patched' | 'unchanged' | 'missing'> {
    const rules = this.#options.rules;
    if (!rules) return 'unchanged';
    const desired = await this.desiredRules(signal);
    const ref = {
      apiVersion: ADMISSION_REGISTRATION,
      kind: 'MutatingWebhookConfiguration',
      name: rules.configurationName,
    };
    let current: WebhookConfiguration;
    try {
      current = await rules.client.get<WebhookConfiguration>(ref, signal ? { signal } : {});
    } catch (err) {
      if (!isNotFound(err)) throw err;
      this.#log.warn({ configuration: rules.configurationName }, 'webhook configuration not found');
      return 'missing';
    }
    const ops: JsonPatchOperation[] = [];
    (current.webhooks ?? []).forEach((webhook, i) => {
      if (rules.webhookName !== undefined && webhook.name !== rules.webhookName) return;
      if (deepEqual(webhook.rules ?? [], desired)) return;
      ops.push(
        { op: 'test', path: `/webhooks/${i}/name`, value: webhook.name },
        { op: 'add', path: `/webhooks/${i}/rules`, value: desired },
      );
    });
    if (ops.length === 0) return 'unchanged';
    await rules.client.patch(ref, ops, { type: 'json', ...(signal ? { signal } : {}) });
    this.#log.info(
      { configuration: rules.configurationName, kinds: this.subjectTypes().map((t) => t.kind) },
      'webhook rules updated',
    );
    return 'patched';
  }

  async #admit(obj: KubeObject, ctx: AdmissionContext<KubeObject>): Promise<Denial | void> {
    const request = ctx.request;
    if (request.subResource !== undefined && request.subResource !== '') return;
    // Only right after a restart, and only until the first list: never answer from an empty index.
    if (!this.#options.bindings.hasSynced()) await this.#options.bindings.waitForSync(ctx.signal);
    const { group, kind } = request.kind;
    const namespace = request.namespace ?? obj.metadata.namespace ?? '';
    const entries = this.#index.get(`${group}/${kind}/${namespace}`);
    if (!entries || entries.size === 0) return;
    const name = obj.metadata.name ?? request.name ?? '';
    const matching = [...entries.values()]
      .filter((e) =>
        e.bindable.subject.name !== undefined
          ? e.bindable.subject.name === name
          : (e.selector?.matches(obj.metadata.labels) ?? false),
      )
      .sort((a, b) => a.key.localeCompare(b.key));
    if (matching.length === 0) return;
    // The request's object lacks apiVersion/kind only in malformed reviews; the view needs them.
    obj.apiVersion ??= group === '' ? request.kind.version : `${group}/${request.kind.version}`;
    obj.kind ??= kind;
    const view = podSpecable(obj);
    if (!view) {
      ctx.log.info({ kind }, 'a binding names this object, but it has no pod template; left as is');
      return;
    }
    for (const entry of matching) {
      const op = entry.deleting ? 'undo' : 'do';
      const bctx: BindingContext = { log: ctx.log.child({ binding: entry.key }), source: 'admission' };
      try {
        await entry.bindable[op](bctx, view);
      } catch (err) {
        const binding = `${this.#options.type.kind} ${entry.key}`;
        return deny(
          `${binding} cannot ${op === 'do' ? 'bind' : 'unbind'} ${kind} ${namespace}/${name}: ${(err as Error).message}`,
          { code: 422, reason: 'Invalid' },
        );
      }
    }
  }

  #upsert(binding: B): void {
    const key = `${binding.metadata.namespace ?? ''}/${binding.metadata.name ?? ''}`;
    this.#drop(key);
    let bindable: Bindable;
    try {
      bindable = this.#options.bindable(binding);
    } catch (err) {
      // The subject reconciler reports it on the binding's status.
      this.#log.info({ binding: key, reason: (err as Error).message }, 'binding cannot be applied; ignored');
      return;
    }
    const { subject } = bindable;
    const kind = `${subject.apiVersion}/${subject.kind}`;
    const where = `${parseApiVersion(subject.apiVersion).group}/${subject.kind}/${subject.namespace}`;
    let entries = this.#index.get(where);
    if (!entries) this.#index.set(where, (entries = new Map<string, IndexedBinding>()));
    entries.set(key, {
      key,
      kind,
      bindable,
      selector: subjectSelector(subject),
      deleting: binding.metadata.deletionTimestamp !== undefined,
    });
    this.#where.set(key, where);
    const counted = this.#kinds.get(kind);
    if (counted) counted.count++;
    else {
      this.#kinds.set(kind, { type: { apiVersion: subject.apiVersion, kind: subject.kind }, count: 1 });
      this.#kindsChanged();
    }
    this.#log.debug({ binding: key, subject: describeSubject(subject) }, 'binding indexed');
  }

  #remove(binding: B): void {
    this.#drop(`${binding.metadata.namespace ?? ''}/${binding.metadata.name ?? ''}`);
  }

  #drop(key: string): void {
    const where = this.#where.get(key);
    if (where === undefined) return;
    const entries = this.#index.get(where);
    const entry = entries?.get(key);
    entries?.delete(key);
    if (entries?.size === 0) this.#index.delete(where);
    this.#where.delete(key);
    const counted = entry ? this.#kinds.get(entry.kind) : undefined;
    if (entry && counted && --counted.count === 0) {
      this.#kinds.delete(entry.kind);
      this.#kindsChanged();
    }
  }

  /** Wakes the rules loop: a subject kind came or went. */
  #kindsChanged(): void {
    this.#dirty = true;
    this.#wake?.();
  }

  /** Waits `ms`, or less when a kind change wakes it (`#wake`). */
  async #sleep(ms: number, signal: AbortSignal): Promise<void> {
    const wake = new AbortController();
    this.#wake = () => wake.abort();
    await sleep(realClock, ms, AbortSignal.any([signal, wake.signal]));
    this.#wake = undefined;
  }
}

function waitForAbort(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}
