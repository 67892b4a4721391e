// ServiceBinding convergence on a real control plane: N direct-Secret ServiceBindings, each
// naming one Deployment, time until every binding is Ready=True and every Deployment's pod
// template carries its projection, and the API requests the manager issued per binding.
//
// Scenarios: `burst` (default) starts the manager in a fresh process on an empty namespace,
// waits until its caches have synced, then creates the N Secrets, Deployments and bindings at
// once (`BENCH_CONCURRENCY` in flight, default 32; each index creates its Secret, then its
// Deployment, then its binding); the clock starts at the first create. `backlog` creates
// everything first and starts the clock when the manager's process is spawned.
// Each run gets a fresh control plane: namespaces are never finalized there, and a manager
// that saw an earlier run's bindings would reconcile them too.
//
// Requests are counted in the manager's process on undici's `undici:request:create` diagnostics
// channel (every HTTP request sent, retries included), and cross-checked with the API server's
// `apiserver_request_total` for the writes only the manager makes (the bench process only creates
// and watches).
// Run: node bench/convergence.bench.ts [N] [runs] [burst|backlog]
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { subscribe } from 'node:diagnostics_channel';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ControlPlane } from '@bindery/controlplane';
import { KubeClient, SharedInformer } from '@bindery/kube';
import { benchDeployment, deploymentType } from './fixtures.ts';
import type { KubeObject, TypeRef } from '@bindery/kube';
import { Manager } from '@bindery/runtime';
import {
  addServiceBindingController,
  clusterWorkloadResourceMappingCRD,
  serviceBindingCRD,
  serviceBindingType,
} from '@bindery/servicebinding';
import { pino } from 'pino';
import { cpuSeconds, loadavg } from './proc.ts';
import { machine, median } from './stats.ts';

type Scenario = 'burst' | 'backlog';
type Counts = Record<string, number>;

const ns = 'bench-convergence';
const secretType: TypeRef = { apiVersion: 'v1', kind: 'Secret' };

/** What the manager's process reports when asked. */
interface ChildReport {
  requests: Counts;
  reconciles: number;
  reconcileErrors: number;
  rssMiB: number;
  /** The most the process ever held (`getrusage` maxrss). */
  peakRssMiB: number;
  heapUsedMiB: number;
  /** ms since the last request was sent: the parent waits for quiet before the final count. */
  quietMs: number;
  cpuMs: number;
}

type ToChild = { type: 'report' } | { type: 'stop' };
type FromChild = { type: 'ready'; syncedMs: number } | ({ type: 'report' } & ChildReport);

if (process.argv[2] === '--child') await child(process.argv[3] as string);

/** The manager, in its own process: only the ServiceBinding controller, as in production. */
async function child(kubeconfig: string): Promise<never> {
  const started = performance.now();
  const requests: Counts = {};
  let lastRequest = performance.now();
  subscribe('undici:request:create', (message) => {
    const { request } = message as { request: { method: string; path: string } };
    const key = classify(request.method, request.path);
    requests[key] = (requests[key] ?? 0) + 1;
    lastRequest = performance.now();
  });
  const client = KubeClient.fromKubeConfig({ kubeconfig });
  const manager = new Manager({
    client,
    name: 'servicebinding',
    log: pino({ level: 'silent' }),
    metrics: { host: '127.0.0.1', port: 0 },
    health: { host: '127.0.0.1', port: 0 },
  });
  addServiceBindingController(manager);
  const stop = new AbortController();
  const running = manager.start(stop.signal);
  // Synced: the ServiceBinding informer, 6 workload kinds, mappings and Secret metadata.
  while (
    manager.informers.informers().length < 9 ||
    !manager.informers.informers().every((i) => i.hasSynced())
  )
    await new Promise((resolve) => setTimeout(resolve, 20));
  send({ type: 'ready', syncedMs: performance.now() - started });

  process.on('message', (msg: ToChild) => {
    if (msg.type === 'stop') {
      stop.abort();
      void running.finally(() => client.close()).finally(() => process.exit(0));
      return;
    }
    void (async () => {
      const reconcile = await manager.registry.getSingleMetric('controller_runtime_reconcile_total')?.get();
      const errors = await manager.registry
        .getSingleMetric('controller_runtime_reconcile_errors_total')
        ?.get();
      const sum = (values: Array<{ value: number }> | undefined): number =>
        (values ?? []).reduce((n, v) => n + v.value, 0);
      const mem = process.memoryUsage();
      const cpu = process.cpuUsage();
      send({
        type: 'report',
        requests: { ...requests },
        reconciles: sum(reconcile?.values),
        reconcileErrors: sum(errors?.values),
        rssMiB: mem.rss / 2 ** 20,
        peakRssMiB: process.resourceUsage().maxRSS / 1024,
        heapUsedMiB: mem.heapUsed / 2 ** 20,
        quietMs: performance.now() - lastRequest,
        cpuMs: (cpu.user + cpu.system) / 1000,
      });
    })();
  });
  return new Promise<never>(() => undefined);
}

