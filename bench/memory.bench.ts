// Memory of the ServiceBinding manager in a populated cluster: B direct-Secret ServiceBindings,
// each naming its own Deployment, plus 2·B Secrets (one bound per binding, one bound to nothing),
// spread over NS namespaces. The bench seeds them (`BENCH_CONCURRENCY` creates in flight,
// default 32), lets one manager process converge them (checked from outside: every binding
// Ready, every Deployment's pod template projected), then starts a fresh manager process per run
// and reads its memory once it is idle: caches synced, every binding reconciled, no API request
// for 3 s. Namespaces, because the controller LISTs the binding's namespace on every reconcile
// (see the convergence bench): 5,000 Deployments in one namespace would measure that instead.
// Peak RSS is the kernel's high-water mark for the process (getrusage maxrss).
// `BENCH_HEAP_SNAPSHOT=<dir>` writes a heap snapshot of the first fresh manager once idle, after
// the GC and the measurement.
// Run: node bench/memory.bench.ts [B] [NS] [runs]
import { fork } from 'node:child_process';
import { subscribe } from 'node:diagnostics_channel';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeHeapSnapshot } from 'node:v8';
import { ControlPlane } from '@bindery/controlplane';
import { KubeClient } from '@bindery/kube';
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
import { machine, median } from './stats.ts';

const secretType: TypeRef = { apiVersion: 'v1', kind: 'Secret' };

interface ChildFigures {
  /** Spawn → the last API request before going idle. */
  idleMs: number;
  reconciles: number;
  requests: number;
  /** Cached objects per informer, `kind` → count. */
  cached: Record<string, number>;
  rssMiB: number;
  /** The most the process ever held (`getrusage` maxrss). */
  peakRssMiB: number;
  heapUsedMiB: number;
  /** After a full GC: what the caches and the runtime hold on to. */
  rssAfterGcMiB: number;
  heapUsedAfterGcMiB: number;
  externalMiB: number;
  cpuMs: number;
}

if (process.argv[2] === '--child') {
  const [kubeconfig, bindings] = process.argv.slice(3) as [string, string];
  process.send?.(await child(kubeconfig, Number(bindings)));
  process.exit(0);
}

/** A fresh manager with the ServiceBinding controller, measured once it has nothing left to do. */
async function child(kubeconfig: string, bindings: number): Promise<ChildFigures> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('the child runs with --expose-gc');
  const started = performance.now();
  let requests = 0;
  let lastRequest = started;
  subscribe('undici:request:create', () => {
    requests++;
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
  const controller = addServiceBindingController(manager);
  const stop = new AbortController();
  const running = manager.start(stop.signal);
  const reconciles = async (): Promise<number> => {
    const metric = await manager.registry.getSingleMetric('controller_runtime_reconcile_total')?.get();
    return (metric?.values ?? []).reduce((n, v) => n + v.value, 0);
  };
  let reported = started;
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    const informers = manager.informers.informers();
    const n = await reconciles();
    if (performance.now() - reported > 30_000) {
      reported = performance.now();
      console.error(`  manager: ${n} reconciles, ${requests} requests, queue ${controller.queue.length}`);
    }
    if (
      informers.length >= 9 &&
      informers.every((i) => i.hasSynced()) &&
      n >= bindings &&
      controller.queue.length === 0 &&
      performance.now() - lastRequest >= 3_000
    )
      break;
  }
  const before = process.memoryUsage();
  gc();
  const after = process.memoryUsage();
  const snapshotDir = process.env['BENCH_HEAP_SNAPSHOT'];
  if (snapshotDir)
    console.error(
      `  heap snapshot: ${writeHeapSnapshot(join(snapshotDir, `manager-${process.pid}.heapsnapshot`))}`,
    );
  const cpu = process.cpuUsage();
  const cached: Record<string, number> = {};
  for (const i of manager.informers.informers()) {
    cached[i.type.kind] = (cached[i.type.kind] ?? 0) + i.indexer.size;
  }
  const figures: ChildFigures = {
    idleMs: lastRequest - started,
    reconciles: await reconciles(),
    requests,
    cached,
    rssMiB: before.rss / 2 ** 20,
    peakRssMiB: process.resourceUsage().maxRSS / 1024,
    heapUsedMiB: before.heapUsed / 2 ** 20,
    rssAfterGcMiB: after.rss / 2 ** 20,
    heapUsedAfterGcMiB: after.heapUsed / 2 ** 20,
    externalMiB: after.external / 2 ** 20,
    cpuMs: (cpu.user + cpu.system) / 1000,
  };
  stop.abort();
  await running;
  await client.close();
  return figures;
}

/** How a manager process is started: Node flags and environment variables. */
interface Variant {
  label: string;
  execArgv: string[];
  env: Record<string, string>;
}

