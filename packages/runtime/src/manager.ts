import type { Server } from 'node:http';
import { hostname } from 'node:os';
import {
  EventRecorder,
  LeaderElector,
  SharedInformerFactory,
  StringInterner,
  realClock,
  stripManagedFields,
} from '@bindery/kube';
import type { Clock, KubeClient, SharedInformer, TransformFunc, TypeRef } from '@bindery/kube';
import { pino } from 'pino';
import type { Logger } from 'pino';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { CachedClient } from './cached-client.ts';
import type { Config, Recorder } from './config.ts';
import type { Controller, ControllerHost } from './controller.ts';
import { controllerMetrics } from './metrics.ts';
import { Tracker } from './tracker.ts';

// Not `import { createServer } from 'node:http'`: an ES module import of node:http evaluates every
// export, and its WebSocket/EventSource getters load Node's internal copy of undici (9 MiB of RSS).
const { createServer } = process.getBuiltinModule('node:http');

/** Something the manager runs: on every replica, or only on the leader. */
export interface Runnable {
  name: string;
  /** Runs until the signal aborts. */
  start(signal: AbortSignal): Promise<void>;
  /** Only on the elected leader (default false: every replica, like webhooks and caches). */
  needLeaderElection?: boolean;
  /** For `/readyz`; a runnable without it counts as ready. */
  ready?(): boolean;
}

export interface LeaderElectionOptions {
  /** The Lease: `<namespace>/<name>`. */
  namespace: string;
  name: string;
  /** Default: hostname + random suffix, unique per process. */
  identity?: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
}

export interface ManagerOptions {
  client: KubeClient;
  /** Names the manager in events (`reportingController`) and logs. Default `bindery`. */
  name?: string;
  log?: Logger;
  /** Metrics registry; default a new one with process metrics. */
  registry?: Registry;
  clock?: Clock;
  /** Off by default; run two replicas only with it on. */
  leaderElection?: LeaderElectionOptions | false;
  /** `/metrics`; default `0.0.0.0:8080`. Port 0 picks a free one (see `metricsAddress`). */
  metrics?: { host?: string; port: number } | false;
  /** `/healthz` and `/readyz`; default `0.0.0.0:8081`. */
  health?: { host?: string; port: number } | false;
  /** How long shutdown waits for in-flight reconciles before giving up on them. Default 30 s. */
  gracefulShutdownTimeoutMs?: number;
  recorder?: Recorder;
  /**
   * What every cache keeps of an object, unless its informer is asked for with its own transform
   * (controller-runtime's `DefaultTransform`). Default `stripManagedFields`; `false` keeps objects
   * whole.
   */
  cacheTransform?: TransformFunc | false;
  /**
   * One copy of each repeated string value across all the manager's caches (a bounded
   * `StringInterner`), after whatever transform each applies. Default true.
   */
  internStrings?: boolean;
  /**
   * How often every informer hands each cached object to its handlers again (controller-runtime's
   * `SyncPeriod`), so every object is reconciled at least this often even when nothing changes:
   * the tracker's leases and anything that waits on a change no watch reports rely on it.
   * Default 10 h, as controller-runtime; 0 turns it off.
   */
  syncPeriodMs?: number;
  /**
   * How long a read through the cached client waits for the first list of a kind it has not
   * cached yet before failing (a kind that may not be listed never syncs). Default 30 s.
   */
  cacheSyncTimeoutMs?: number;
}

/** controller-runtime's default SyncPeriod. */
export const defaultSyncPeriodMs = 10 * 60 * 60 * 1000;

/** Report of one health or readiness check. */
type Check = () => boolean;

/**
 * controller-runtime's Manager: shared caches, controllers, webhooks and servers
 * in one process. Caches and webhooks run on every replica; controllers and
 * leader runnables only while this replica holds the Lease.
 */
export class Manager {
  readonly client: KubeClient;
  readonly informers: SharedInformerFactory;
  readonly cachedClient: CachedClient;
  readonly config: Config;
  readonly registry: Registry;
  readonly log: Logger;
  readonly #options: ManagerOptions;
  readonly #controllers: Controller[] = [];
  readonly #runnables: Runnable[] = [];
  readonly #healthChecks = new Map<string, Check>();
  readonly #readyChecks = new Map<string, Check>();
  readonly #stop = new AbortController();
  readonly #servers: Server[] = [];
  /** The informers that existed once the controllers were set up; undefined before. */
  #atStart: SharedInformer[] | undefined;
  #recorder: EventRecorder | undefined;
  #leading = false;
  #metricsAddress: { host: string; port: number } | undefined;
  #healthAddress: { host: string; port: number } | undefined;

