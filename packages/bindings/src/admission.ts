// The binding admission controller (knative's psbinding AdmissionController): a mutating
// webhook that binds PodSpec-able objects as they are created or updated, so a Deployment
// created after its binding starts bound. It answers from a `BindingIndex` of bindings by subject,
// kept by an informer — never an API call per request — and reprograms the rules of its
// MutatingWebhookConfiguration to the subject kinds that bindings name (`webhookRules`, one rule
// per group/version, kept by a `WebhookRulesReconciler`, written by `patchWebhookRules`), so the
// API server sends it nothing else.

import type { KubeObject, Selector, TypeRef } from '@bindery/kube';
import { deny, mutating, podSpecable } from '@bindery/runtime';
import type { AdmissionContext, AdmissionHandler, Client, Denial } from '@bindery/runtime';
import { pino } from 'pino';
import type { Logger } from 'pino';
import { describeSubject, subjectSelector } from './bindable.ts';
import type { Bindable, BindableFactory, BindingContext } from './bindable.ts';
import { BindingIndex } from './binding-index.ts';
import type { BindingInformer } from './binding-index.ts';
import { webhookRules } from './webhook-rules.ts';
import type { KnownResource, WebhookRule } from './webhook-rules.ts';
import { patchWebhookRules } from './webhook-rules-patch.ts';
import { WebhookRulesReconciler } from './webhook-rules-reconciler.ts';

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
  /**
   * The plural resource of a kind: `(t) => kubeClient.discovery.resourceFor(t)`. Only
   * `NoKindMatchError` means "not served"; any other error is transient: the kind keeps its last
   * known rule, and a kind never resolved holds back the write until discovery answers.
   */
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

