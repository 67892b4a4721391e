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
// The manager process is manager-child.ts, run from the packed, compiled packages as the image runs
// it (manager-process.ts); `BENCH_MANAGER_FROM=sources` runs the TypeScript sources, and
// `BENCH_MANAGER_ARGS='--max-semi-space-size=2 MALLOC_ARENA_MAX=2'` gives it Node flags and
// environment variables (the words `sources`/`built` too).
// Requests are counted in the manager's process on the HTTP client's diagnostics channels (every
// request sent, retries included), and cross-checked with the API server's
// `apiserver_request_total` for the writes only the manager makes (the bench process only creates
// and watches).
// Run: node bench/convergence.bench.ts [N] [runs] [burst|backlog]
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ControlPlane } from '@bindery/controlplane';
import { SharedInformer } from '@bindery/kube';
import type { KubeClient, KubeObject, TypeRef } from '@bindery/kube';
import {
  clusterWorkloadResourceMappingCRD,
  serviceBindingCRD,
  serviceBindingType,
} from '@bindery/servicebinding';
import { benchDeployment, deploymentType } from './fixtures.ts';
import { productionInstall, startManager, variants } from './manager-process.ts';
import type { Counts, ManagerProcess, Variant } from './manager-process.ts';
import { cpuSeconds, loadavg } from './proc.ts';
import { machine, median } from './stats.ts';

type Scenario = 'burst' | 'backlog';

const ns = 'bench-convergence';
const secretType: TypeRef = { apiVersion: 'v1', kind: 'Secret' };

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

async function oneRun(
  count: number,
  scenario: Scenario,
  concurrency: number,
  variant: Variant,
): Promise<RunFigures> {
  const cp = new ControlPlane();
  await cp.start();
  const dir = await mkdtemp(join(tmpdir(), 'bindery-bench-'));
  const watchStop = new AbortController();
  let manager: ManagerProcess | undefined;
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
    manager = await startManager(kubeconfig, variant);
    const child = manager;
    const syncedMs = await child.ready;
    // Burst: the manager's start-up (discovery, the initial lists, the watches) is left out.
    const idle = scenario === 'burst' ? await child.report() : undefined;
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
    const atConverged = diff((await child.report()).requests, before);
    // Trailing reconciles (each write enqueues the binding again) are part of the cost.
    let last = await child.report();
    while (last.quietMs < 3_000) {
      await sleep(1_000);
      last = await child.report();
    }
    const server = diff(await serverCounts(cp), serverBefore);
    const cpuAfter = [
      await cpuSeconds(cp.pids.kubeApiserver, 'kube-apiserver'),
      await cpuSeconds(cp.pids.etcd, 'etcd'),
    ];
    load.push(await loadavg());
    await child.stop();
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
      managerRssMiB: last.memory.rssMiB,
      managerPeakRssMiB: last.peakRssMiB,
      apiServerCpuMs: ((cpuAfter[0] ?? 0) - (cpuBefore[0] ?? 0)) * 1000,
      etcdCpuMs: ((cpuAfter[1] ?? 0) - (cpuBefore[1] ?? 0)) * 1000,
      server,
      load,
    };
  } finally {
    manager?.child.kill();
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

const [variant, ...others] = variants();
if (!variant || others.length > 0) throw new Error('one manager variant per run (BENCH_MANAGER_ARGS)');
console.log(
  `manager: ${variant.from === 'built' ? 'built JavaScript' : 'TypeScript sources'}, ${variant.label}`,
);
if (variant.from === 'built') await productionInstall(variant.tree);
const results: RunFigures[] = [];
for (let run = 1; run <= runs; run++) {
  const r = await oneRun(count, scenario, concurrency, variant);
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