  constructor(options: ManagerOptions) {
    this.#options = options;
    this.client = options.client;
    this.log = options.log ?? pino({ name: options.name ?? 'bindery' });
    this.registry = options.registry ?? defaultRegistry();
    const transform = options.cacheTransform ?? stripManagedFields;
    const syncPeriodMs = options.syncPeriodMs ?? defaultSyncPeriodMs;
    this.informers = new SharedInformerFactory({
      client: options.client,
      ...(transform ? { transform } : {}),
      ...(options.internStrings !== false && { interner: new StringInterner() }),
      ...(syncPeriodMs > 0 ? { resyncPeriodMs: syncPeriodMs } : {}),
      onError: (err, context) => this.log.warn({ err, context }, 'informer error; retrying'),
    });
    this.cachedClient = new CachedClient({
      client: options.client,
      informers: this.informers,
      signal: this.#stop.signal,
      ...(options.cacheSyncTimeoutMs !== undefined ? { syncTimeoutMs: options.cacheSyncTimeoutMs } : {}),
    });
    const clock = options.clock ?? realClock;
    let recorder = options.recorder;
    if (!recorder) {
      this.#recorder = new EventRecorder({
        client: options.client,
        reportingController: `${options.name ?? 'bindery'}`,
        reportingInstance: options.leaderElection
          ? (options.leaderElection.identity ?? defaultIdentity)
          : hostname(),
        onError: (err) => this.log.warn({ err }, 'event not recorded'),
      });
      recorder = this.#recorder;
    }
    this.config = {
      client: this.cachedClient,
      apiReader: options.client,
      recorder,
      tracker: new Tracker({ clock }),
      clock,
      log: this.log,
    };
    // Only the caches the controllers need at start: an informer started later on demand (a kind a
    // binding names) may never sync or may keep failing, and that must not take the replica out of
    // service or get it restarted; whoever started it reports on it.
    this.addReadyCheck('informers', () => this.#startupInformers().every((i) => i.hasSynced()));
    this.addHealthCheck('watches', () =>
      // A watch failing again and again for minutes is a stuck replica: restart it.
      this.#startupInformers().every((i) => i.state.consecutiveFailures < 20),
    );
  }

  add(controller: Controller): void {
    this.#controllers.push(controller);
  }

  addRunnable(runnable: Runnable): void {
    this.#runnables.push(runnable);
    if (runnable.ready) this.addReadyCheck(runnable.name, () => runnable.ready?.() ?? true);
  }

  addHealthCheck(name: string, check: Check): void {
    this.#healthChecks.set(name, check);
  }

  addReadyCheck(name: string, check: Check): void {
    this.#readyChecks.set(name, check);
  }

  /** The informer behind the cache for `type`, to add indexes or handlers. */
  informer(type: TypeRef, metadataOnly = false): ReturnType<SharedInformerFactory['informerFor']> {
    return this.informers.informerFor({ type, ...(metadataOnly ? { metadataOnly } : {}) });
  }

  get leading(): boolean {
    return this.#leading;
  }

  get metricsAddress(): { host: string; port: number } | undefined {
    return this.#metricsAddress;
  }

  get healthAddress(): { host: string; port: number } | undefined {
    return this.#healthAddress;
  }

  /**
   * Runs everything until the signal aborts, then shuts down in order: stop
   * taking work, drain in-flight reconciles, release the Lease, stop webhooks,
   * caches and servers. Rejects if leadership is lost (the process should exit,
   * as controller-runtime's does, so a fresh one rejoins the election).
   */
  async start(signal: AbortSignal): Promise<void> {
    const log = this.log;
    const onAbort = (): void => this.#stop.abort(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    if (signal.aborted) onAbort();
    await this.#startServers();
    this.informers.start(this.#stop.signal);
    const host: ControllerHost = {
      config: this.config,
      log,
      metrics: controllerMetrics(this.registry),
      registry: this.registry,
      clock: this.config.clock,
      informer: (type, metadataOnly) => this.informer(type, metadataOnly ?? false),
    };
    for (const c of this.#controllers) await c.setup(host);
    this.#atStart = this.informers.informers();

    // Every replica: webhooks, caches, and runnables that need no leadership.
    const everywhere = this.#runnables
      .filter((r) => !r.needLeaderElection)
      .map((r) => this.#run(r, this.#stop.signal));

    const leaderWork = new AbortController();
    const onStop = (): void => leaderWork.abort();
    this.#stop.signal.addEventListener('abort', onStop, { once: true });
    let lostLeadership = false;
    const runLeaderWork = async (leaderSignal: AbortSignal): Promise<void> => {
      this.#leading = true;
      const both = AbortSignal.any([leaderSignal, leaderWork.signal]);
      log.info('leading: starting controllers');
      await Promise.all([
        ...this.#controllers.map((c) => this.#run({ name: c.name, start: (s) => c.run(s) }, both)),
        ...this.#runnables.filter((r) => r.needLeaderElection).map((r) => this.#run(r, both)),
      ]);
      this.#leading = false;
    };

    let leaderDone: Promise<void>;
    const election = this.#options.leaderElection;
    if (election) {
      const elector = new LeaderElector({
        client: this.client,
        lock: { namespace: election.namespace, name: election.name },
        identity: election.identity ?? defaultIdentity,
        ...(election.leaseDurationMs ? { leaseDurationMs: election.leaseDurationMs } : {}),
        ...(election.renewDeadlineMs ? { renewDeadlineMs: election.renewDeadlineMs } : {}),
        ...(election.retryPeriodMs ? { retryPeriodMs: election.retryPeriodMs } : {}),
        releaseOnCancel: true,
        onStartedLeading: (leaderSignal) => {
          void runLeaderWork(leaderSignal).catch((err: unknown) => log.error({ err }, 'leader work failed'));
        },
        onStoppedLeading: () => {
          if (!this.#stop.signal.aborted) {
            lostLeadership = true;
            log.error('leader election lost');
            this.#stop.abort(new Error('leader election lost'));
          }
        },
      });
      this.addHealthCheck('leader-election', () => elector.check(20_000));
      // The elector runs until after the controllers drained, so the Lease is released last.
      const electorStop = new AbortController();
      const electorDone = elector.run(electorStop.signal);
      leaderDone = (async () => {
        await new Promise<void>((resolve) =>
          this.#stop.signal.aborted
            ? resolve()
            : this.#stop.signal.addEventListener('abort', () => resolve(), { once: true }),
        );
        await this.#drain();
        electorStop.abort();
        await electorDone;
      })();
    } else {
      leaderDone = (async () => {
        await runLeaderWork(this.#stop.signal);
        await this.#drain();
      })();
    }

    await leaderDone;
    await Promise.allSettled(everywhere);
    await this.informers.shutdown();
    await this.#recorder?.shutdown();
    await this.#stopServers();
    signal.removeEventListener('abort', onAbort);
    log.info('manager stopped');
    if (lostLeadership) throw new Error('leader election lost');
  }

  #startupInformers(): SharedInformer[] {
    return this.#atStart ?? this.informers.informers();
  }

  /** Waits for in-flight reconciles to finish, up to the graceful shutdown timeout. */
  async #drain(): Promise<void> {
    const timeout = this.#options.gracefulShutdownTimeoutMs ?? 30_000;
    const drained = Promise.all(this.#controllers.map((c) => c.queue.shutDownWithDrain()));
    const timedOut = new Promise<'timeout'>((resolve) => setTimeout(resolve, timeout, 'timeout').unref());
    if ((await Promise.race([drained, timedOut])) === 'timeout') {
      this.log.warn({ timeoutMs: timeout }, 'shutdown timed out waiting for in-flight reconciles');
    }
  }

  async #run(runnable: Runnable, signal: AbortSignal): Promise<void> {
    try {
      await runnable.start(signal);
    } catch (err) {
      if (signal.aborted) return;
      this.log.error({ err, runnable: runnable.name }, 'runnable failed; stopping the manager');
      this.#stop.abort(err);
    }
  }

  async #startServers(): Promise<void> {
    const metrics = this.#options.metrics ?? { port: 8080 };
    if (metrics) {
      this.#metricsAddress = await this.#listen(metrics, async (path) =>
        path === '/metrics'
          ? { code: 200, type: this.registry.contentType, body: await this.registry.metrics() }
          : undefined,
      );
    }
    const health = this.#options.health ?? { port: 8081 };
    if (health) {
      this.#healthAddress = await this.#listen(health, (path) => {
        if (path === '/healthz' || path === '/livez') return Promise.resolve(checkReport(this.#healthChecks));
        if (path === '/readyz') return Promise.resolve(checkReport(this.#readyChecks));
        return Promise.resolve(undefined);
      });
    }
  }

  async #listen(
    address: { host?: string; port: number },
    route: (path: string) => Promise<{ code: number; type: string; body: string } | undefined>,
  ): Promise<{ host: string; port: number }> {
    const server = createServer((req, res) => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      route(path)
        .then((answer) => {
          const a = answer ?? { code: 404, type: 'text/plain', body: `no handler for ${path}\n` };
          res.writeHead(a.code, { 'content-type': a.type }).end(a.body);
        })
        .catch((err: unknown) => {
          this.log.error({ err, path }, 'serving failed');
          res.writeHead(500, { 'content-type': 'text/plain' }).end('internal error\n');
        });
    });
    const host = address.host ?? '0.0.0.0';
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(address.port, host, resolve);
    });
    this.#servers.push(server);
    return { host, port: (server.address() as { port: number }).port };
  }

  async #stopServers(): Promise<void> {
    await Promise.all(
      this.#servers.splice(0).map(
        (s) =>
          new Promise<void>((resolve) => {
            s.close(() => resolve());
            s.closeAllConnections();
          }),
      ),
    );
  }
}

const defaultIdentity = `${hostname()}_${Math.random().toString(36).slice(2, 10)}`;

function defaultRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return registry;
}

/** The API server's own `/healthz?verbose` format: one `[+]name ok` line per check. */
function checkReport(checks: Map<string, Check>): { code: number; type: string; body: string } {
  const lines: string[] = [];
  let ok = true;
  for (const [name, check] of checks) {
    let passed: boolean;
    try {
      passed = check();
    } catch {
      passed = false;
    }
    ok &&= passed;
    lines.push(`[${passed ? '+' : '-'}]${name} ${passed ? 'ok' : 'failed'}`);
  }
  lines.push(ok ? 'ok' : 'check failed');
  return { code: ok ? 200 : 500, type: 'text/plain; charset=utf-8', body: `${lines.join('\n')}\n` };
}
