import { randomUUID } from 'node:crypto';
import { WorkQueue, isTombstone, objectKey, parseApiVersion, splitObjectKey } from '@bindery/kube';
import type { Clock, EventHandler, KubeObject, RateLimiter, TypeRef } from '@bindery/kube';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Config } from './config.ts';
import type { ControllerMetrics } from './metrics.ts';
import type { Builder, MapFunc, Reconciler, Request } from './reconciler.ts';
import { Stash } from './stash.ts';

export interface ControllerOptions {
  /** Names the controller in logs, metrics and its work queue. */
  name: string;
  /** The type the reconciler reconciles: its changes enqueue its own key. */
  for: TypeRef;
  reconciler: Reconciler;
  /** Reconciles at once; a key is never reconciled by two workers together. Default 1. */
  workers?: number;
  rateLimiter?: RateLimiter<string>;
  /** Watch `for` as metadata only (the reconciler then reads what it needs). */
  metadataOnly?: boolean;
}

/** What a controller needs from the manager that runs it. */
export interface ControllerHost {
  config: Config;
  log: Logger;
  metrics: ControllerMetrics;
  /** Where the work queue registers its `workqueue_*` metrics. */
  registry?: Registry;
  clock?: Clock;
  /** Informer of `type`, shared with every other user of it. */
  informer(
    type: TypeRef,
    metadataOnly?: boolean,
  ): {
    addEventHandler(handler: EventHandler<KubeObject>): unknown;
    addIndexers(indexers: Record<string, (obj: KubeObject) => string[]>): void;
    hasSynced(): boolean;
    waitForSync(signal?: AbortSignal): Promise<void>;
  };
}

interface Watch {
  type: TypeRef;
  map: MapFunc;
  metadataOnly: boolean;
}

/**
 * A work queue fed by informer events and drained by N workers that each call the
 * reconciler for one key. A failure (thrown) requeues the key with per-item
 * backoff; an exception never leaves the worker loop.
 */
export class Controller {
  readonly name: string;
  readonly #options: ControllerOptions;
  readonly #watches: Watch[] = [];
  readonly #indexes: Array<{ type: TypeRef; name: string; fn: (obj: KubeObject) => string[] }> = [];
  #host: ControllerHost | undefined;
  #queue: WorkQueue<string> | undefined;
  #inFlight = 0;

  constructor(options: ControllerOptions) {
    this.name = options.name;
    this.#options = options;
  }

