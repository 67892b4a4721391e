// The manager process of the convergence and memory benches: a `Manager` with only the
// ServiceBinding controller (defaults: 2 workers, the 6 workload kinds, Secret metadata; metrics and
// health servers on, logs silent), answering the bench over IPC.
//
// It imports only what the production image installs (`@bindery/*`, `pino`, Node's builtins), so
// `manager-process.ts` can run it against the packed, compiled packages exactly as the image runs
// them (type-stripped once by the bench, then plain JavaScript), or against the sources.
//
// Requests are counted on the HTTP client's diagnostics channels: undici's `undici:request:create`
// and node:http's `http.client.request.start` (whichever the transport uses; each request is seen
// by one of them), every request sent, retries included.
// Run by the benches only: node bench/manager-child.ts <kubeconfig>
import { readFileSync } from 'node:fs';
import { subscribe } from 'node:diagnostics_channel';
import { setTimeout as sleep } from 'node:timers/promises';
import { writeHeapSnapshot } from 'node:v8';
import { KubeClient } from '@bindery/kube';
import { Manager } from '@bindery/runtime';
import { addServiceBindingController } from '@bindery/servicebinding';
import { pino } from 'pino';

export type Counts = Record<string, number>;

export interface MemoryFigures {
  rssMiB: number;
  heapUsedMiB: number;
  /** What V8 holds for its heap, used or not. */
  heapTotalMiB: number;
  externalMiB: number;
  /** RSS in anonymous memory (heap, malloc) and in mapped files (the node binary's code), from /proc. */
  rssAnonMiB: number;
  rssFileMiB: number;
  /** RSS of `[heap]`: glibc malloc's main arena (the other arenas are anonymous mappings). */
  brkMiB: number;
}

/** What the manager's process reports when asked. */
export interface ManagerReport {
  /** `VERB resource[/subresource]` → requests sent since spawn. */
  requests: Counts;
  reconciles: number;
  reconcileErrors: number;
  /** Keys ready in the work queue. */
  queueLength: number;
  /** Every informer started and synced. */
  synced: boolean;
  /** Cached objects per informer, `kind` → count. */
  cached: Counts;
  memory: MemoryFigures;
  /** After a full GC, when asked for (`gc: true`; needs `--expose-gc`). */
  afterGc?: MemoryFigures;
  /** The most the process ever held (`getrusage` maxrss). */
  peakRssMiB: number;
  /** ms since spawn of the last request sent. */
  lastRequestMs: number;
  /** ms since the last request was sent. */
  quietMs: number;
  cpuMs: number;
}

export type ToManager = { type: 'report'; gc?: boolean; heapSnapshotDir?: string } | { type: 'stop' };
export type FromManager = { type: 'ready'; syncedMs: number } | ({ type: 'report' } & ManagerReport);

/** `VERB resource[/subresource]`, with LIST and WATCH told apart from GET; discovery lumped. */
export function classify(method: string, path: string): string {
  const [p = '', query = ''] = path.split('?');
  const s = p.split('/').filter(Boolean);
  const prefix = s[0] === 'api' ? 2 : s[0] === 'apis' ? 3 : 0;
  if (prefix === 0 || s.length <= prefix) return `${method} discovery`;
  let rest = s.slice(prefix);
  if (rest[0] === 'namespaces' && rest.length >= 3) rest = rest.slice(2);
  const [resource, name, sub] = rest;
  const verb =
    method !== 'GET'
      ? method
      : /(^|&)watch=(true|1)/.test(query)
        ? 'WATCH'
        : name === undefined
          ? 'LIST'
          : 'GET';
  return `${verb} ${resource ?? ''}${sub ? `/${sub}` : ''}`;
}

const mib = (m: NodeJS.MemoryUsage): MemoryFigures => {
  const status = readFileSync('/proc/self/status', 'utf8');
  const kib = (field: string): number =>
    Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return {
    rssMiB: m.rss / 2 ** 20,
    heapUsedMiB: m.heapUsed / 2 ** 20,
    heapTotalMiB: m.heapTotal / 2 ** 20,
    externalMiB: m.external / 2 ** 20,
    rssAnonMiB: kib('RssAnon') / 1024,
    rssFileMiB: kib('RssFile') / 1024,
    brkMiB: brkRssKiB() / 1024,
  };
};