/**
 * `BENCH_MANAGER_ARGS='--max-semi-space-size=4 MALLOC_ARENA_MAX=2'`: Node flags and environment
 * for the manager processes only. `BENCH_MANAGER_VARIANTS='default;--max-semi-space-size=4'`: several
 * such, `;`-separated; the fresh managers run round-robin over them, `runs` times each.
 */
function variants(): Variant[] {
  const spec = process.env['BENCH_MANAGER_VARIANTS'] ?? process.env['BENCH_MANAGER_ARGS'] ?? 'default';
  return spec.split(';').map((label) => {
    const words = label
      .trim()
      .split(' ')
      .filter((w) => w !== '' && w !== 'default');
    const env: Record<string, string> = {};
    for (const w of words.filter((w) => /^[A-Z_]+=/.test(w))) {
      const [k = '', v = ''] = w.split('=');
      env[k] = v;
    }
    return { label: label.trim(), execArgv: words.filter((w) => !/^[A-Z_]+=/.test(w)), env };
  });
}

function runChild(
  kubeconfig: string,
  bindings: number,
  variant: Variant,
  snapshot = false,
): Promise<ChildFigures> {
  const { BENCH_HEAP_SNAPSHOT: snapshotDir, ...env } = process.env;
  const p = fork(import.meta.filename, ['--child', kubeconfig, String(bindings)], {
    execArgv: ['--expose-gc', ...variant.execArgv],
    env: { ...env, ...variant.env, ...(snapshot && snapshotDir ? { BENCH_HEAP_SNAPSHOT: snapshotDir } : {}) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    let figures: ChildFigures | undefined;
    p.once('message', (m: ChildFigures) => (figures = m));
    p.once('exit', (code) =>
      figures ? resolve(figures) : reject(new Error(`manager process exited with ${code} and no figures`)),
    );
  });
}

// ---- The bench process ---------------------------------------------------------------------------

const namespaceOf = (i: number, namespaces: number): string => `bench-memory-${i % namespaces}`;

function objects(i: number, namespace: string): KubeObject[] {
  const labels = { app: `app-${i}` };
  const data = { type: 'postgresql', host: `db-${i}.example.com`, username: 'app', password: 'secret' };
  return [
    {
      ...secretType,
      metadata: { name: `db-${i}`, namespace },
      type: 'servicebinding.io/postgresql',
      stringData: data,
    },
    { ...secretType, metadata: { name: `other-${i}`, namespace }, type: 'Opaque', stringData: data },
    benchDeployment(`app-${i}`, namespace, labels),
    {
      ...serviceBindingType,
      metadata: { name: `app-${i}`, namespace },
      spec: {
        service: { apiVersion: 'v1', kind: 'Secret', name: `db-${i}` },
        workload: { apiVersion: 'apps/v1', kind: 'Deployment', name: `app-${i}` },
      },
    },
  ];
}

/** How many bindings are Ready=True, and how many Deployments carry their binding's projection. */
async function convergence(client: KubeClient): Promise<{ ready: number; projected: number }> {
  const bindings = (await client.listAll(serviceBindingType)).items;
  const deployments = new Map(
    (await client.listAll(deploymentType)).items.map((d) => [
      `${d.metadata.namespace ?? ''}/${d.metadata.name ?? ''}`,
      d,
    ]),
  );
  let ready = 0;
  let projected = 0;
  for (const b of bindings) {
    const conditions = (b['status'] as { conditions?: Array<{ type: string; status: string }> } | undefined)
      ?.conditions;
    if (conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) ready++;
    const uid = b.metadata.uid ?? '';
    const d = deployments.get(`${b.metadata.namespace ?? ''}/${b.metadata.name ?? ''}`);
    const template = (d?.['spec'] as { template?: { metadata?: { annotations?: Record<string, string> } } })
      ?.template;
    const secretName = (b['spec'] as { service: { name: string } }).service.name;
    const volumes = JSON.stringify(template ?? {});
    if (
      template?.metadata?.annotations?.[`projector.servicebinding.io/secret-${uid}`] === secretName &&
      volumes.includes(`"servicebinding-${uid}"`) &&
      volumes.includes('"SERVICE_BINDING_ROOT"')
    )
      projected++;
  }
  return { ready, projected };
}

async function loadavg(): Promise<string> {
  return (await readFile('/proc/loadavg', 'utf8')).split(' ').slice(0, 3).join(' ');
}

const bindings = Number(process.argv[2] ?? 5_000);
const namespaces = Number(process.argv[3] ?? 50);
const runs = Number(process.argv[4] ?? 3);
const concurrency = Number(process.env['BENCH_CONCURRENCY'] ?? 32);

const cp = new ControlPlane();
await cp.start();
const dir = await mkdtemp(join(tmpdir(), 'bindery-bench-'));
try {
  const admin = cp.client();
  const kubeconfig = join(dir, 'kubeconfig');
  await cp.writeKubeconfig(kubeconfig);
  await cp.installCRDs([serviceBindingCRD(), clusterWorkloadResourceMappingCRD()]);
  for (let n = 0; n < namespaces; n++) {
    await admin.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: `bench-memory-${n}` } });
  }

  console.log(`load ${await loadavg()}`);
  const seeded = performance.now();
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < bindings; i = next++) {
      for (const obj of objects(i, namespaceOf(i, namespaces))) await admin.create(obj);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seedMs = performance.now() - seeded;
  console.log(
    `seeded ${bindings * 2} Secrets, ${bindings} Deployments, ${bindings} bindings in ${namespaces} namespaces ` +
      `in ${(seedMs / 1000).toFixed(1)} s (${concurrency} in flight; ${((bindings * 4) / (seedMs / 1000)).toFixed(0)} objects/s); ` +
      `load ${await loadavg()}`,
  );

  const all = variants();
  const first = await runChild(kubeconfig, bindings, all[0] as Variant);
  let state = await convergence(admin);
  console.log(
    `converging manager: idle ${(first.idleMs / 1000).toFixed(1)} s after spawn, ${first.reconciles} reconciles, ` +
      `${first.requests} requests, RSS ${first.rssMiB.toFixed(0)} MiB (peak ${first.peakRssMiB.toFixed(0)} MiB); then ${state.ready} of ${bindings} Ready, ` +
      `${state.projected} projected; load ${await loadavg()}`,
  );
  // The idle check can fire while a binding waits out a retry's backoff (the queue counts only
  // what is ready): another manager finishes the few that are left.
  for (let pass = 2; pass <= 3 && (state.ready !== bindings || state.projected !== bindings); pass++) {
    await runChild(kubeconfig, bindings, all[0] as Variant);
    state = await convergence(admin);
    console.log(`converging manager, pass ${pass}: ${state.ready} Ready, ${state.projected} projected`);
  }
  if (state.ready !== bindings || state.projected !== bindings) throw new Error('not converged');

  const results = new Map<Variant, ChildFigures[]>(all.map((v) => [v, []]));
  for (let run = 1; run <= runs; run++) {
    for (const variant of all) {
      const r = await runChild(kubeconfig, bindings, variant, run === 1 && variant === all[0]);
      results.get(variant)?.push(r);
      console.log(
        `run ${run} [${variant.label}]: idle ${(r.idleMs / 1000).toFixed(1)} s after spawn (${r.reconciles} reconciles, ${r.requests} requests, ` +
          `CPU ${(r.cpuMs / 1000).toFixed(1)} s); RSS ${r.rssMiB.toFixed(0)} MiB (peak ${r.peakRssMiB.toFixed(0)} MiB), heap used ${r.heapUsedMiB.toFixed(0)} MiB; ` +
          `after GC RSS ${r.rssAfterGcMiB.toFixed(0)} MiB, heap used ${r.heapUsedAfterGcMiB.toFixed(0)} MiB, ` +
          `external ${r.externalMiB.toFixed(0)} MiB; cached ${JSON.stringify(r.cached)}; load ${await loadavg()}`,
      );
    }
  }

  console.log(
    `\nServiceBinding manager memory, ${bindings * 2} Secrets, ${bindings} Deployments, ${bindings} bindings ` +
      `in ${namespaces} namespaces — median of ${runs} runs; ${machine()}\n`,
  );
  console.log(`| measure | ${all.map((v) => v.label).join(' | ')} |\n|---|${all.map(() => '---|').join('')}`);
  const row = (name: string, f: (r: ChildFigures) => number, digits = 0): void =>
    console.log(
      `| ${name} | ${all.map((v) => median((results.get(v) ?? []).map(f)).toFixed(digits)).join(' | ')} |`,
    );
  console.log(`| seeding ${bindings * 4} objects (s, once) | ${(seedMs / 1000).toFixed(1)} |`);
  console.log(`| converging manager: spawn → idle (s, once) | ${(first.idleMs / 1000).toFixed(1)} |`);
  console.log(`| converging manager: RSS when idle (MiB, once) | ${first.rssMiB.toFixed(0)} |`);
  console.log(`| converging manager: peak RSS (MiB, once) | ${first.peakRssMiB.toFixed(0)} |`);
  row('fresh manager: spawn → idle (s)', (r) => r.idleMs / 1000, 1);
  row('CPU to idle (s)', (r) => r.cpuMs / 1000, 1);
  row('RSS when idle (MiB)', (r) => r.rssMiB);
  row('peak RSS (MiB)', (r) => r.peakRssMiB);
  row('heap used when idle (MiB)', (r) => r.heapUsedMiB);
  row('RSS after a full GC (MiB)', (r) => r.rssAfterGcMiB);
  row('heap used after a full GC (MiB)', (r) => r.heapUsedAfterGcMiB);
  row('external after a full GC (MiB)', (r) => r.externalMiB);
} finally {
  await cp.stop();
  await rm(dir, { recursive: true, force: true });
}
