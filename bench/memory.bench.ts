// Memory of the ServiceBinding manager in a populated cluster: B direct-Secret ServiceBindings,
// each naming its own Deployment, plus 2·B Secrets (one bound per binding, one bound to nothing),
// spread over NS namespaces. The bench seeds them (`BENCH_CONCURRENCY` creates in flight,
// default 32), lets one manager process converge them (checked from outside: every binding
// Ready, every Deployment's pod template projected), then starts a fresh manager process per run
// and reads its memory once it is idle: caches synced, every binding reconciled, no API request
// for 3 s. Namespaces, because the controller LISTs the binding's namespace on every reconcile
// (see the convergence bench): 5,000 Deployments in one namespace would measure that instead.
// Peak RSS is the kernel's high-water mark for the process (getrusage maxrss).
// The manager runs from the packed, compiled packages as the image runs it (manager-process.ts);
// `BENCH_MANAGER_FROM=sources`, or the word `sources` in a variant, runs the TypeScript sources.
// `BENCH_MANAGER_VARIANTS='default;--max-semi-space-size=2 MALLOC_ARENA_MAX=2'`: the fresh managers
// run round-robin over these Node flags and environment variables, `runs` times each.
// `BENCH_IDLE_WAIT_S=30` reads RSS again after that many more seconds idle (V8's memory reducer
// gives pages back after a while). `BENCH_HEAP_SNAPSHOT=<dir>` writes a heap snapshot of the first fresh manager once idle, after
// the GC and the measurement.
// Run: node bench/memory.bench.ts [B] [NS] [runs]
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ControlPlane } from '@bindery/controlplane';
import type { KubeClient, KubeObject, TypeRef } from '@bindery/kube';
import {
  clusterWorkloadResourceMappingCRD,
  serviceBindingCRD,
  serviceBindingType,
} from '@bindery/servicebinding';
import { benchDeployment, deploymentType } from './fixtures.ts';
import { productionInstall, startManager, variants } from './manager-process.ts';
import type { Variant } from './manager-process.ts';
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
  /** `BENCH_IDLE_WAIT_S` seconds later, still idle (before the GC). */
  laterRssMiB: number;
  /** The most the process ever held (`getrusage` maxrss). */
  peakRssMiB: number;
  heapUsedMiB: number;
  /** After a full GC: what the caches and the runtime hold on to. */
  rssAfterGcMiB: number;
  heapUsedAfterGcMiB: number;
  /** What V8 holds for its heap after that GC, used or not. */
  heapTotalAfterGcMiB: number;
  externalMiB: number;
  /** RSS after that GC in anonymous memory (heap, malloc) and in mapped files (node's code). */
  rssAnonAfterGcMiB: number;
  rssFileAfterGcMiB: number;
  brkAfterGcMiB: number;
  cpuMs: number;
}

/**
 * A fresh manager, measured once it has nothing left to do: caches synced, at least one reconcile
 * per binding, work queue empty, no API request for 3 s.
 */