function brkRssKiB(): number {
  const smaps = readFileSync('/proc/self/smaps', 'utf8');
  const start = smaps.search(/^\S+ \S+ \S+ \S+ \S+\s+\[heap\]$/m);
  if (start < 0) return 0;
  return Number(/^Rss:\s+(\d+) kB/m.exec(smaps.slice(start))?.[1] ?? NaN);
}

async function main(kubeconfig: string): Promise<void> {
  const started = performance.now();
  const requests: Counts = {};
  let lastRequest = started;
  const count = (method: string, path: string): void => {
    const key = classify(method, path);
    requests[key] = (requests[key] ?? 0) + 1;
    lastRequest = performance.now();
  };
  subscribe('undici:request:create', (message) => {
    const { request } = message as { request: { method: string; path: string } };
    count(request.method, request.path);
  });
  subscribe('http.client.request.start', (message) => {
    const { request } = message as { request: { method: string; path: string } };
    count(request.method, request.path);
  });
  const client = KubeClient.fromKubeConfig({ kubeconfig });
  const manager = new Manager({
    client,
    name: 'servicebinding',
    log: pino({ level: 'silent' }),
    metrics: { host: '127.0.0.1', port: 0 },
    health: { host: '127.0.0.1', port: 0 },
  });
  const controller = addServiceBindingController(manager);
  const stop = new AbortController();
  const running = manager.start(stop.signal);
  // Synced: the ServiceBinding informer, 6 workload kinds, mappings and Secret metadata.
  const synced = (): boolean => {
    const informers = manager.informers.informers();
    return informers.length >= 9 && informers.every((i) => i.hasSynced());
  };
  while (!synced()) await sleep(20);
  process.send?.({ type: 'ready', syncedMs: performance.now() - started } satisfies FromManager);

  const sum = async (metric: string): Promise<number> => {
    const values = (await manager.registry.getSingleMetric(metric)?.get())?.values ?? [];
    return values.reduce((n, v) => n + v.value, 0);
  };
  const report = async (msg: Extract<ToManager, { type: 'report' }>): Promise<ManagerReport> => {
    const memory = mib(process.memoryUsage());
    // Before the snapshot, which takes memory of its own.
    const peakRssMiB = process.resourceUsage().maxRSS / 1024;
    let afterGc: MemoryFigures | undefined;
    if (msg.gc) {
      const gc = (globalThis as { gc?: () => void }).gc;
      if (!gc) throw new Error('a report after a GC needs --expose-gc');
      gc();
      afterGc = mib(process.memoryUsage());
    }
    if (msg.heapSnapshotDir)
      console.error(
        `  heap snapshot: ${writeHeapSnapshot(`${msg.heapSnapshotDir}/manager-${process.pid}.heapsnapshot`)}`,
      );
    const cached: Counts = {};
    for (const i of manager.informers.informers())
      cached[i.type.kind] = (cached[i.type.kind] ?? 0) + i.indexer.size;
    const cpu = process.cpuUsage();
    return {
      requests: { ...requests },
      reconciles: await sum('controller_runtime_reconcile_total'),
      reconcileErrors: await sum('controller_runtime_reconcile_errors_total'),
      queueLength: controller.queue.length,
      synced: synced(),
      cached,
      memory,
      ...(afterGc && { afterGc }),
      peakRssMiB,
      lastRequestMs: lastRequest - started,
      quietMs: performance.now() - lastRequest,
      cpuMs: (cpu.user + cpu.system) / 1000,
    };
  };
  process.on('message', (msg: ToManager) => {
    if (msg.type === 'stop') {
      stop.abort();
      void running.finally(() => client.close()).finally(() => process.exit(0));
      return;
    }
    void report(msg).then((r) => process.send?.({ type: 'report', ...r } satisfies FromManager));
  });
  // The parent going away (a killed bench) ends the manager too.
  process.on('disconnect', () => process.exit(0));
}

if (import.meta.main) await main(process.argv[2] as string);