function send(msg: FromChild): void {
  process.send?.(msg);
}

/** `VERB resource[/subresource]`, with LIST and WATCH told apart from GET; discovery lumped. */
function classify(method: string, path: string): string {
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

// ---- The bench process: control plane, objects, convergence -----------------------------------

function secret(i: number): KubeObject {
  return {
    ...secretType,
    metadata: { name: `db-${i}`, namespace: ns },
    type: 'servicebinding.io/postgresql',
    stringData: { type: 'postgresql', host: `db-${i}.example.com`, username: 'app', password: 'secret' },
  };
}

function deployment(i: number): KubeObject {
  return benchDeployment(`app-${i}`, ns, { app: `app-${i}` });
}

function binding(i: number): KubeObject {
  return {
    ...serviceBindingType,
    metadata: { name: `app-${i}`, namespace: ns },
    spec: {
      service: { apiVersion: 'v1', kind: 'Secret', name: `db-${i}` },
      workload: { apiVersion: 'apps/v1', kind: 'Deployment', name: `app-${i}` },
    },
  };
}

/** Index i: its Secret, then its Deployment, then its binding, so no binding waits on a missing object. */
async function createAll(client: KubeClient, count: number, concurrency: number): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < count; i = next++) {
      await client.create(secret(i));
      await client.create(deployment(i));
      await client.create(binding(i));
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

interface PodTemplate {
  metadata?: { annotations?: Record<string, string> };
  spec?: {
    volumes?: Array<{ name: string; projected?: { sources?: Array<{ secret?: { name?: string } }> } }>;
    containers?: Array<{ env?: Array<{ name: string }>; volumeMounts?: Array<{ name: string }> }>;
  };
}

/** The pod template carries binding `uid`'s projection of Secret `secretName` (volume, mounts, env, annotation). */
function projected(d: KubeObject, uid: string, secretName: string): boolean {
  const t = (d['spec'] as { template?: PodTemplate } | undefined)?.template;
  const volume = `servicebinding-${uid}`;
  return (
    t?.metadata?.annotations?.[`projector.servicebinding.io/secret-${uid}`] === secretName &&
    t.spec?.volumes?.some(
      (v) => v.name === volume && v.projected?.sources?.[0]?.secret?.name === secretName,
    ) === true &&
    (t.spec.containers ?? []).every(
      (c) =>
        c.env?.some((e) => e.name === 'SERVICE_BINDING_ROOT') === true &&
        c.volumeMounts?.some((m) => m.name === volume) === true,
    )
  );
}

function isReady(b: KubeObject): boolean {
  const conditions = (b['status'] as { conditions?: Array<{ type: string; status: string }> } | undefined)
    ?.conditions;
  return conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;
}

/** Watches bindings and Deployments; resolves when all N are Ready and projected. */
function convergence(
  client: KubeClient,
  count: number,
  signal: AbortSignal,
): {
  synced: Promise<void>;
  done: Promise<{ allReadyAt: number; allProjectedAt: number }>;
  progress: () => string;
} {
  const bindings = new SharedInformer<KubeObject>({ client, type: serviceBindingType, namespace: ns });
  const deployments = new SharedInformer<KubeObject>({ client, type: deploymentType, namespace: ns });
  const ready = new Set<string>();
  const projectedSet = new Set<string>();
  let allReadyAt = 0;
  let allProjectedAt = 0;
  const { promise: done, resolve } = Promise.withResolvers<{ allReadyAt: number; allProjectedAt: number }>();
  const check = (name: string): void => {
    const b = bindings.indexer.get(`${ns}/${name}`);
    const d = deployments.indexer.get(`${ns}/${name}`);
    if (b && isReady(b)) ready.add(name);
    else ready.delete(name);
    const uid = b?.metadata.uid;
    const secretName = (b?.['spec'] as { service?: { name?: string } } | undefined)?.service?.name ?? '';
    if (d && uid && projected(d, uid, secretName)) projectedSet.add(name);
    else projectedSet.delete(name);
    if (!allReadyAt && ready.size === count) allReadyAt = performance.now();
    if (!allProjectedAt && projectedSet.size === count) allProjectedAt = performance.now();
    if (ready.size === count && projectedSet.size === count) resolve({ allReadyAt, allProjectedAt });
  };
  const handler = {
    onAdd: (o: KubeObject) => check(o.metadata.name ?? ''),
    onUpdate: (_: KubeObject, o: KubeObject) => check(o.metadata.name ?? ''),
  };
  bindings.addEventHandler(handler);
  deployments.addEventHandler(handler);
  void bindings.run(signal);
  void deployments.run(signal);
  return {
    synced: Promise.all([bindings.waitForSync(), deployments.waitForSync()]).then(() => undefined),
    done,
    progress: () => `${ready.size} ready, ${projectedSet.size} projected of ${count}`,
  };
}

/** `verb resource[/subresource]` → count, from the API server's `apiserver_request_total`. */
async function serverCounts(cp: ControlPlane): Promise<Counts> {
  const res = await cp.request('/metrics');
  const counts: Counts = {};
  for (const line of res.body.split('\n')) {
    if (!line.startsWith('apiserver_request_total{')) continue;
    const label = (name: string): string => new RegExp(`[{,]${name}="([^"]*)"`).exec(line)?.[1] ?? '';
    const sub = label('subresource');
    const key = `${label('verb')} ${label('resource')}${sub ? `/${sub}` : ''}`;
    counts[key] = (counts[key] ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return counts;
}

function diff(after: Counts, before: Counts): Counts {
  const out: Counts = {};
  for (const [k, v] of Object.entries(after)) if (v - (before[k] ?? 0) > 0) out[k] = v - (before[k] ?? 0);
  return out;
}

const sumOf = (c: Counts): number => Object.values(c).reduce((a, b) => a + b, 0);

interface RunFigures {
  /** Clock start → every binding Ready and every Deployment projected. */
  convergedMs: number;
  allReadyMs: number;
  allProjectedMs: number;
  /** Clock start → the last create answered (burst only). */
  createdMs: number;
  /** Manager process spawned → its caches synced. */
  syncedMs: number;
  /** Requests from clock start to convergence, and to quiet (the trailing reconciles included). */
  atConverged: Counts;
  atQuiet: Counts;
  reconciles: number;
  reconcileErrors: number;
  /** Manager CPU (user + system) over the same span as `atQuiet`. */
  managerCpuMs: number;
  managerRssMiB: number;
  managerPeakRssMiB: number;
  /** CPU of kube-apiserver and etcd over the same span. */
  apiServerCpuMs: number;
  etcdCpuMs: number;
  /** Manager-only writes as the API server counted them, over the same span as `atQuiet`. */
  server: Counts;
  load: string[];
}

async function oneRun(count: number, scenario: Scenario, concurrency: number): Promise<RunFigures> {
  const cp = new ControlPlane();
  await cp.start();
  const dir = await mkdtemp(join(tmpdir(), 'bindery-bench-'));
  const watchStop = new AbortController();
  let manager: ChildProcess | undefined;
  try {
    const admin = cp.client();
    await cp.installCRDs([serviceBindingCRD(), clusterWorkloadResourceMappingCRD()]);
    await admin.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
    const kubeconfig = join(dir, 'kubeconfig');
    await cp.writeKubeconfig(kubeconfig);
    const watch = convergence(admin, count, watchStop.signal);
    await watch.synced;
    const load = [await loadavg()];

    if (scenario === 'backlog') {
      const seeded = performance.now();
      await createAll(admin, count, concurrency);
      console.log(`  seeded ${count} × 3 objects in ${((performance.now() - seeded) / 1000).toFixed(1)} s`);
    }
    const serverBefore = await serverCounts(cp);
    const spawned = performance.now();
    manager = fork(import.meta.filename, ['--child', kubeconfig], {
      // `BENCH_MANAGER_ARGS='--max-old-space-size=96'`: Node flags for the manager process only.
      execArgv: [
        ...process.execArgv,
        ...(process.env['BENCH_MANAGER_ARGS'] ?? '').split(' ').filter(Boolean),
      ],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const child = manager;
    const inbox: Array<(msg: FromChild) => void> = [];
    child.on('message', (msg: FromChild) => inbox.shift()?.(msg));
    const receive = <K extends FromChild['type']>(type: K): Promise<Extract<FromChild, { type: K }>> =>
      new Promise((resolve, reject) => {
        inbox.push((msg) =>
          msg.type === type ? resolve(msg as Extract<FromChild, { type: K }>) : reject(new Error(msg.type)),
        );
      });
    const ask = async (): Promise<ChildReport> => {
      const answer = receive('report');
      child.send({ type: 'report' } satisfies ToChild);
      return answer;
    };
    const { syncedMs } = await receive('ready');
    // Burst: the manager's start-up (discovery, the initial lists, the watches) is left out.
    const idle = scenario === 'burst' ? await ask() : undefined;
    const before: Counts = idle?.requests ?? {};

    const cpuBefore = [
      await cpuSeconds(cp.pids.kubeApiserver, 'kube-apiserver'),
      await cpuSeconds(cp.pids.etcd, 'etcd'),
    ];
    const start = scenario === 'burst' ? performance.now() : spawned;
    let createdMs = 0;
    if (scenario === 'burst') {
      await createAll(admin, count, concurrency);
      createdMs = performance.now() - start;
    }
    const ticker = setInterval(() => {
      void loadavg().then((l) => {
        load.push(l);
        console.log(
          `  ${((performance.now() - start) / 1000).toFixed(0)} s: ${watch.progress()} (load ${l})`,
        );
      });
    }, 30_000);
    const { allReadyAt, allProjectedAt } = await watch.done.finally(() => clearInterval(ticker));
    const convergedMs = performance.now() - start;
    const atConverged = diff((await ask()).requests, before);
    // Trailing reconciles (each write enqueues the binding again) are part of the cost.
    let last = await ask();
    while (last.quietMs < 3_000) {
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      last = await ask();
    }
    const server = diff(await serverCounts(cp), serverBefore);
    const cpuAfter = [
      await cpuSeconds(cp.pids.kubeApiserver, 'kube-apiserver'),
      await cpuSeconds(cp.pids.etcd, 'etcd'),
    ];
    load.push(await loadavg());
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.send({ type: 'stop' } satisfies ToChild);
    await exited;
    manager = undefined;
    return {
      convergedMs,
      allReadyMs: allReadyAt - start,
      allProjectedMs: allProjectedAt - start,
      createdMs,
      syncedMs,
      atConverged,
      atQuiet: diff(last.requests, before),
      reconciles: last.reconciles,
      reconcileErrors: last.reconcileErrors,
      managerCpuMs: last.cpuMs - (idle?.cpuMs ?? 0),
      managerRssMiB: last.rssMiB,
      managerPeakRssMiB: last.peakRssMiB,
      apiServerCpuMs: ((cpuAfter[0] ?? 0) - (cpuBefore[0] ?? 0)) * 1000,
      etcdCpuMs: ((cpuAfter[1] ?? 0) - (cpuBefore[1] ?? 0)) * 1000,
      server,
      load,
    };
  } finally {
    manager?.kill();
    watchStop.abort();
    await cp.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

const count = Number(process.argv[2] ?? 1_000);
const runs = Number(process.argv[3] ?? 3);
const scenario = (process.argv[4] ?? 'burst') as Scenario;
const concurrency = Number(process.env['BENCH_CONCURRENCY'] ?? 32);
if (scenario !== 'burst' && scenario !== 'backlog') throw new Error(`unknown scenario ${String(scenario)}`);

const results: RunFigures[] = [];
for (let run = 1; run <= runs; run++) {
  const r = await oneRun(count, scenario, concurrency);
  results.push(r);
  const perBinding = (n: number): string => (n / count).toFixed(2);
  console.log(
    `run ${run}: converged in ${(r.convergedMs / 1000).toFixed(1)} s (all Ready ${(r.allReadyMs / 1000).toFixed(1)} s, ` +
      `all projected ${(r.allProjectedMs / 1000).toFixed(1)} s${scenario === 'burst' ? `, creates done ${(r.createdMs / 1000).toFixed(1)} s` : ''}); ` +
      `manager synced ${r.syncedMs.toFixed(0)} ms after spawn; ${r.reconciles} reconciles ` +
      `(${r.reconcileErrors} errors); requests/binding ${perBinding(sumOf(r.atConverged))} at convergence, ` +
      `${perBinding(sumOf(r.atQuiet))} at quiet; manager CPU ${(r.managerCpuMs / 1000).toFixed(1)} s, ` +
      `RSS ${r.managerRssMiB.toFixed(0)} MiB (peak ${r.managerPeakRssMiB.toFixed(0)} MiB); kube-apiserver CPU ${(r.apiServerCpuMs / 1000).toFixed(1)} s, ` +
      `etcd CPU ${(r.etcdCpuMs / 1000).toFixed(1)} s; load ${r.load.join(' → ')}`,
  );
  const keys = [...new Set([...Object.keys(r.atQuiet), ...Object.keys(r.server)])].sort();
  for (const k of keys) {
    console.log(
      `    ${k.padEnd(34)} ${String(r.atConverged[k] ?? 0).padStart(7)} at convergence ` +
        `${String(r.atQuiet[k] ?? 0).padStart(7)} at quiet   (API server: ${r.server[k] ?? 0})`,
    );
  }
}

const med = (f: (r: RunFigures) => number): number => median(results.map(f));
const keys = [...new Set(results.flatMap((r) => Object.keys(r.atQuiet)))].sort();
console.log(
  `\nServiceBinding convergence, ${count} bindings × ${count} Deployments, ${scenario} — median of ${runs} runs; ${machine()}\n`,
);
console.log('| measure | median |\n|---|---|');
console.log(`| converged (s) | ${(med((r) => r.convergedMs) / 1000).toFixed(1)} |`);
console.log(`| every binding Ready (s) | ${(med((r) => r.allReadyMs) / 1000).toFixed(1)} |`);
console.log(`| every Deployment projected (s) | ${(med((r) => r.allProjectedMs) / 1000).toFixed(1)} |`);
if (scenario === 'burst')
  console.log(`| creates answered (s) | ${(med((r) => r.createdMs) / 1000).toFixed(1)} |`);
console.log(`| manager spawn → caches synced (ms) | ${med((r) => r.syncedMs).toFixed(0)} |`);
console.log(`| bindings/s | ${((count / med((r) => r.convergedMs)) * 1000).toFixed(1)} |`);
console.log(`| reconciles per binding | ${(med((r) => r.reconciles) / count).toFixed(2)} |`);
console.log(`| manager CPU per binding (ms) | ${(med((r) => r.managerCpuMs) / count).toFixed(1)} |`);
console.log(`| kube-apiserver CPU per binding (ms) | ${(med((r) => r.apiServerCpuMs) / count).toFixed(1)} |`);
console.log(`| etcd CPU per binding (ms) | ${(med((r) => r.etcdCpuMs) / count).toFixed(1)} |`);
console.log(`| manager RSS at the end (MiB) | ${med((r) => r.managerRssMiB).toFixed(0)} |`);
console.log(`| manager peak RSS (MiB) | ${med((r) => r.managerPeakRssMiB).toFixed(0)} |`);
console.log(
  `| requests per binding, at convergence | ${(med((r) => sumOf(r.atConverged)) / count).toFixed(2)} |`,
);
console.log(`| requests per binding, at quiet | ${(med((r) => sumOf(r.atQuiet)) / count).toFixed(2)} |`);
for (const k of keys) {
  const perBinding = med((r) => r.atQuiet[k] ?? 0) / count;
  // The watches (a handful, restarted with jitter) round to nothing per binding.
  if (perBinding >= 0.005) console.log(`| … ${k} | ${perBinding.toFixed(2)} |`);
}