interface IndexedBindable {
  /** `namespace/name` of the binding. */
  key: string;
  bindable: Bindable;
  selector: Selector | undefined;
  deleting: boolean;
}

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
  /** By `group/Kind/namespace` of the subject; kinds by `apiVersion/Kind`, as the rules name versions. */
  readonly #index: BindingIndex<B, IndexedBindable, 'subject'>;
  /** Last known resource per subject kind: a transient discovery error keeps it. */
  readonly #known = new Map<string, KnownResource>();
  /** The last rules kept a kind as last known: compute again soon rather than at the resync. */
  #incomplete = false;
  readonly #rules: WebhookRulesReconciler | undefined;

  constructor(options: BindingAdmissionControllerOptions<B>) {
    this.name = options.name ?? `${options.type.kind.toLowerCase()}-admission`;
    this.#options = options;
    this.#log = (options.log ?? pino({ name: 'bindings' })).child({ admission: this.name });
    this.handler = mutating<KubeObject>((obj, ctx) => this.#admit(obj, ctx));
    this.#index = new BindingIndex({
      entry: (binding, key) => this.#entry(binding, key),
      axes: { subject: (e) => ({ type: e.bindable.subject, namespace: e.bindable.subject.namespace }) },
      kindsByVersion: true,
    });
    this.#index.attach(options.bindings);
    const { rules } = options;
    if (rules) {
      const rulesLoop = new WebhookRulesReconciler({
        waitForSync: (signal) => this.#index.waitForSync(signal),
        // Missing: not applied yet (a manifest applied after the controller started). Incomplete: a
        // kind's lookup failed. Look again soon, either way.
        sync: async (signal) =>
          (await this.syncRules(signal)) === 'missing' || this.#incomplete ? 'retry' : 'synced',
        log: this.#log.child({ configuration: rules.configurationName }),
        ...(rules.resyncMs !== undefined ? { resyncMs: rules.resyncMs } : {}),
      });
      this.#index.onKindsChanged(() => rulesLoop.kindsChanged());
      this.#rules = rulesLoop;
    }
  }

  /** Ready once the bindings are in memory: before that it would admit objects unbound. */
  ready(): boolean {
    return this.#index.hasSynced();
  }

  /** The subject kinds that bindings name, deleting ones included (they still undo). */
  subjectTypes(): TypeRef[] {
    return this.#index.types('subject');
  }

  /** Keeps the webhook's rules in step with the bindings until `signal` aborts. */
  async start(signal: AbortSignal): Promise<void> {
    if (this.#rules) return this.#rules.start(signal);
    if (signal.aborted) return;
    return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
  }

  /**
   * The rules the bindings call for: one per group/version, for CREATE and UPDATE of their subject
   * kinds. A kind not served is left out; a transient discovery error keeps a kind's last known
   * rule, and throws for a kind never resolved, so no rules without it are written.
   */
  async desiredRules(_signal?: AbortSignal): Promise<WebhookRule[]> {
    const rules = this.#options.rules;
    if (!rules) return [];
    this.#incomplete = false;
    return webhookRules(this.subjectTypes(), {
      resourceFor: (type) => rules.resourceFor(type),
      operations: ['CREATE', 'UPDATE'],
      versions: 'named',
      lastKnown: this.#known,
      onSkip: (type, reason) =>
        this.#log.warn(
          { subject: `${type.apiVersion}/${type.kind}`, reason },
          'subject kind is not served; left out of the webhook rules',
        ),
      onTransientError: (type, err) => {
        this.#incomplete = true;
        this.#log.warn(
          { subject: `${type.apiVersion}/${type.kind}`, err },
          'subject kind kept in the webhook rules as last known: its lookup failed',
        );
      },
    });
  }

  /** Sets the rules of the webhook configuration once, patching them only when they differ. */
  async syncRules(signal?: AbortSignal): Promise<'patched' | 'unchanged' | 'missing'> {
    const rules = this.#options.rules;
    if (!rules) return 'unchanged';
    const { configurationName } = rules;
    const result = await patchWebhookRules({
      client: rules.client,
      configurationName,
      ...(rules.webhookName !== undefined ? { webhookName: rules.webhookName } : {}),
      rules: await this.desiredRules(signal),
      ...(signal ? { signal } : {}),
    });
    if (result === 'missing')
      this.#log.warn({ configuration: configurationName }, 'webhook configuration not found');
    if (result === 'patched')
      this.#log.info(
        { configuration: configurationName, kinds: this.subjectTypes().map((t) => t.kind) },
        'webhook rules updated',
      );
    return result;
  }

  async #admit(obj: KubeObject, ctx: AdmissionContext<KubeObject>): Promise<Denial | void> {
    const request = ctx.request;
    if (request.subResource !== undefined && request.subResource !== '') return;
    // Only right after a restart, and only until the first list: never answer from an empty index.
    if (!this.#index.hasSynced()) await this.#index.waitForSync(ctx.signal);
    const { group, kind } = request.kind;
    const namespace = request.namespace ?? obj.metadata.namespace ?? '';
    const name = obj.metadata.name ?? request.name ?? '';
    // Sorted by binding name: bindings apply in a stable order.
    const matching = this.#index
      .lookup('subject', group, kind, namespace)
      .filter((e) =>
        e.bindable.subject.name !== undefined
          ? e.bindable.subject.name === name
          : (e.selector?.matches(obj.metadata.labels) ?? false),
      );
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

  #entry(binding: B, key: string): IndexedBindable | undefined {
    let bindable: Bindable;
    try {
      bindable = this.#options.bindable(binding);
    } catch (err) {
      // The subject reconciler reports it on the binding's status.
      this.#log.info({ binding: key, reason: (err as Error).message }, 'binding cannot be applied; ignored');
      return undefined;
    }
    this.#log.debug({ binding: key, subject: describeSubject(bindable.subject) }, 'binding indexed');
    return {
      key,
      bindable,
      selector: subjectSelector(bindable.subject),
      deleting: binding.metadata.deletionTimestamp !== undefined,
    };
  }
}