  /** The controller's work queue; exists once `setup()` ran, because its metrics and clock come from the host. */
  get queue(): WorkQueue<string> {
    if (!this.#queue) throw new Error(`controller ${this.name}: setup() was not called`);
    return this.#queue;
  }

  /** Keys being reconciled now. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Enqueues a request from outside the watches (a webhook, a timer). */
  enqueue(request: Request): void {
    this.queue.add(objectKey(request));
  }

  /** Collects the reconciler's watches and registers event handlers; runs on every replica. */
  async setup(host: ControllerHost): Promise<void> {
    this.#host = host;
    this.#queue = new WorkQueue<string>({
      name: this.name,
      ...(this.#options.rateLimiter ? { rateLimiter: this.#options.rateLimiter } : {}),
      ...(host.clock ? { clock: host.clock } : {}),
      ...(host.registry ? { metrics: host.registry } : {}),
    });
    const builder: Builder = {
      owns: (type) =>
        this.#watches.push({
          type,
          map: (obj) => ownerRequests(obj, this.#options.for),
          metadataOnly: false,
        }),
      watches: (type, map, options) =>
        this.#watches.push({ type, map, metadataOnly: options?.metadataOnly ?? false }),
      index: (type, name, fn) => this.#indexes.push({ type, name, fn }),
    };
    await this.#options.reconciler.setup?.({
      config: host.config,
      builder,
      log: host.log.child({ controller: this.name }),
      resourceType: this.#options.for,
    });
    for (const { type, name, fn } of this.#indexes) host.informer(type).addIndexers({ [name]: fn });
    const own = (obj: KubeObject): Request[] => [splitObjectKey(objectKey(obj))];
    this.#handle(host.informer(this.#options.for, this.#options.metadataOnly), own);
    for (const w of this.#watches) this.#handle(host.informer(w.type, w.metadataOnly), w.map);
  }

  /** Waits for its caches, then reconciles until the signal aborts; drains in-flight work before returning. */
  async run(signal: AbortSignal): Promise<void> {
    const host = this.#host;
    if (!host) throw new Error(`controller ${this.name}: setup() was not called`);
    const log = host.log.child({ controller: this.name });
    const types = [
      { type: this.#options.for, metadataOnly: this.#options.metadataOnly ?? false },
      ...this.#watches,
    ];
    await Promise.all(types.map((t) => host.informer(t.type, t.metadataOnly).waitForSync(signal)));
    log.info({ workers: this.#options.workers ?? 1 }, 'starting workers');
    const onAbort = (): void => this.queue.shutDown();
    signal.addEventListener('abort', onAbort, { once: true });
    const workers = Array.from({ length: this.#options.workers ?? 1 }, () => this.#worker(host, log, signal));
    await Promise.all(workers);
    signal.removeEventListener('abort', onAbort);
    log.info('workers stopped');
  }

  #handle(informer: ReturnType<ControllerHost['informer']>, map: MapFunc): void {
    const enqueue = (obj: KubeObject): void => {
      let requests: Request[];
      try {
        requests = map(obj);
      } catch (err) {
        this.#host?.log.error({ err, controller: this.name }, 'watch mapping function failed');
        return;
      }
      for (const r of requests) this.queue.add(objectKey(r));
    };
    informer.addEventHandler({
      onAdd: (obj) => enqueue(obj),
      onUpdate: (oldObj, newObj) => {
        enqueue(newObj);
        // A mapping that depends on labels or references may now point elsewhere.
        if (oldObj !== newObj) enqueue(oldObj);
      },
      onDelete: (obj) => enqueue(isTombstone(obj) ? obj.obj : obj),
    });
  }

  async #worker(host: ControllerHost, log: Logger, signal: AbortSignal): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      this.#inFlight++;
      try {
        await this.#reconcileKey(host, log, key, signal);
      } finally {
        this.#inFlight--;
        this.queue.done(key);
      }
    }
  }

  async #reconcileKey(host: ControllerHost, log: Logger, key: string, signal: AbortSignal): Promise<void> {
    const request = splitObjectKey(key);
    const reqLog = log.child({ reconcileID: randomUUID(), ...request });
    const started = performance.now();
    const labels = { controller: this.name };
    try {
      const result = await this.#options.reconciler.reconcile(
        {
          config: host.config,
          originalConfig: host.config,
          stash: new Stash(),
          signal,
          log: reqLog,
          request,
          resourceType: this.#options.for,
        },
        request,
      );
      if (result.requeueAfterMs !== undefined && result.requeueAfterMs > 0) {
        this.queue.forget(key);
        this.queue.addAfter(key, result.requeueAfterMs);
        host.metrics.reconcileTotal.inc({ ...labels, result: 'requeue_after' });
      } else if (result.requeue) {
        this.queue.addRateLimited(key);
        host.metrics.reconcileTotal.inc({ ...labels, result: 'requeue' });
      } else {
        this.queue.forget(key);
        host.metrics.reconcileTotal.inc({ ...labels, result: 'success' });
      }
    } catch (err) {
      host.metrics.reconcileTotal.inc({ ...labels, result: 'error' });
      host.metrics.reconcileErrors.inc(labels);
      if (signal.aborted) return;
      reqLog.error({ err }, 'reconcile failed; requeued with backoff');
      this.queue.addRateLimited(key);
    } finally {
      host.metrics.reconcileTime.observe(labels, (performance.now() - started) / 1000);
    }
  }
}

/** The controller owner of `obj`, if it is of type `owner`. */
export function ownerRequests(obj: KubeObject, owner: TypeRef): Request[] {
  // Any version of the owner's group: an ownerReference may name an older version.
  const group = parseApiVersion(owner.apiVersion).group;
  const ref = obj.metadata.ownerReferences?.find(
    (r) => r.controller === true && r.kind === owner.kind && parseApiVersion(r.apiVersion).group === group,
  );
  if (!ref) return [];
  return [{ ...(obj.metadata.namespace ? { namespace: obj.metadata.namespace } : {}), name: ref.name }];
}