async function runChild(
  kubeconfig: string,
  bindings: number,
  variant: Variant,
  snapshot = false,
): Promise<ChildFigures> {
  const manager = await startManager(kubeconfig, {
    ...variant,
    execArgv: ['--expose-gc', ...variant.execArgv],
  });
  try {
    await manager.ready;
    let reported = performance.now();
    for (;;) {
      await sleep(500);
      const r = await manager.report();
      const requests = Object.values(r.requests).reduce((a, b) => a + b, 0);
      if (performance.now() - reported > 30_000) {
        reported = performance.now();
        console.error(`  manager: ${r.reconciles} reconciles, ${requests} requests, queue ${r.queueLength}`);
      }
      if (r.synced && r.reconciles >= bindings && r.queueLength === 0 && r.quietMs >= 3_000) break;
    }
    // The memory reducer gives pages back after some idle seconds: what a manager left alone holds.
    const waitS = Number(process.env['BENCH_IDLE_WAIT_S'] ?? 0);
    let laterRssMiB = Number.NaN;
    if (waitS > 0) {
      await sleep(waitS * 1000);
      laterRssMiB = (await manager.report()).memory.rssMiB;
    }
    const snapshotDir = process.env['BENCH_HEAP_SNAPSHOT'];
    const r = await manager.report({
      gc: true,
      ...(snapshot && snapshotDir ? { heapSnapshotDir: snapshotDir } : {}),
    });
    return {
      idleMs: r.lastRequestMs,
      reconciles: r.reconciles,
      requests: Object.values(r.requests).reduce((a, b) => a + b, 0),
      cached: r.cached,
      rssMiB: r.memory.rssMiB,
      laterRssMiB,
      peakRssMiB: r.peakRssMiB,
      heapUsedMiB: r.memory.heapUsedMiB,
      rssAfterGcMiB: r.afterGc?.rssMiB ?? Number.NaN,
      heapUsedAfterGcMiB: r.afterGc?.heapUsedMiB ?? Number.NaN,
      heapTotalAfterGcMiB: r.afterGc?.heapTotalMiB ?? Number.NaN,
      externalMiB: r.afterGc?.externalMiB ?? Number.NaN,
      rssAnonAfterGcMiB: r.afterGc?.rssAnonMiB ?? Number.NaN,
      rssFileAfterGcMiB: r.afterGc?.rssFileMiB ?? Number.NaN,
      brkAfterGcMiB: r.afterGc?.brkMiB ?? Number.NaN,
      cpuMs: r.cpuMs,
    };
  } finally {
    await manager.stop();
  }
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

const all = variants();
// Built before the control plane starts, so the build's minutes are not spent with it running.
for (const v of all) if (v.from === 'built') await productionInstall(v.tree);
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
          `CPU ${(r.cpuMs / 1000).toFixed(1)} s); RSS ${r.rssMiB.toFixed(0)} MiB (peak ${r.peakRssMiB.toFixed(0)} MiB${Number.isNaN(r.laterRssMiB) ? '' : `; later ${r.laterRssMiB.toFixed(0)} MiB`}), heap used ${r.heapUsedMiB.toFixed(0)} MiB; ` +
          `after GC RSS ${r.rssAfterGcMiB.toFixed(0)} MiB (anonymous ${r.rssAnonAfterGcMiB.toFixed(0)} with malloc's main arena ${r.brkAfterGcMiB.toFixed(0)}, files ${r.rssFileAfterGcMiB.toFixed(0)}), ` +
          `heap used ${r.heapUsedAfterGcMiB.toFixed(0)} of ${r.heapTotalAfterGcMiB.toFixed(0)} MiB, ` +
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
  if (process.env['BENCH_IDLE_WAIT_S'])
    row(`RSS ${process.env['BENCH_IDLE_WAIT_S']} s later, still idle (MiB)`, (r) => r.laterRssMiB);
  row('peak RSS (MiB)', (r) => r.peakRssMiB);
  row('heap used when idle (MiB)', (r) => r.heapUsedMiB);
  row('RSS after a full GC (MiB)', (r) => r.rssAfterGcMiB);
  row('… of it anonymous: heap, malloc (MiB)', (r) => r.rssAnonAfterGcMiB);
  row("… of the anonymous: malloc's main arena, [heap] (MiB)", (r) => r.brkAfterGcMiB);
  row('… of it mapped files: the node binary and libraries (MiB)', (r) => r.rssFileAfterGcMiB);
  row('heap used after a full GC (MiB)', (r) => r.heapUsedAfterGcMiB);
  row('heap held by V8 after a full GC (MiB)', (r) => r.heapTotalAfterGcMiB);
  row('external after a full GC (MiB)', (r) => r.externalMiB);
} finally {
  await cp.stop();
  await rm(dir, { recursive: true, force: true });
}
