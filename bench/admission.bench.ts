// ServiceBinding admission on a real control plane: what the `/interceptor` mutating webhook adds
// to a workload create. One namespace holds B direct-Secret ServiceBindings (default 1,000) with
// `status.binding.name` set: 90 % name a Deployment that is never created, 10 % select Deployments
// by a label `bench.bindery.dev/group: g-<k>`, k in 0..9, so a Deployment labelled with one group
// is targeted by a tenth of those (10 of 1,000), while the interceptor still looks at all 1,000.
// Then, per scenario, C Deployment creates (default 2,000) from 16 concurrent loops over one
// KubeClient (its keep-alive Agent opens 16 connections):
//
//   none                 no webhook configuration: the API server's own create
//   interceptor, 0 match the interceptor is registered; the Deployments match no binding
//   interceptor, 10      … and each Deployment is targeted by 10 bindings (projected at admission)
//   + trigger            (BENCH_TRIGGER=1) … and the `/trigger` validating webhook too, as
//                        `addServiceBindingWebhooks` registers it in production
//
// The webhooks run in a fresh child process per run (admission-webhooks-child.ts): a Manager with
// `addServiceBindingWebhooks` and a no-op controller in place of the ServiceBinding controller, so
// that no reconcile writes to the Deployments while they are measured; server-side and handler
// latencies are measured there. The bindings, Deployments and webhook configurations are set up by
// admission-setup.ts; the bindings' statuses are set with a PUT to /status, not by running the
// controller: the interceptor reads only `status.binding.name`.
// Each run: configurations in place (checked with dry-run creates), 200 warm-up creates, then C
// timed ones; the Deployments are deleted after every run. Scenarios run round-robin.
// Run: node bench/admission.bench.ts [bindings] [creates] [runs]   (BENCH_CPU_PROF=<dir>)
// With fewer than 100 bindings some groups have no selecting binding and the match check fails.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ControlPlane } from '@bindery/controlplane';
import type { KubeClient } from '@bindery/kube';
import {
  clusterWorkloadResourceMappingCRD,
  interceptorPath,
  serviceBindingCRD,
  triggerPath,
} from '@bindery/servicebinding';
import {
  CONCURRENCY,
  GROUPS,
  configurations,
  configured,
  createMany,
  deleteConfiguration,
  ns,
  seed,
  untilAdmission,
} from './admission-setup.ts';
import { WebhookProcess } from './admission-webhooks.ts';
import { cpuSeconds, loadavg } from './proc.ts';
import { machine, median, percentile } from './stats.ts';

/** Warm-up creates per run, before the timed ones. */
const WARMUP = 200;

type Webhooks = 'none' | 'interceptor' | 'interceptor+trigger';

interface Scenario {
  label: string;
  webhooks: Webhooks;
  /** Whether the created Deployments carry a group label some bindings select. */
  matching: boolean;
}

interface RunFigures {
  createsPerSecond: number;
  p50: number;
  p99: number;
  /** Server-side, request headers → response finished, for the interceptor (NaN without it). */
  serverP50: number;
  serverP99: number;
  handlerP50: number;
  handlerP99: number;
  /** Webhook process CPU per create, µs. */
  webhookCpuUs: number;
  /** kube-apiserver CPU per create, µs. */
  apiServerCpuUs: number;
  triggerRequests: number;
  load: string[];
}
async function oneRun(
  cp: ControlPlane,
  client: KubeClient,
  kubeconfig: string,
  scenario: Scenario,
  batch: string,
  creates: number,
): Promise<RunFigures> {
  let webhooks: WebhookProcess | undefined;
  try {
    if (scenario.webhooks !== 'none') {
      webhooks = new WebhookProcess(kubeconfig);
      await webhooks.receive('ready');
      await untilAdmission(client, true);
      // The child's configuration runnable applies all three; wait for the trigger's before deleting it.
      if (scenario.webhooks === 'interceptor') await deleteConfiguration(client, await configured(client));
    } else {
      for (const c of configurations) await deleteConfiguration(client, c);
      await untilAdmission(client, false);
    }
    const group = scenario.matching ? `g-${Number(batch.replace(/\D/g, '')) % GROUPS}` : 'g-none';
    await createMany(client, WARMUP, `${batch}w`, group);
    await webhooks?.ask({ type: 'reset' }, 'ready');
    const load = [await loadavg()];
    const apiCpuBefore = await cpuSeconds(cp.pids.kubeApiserver, 'kube-apiserver');
    const { ms, latencies, volumes } = await createMany(client, creates, batch, group);
    const apiCpu = (await cpuSeconds(cp.pids.kubeApiserver, 'kube-apiserver')) - apiCpuBefore;
    load.push(await loadavg());
    // Every create must come back with the cache volume plus one per binding that targets it.
    const expected = scenario.webhooks !== 'none' && scenario.matching ? 1 + matchPerDeployment : 1;
    if (volumes.get(expected) !== creates)
      throw new Error(`${scenario.label}: expected ${creates} Deployments with ${expected} volumes`);
    const report = await webhooks?.ask({ type: 'report' }, 'report');
    const server = report?.server[interceptorPath] ?? [];
    const volumeCounts = [...volumes.entries()].map(([v, n]) => `${n} × ${v} volumes`).join(', ');
    const interceptorCalls = server.length;
    if (webhooks && interceptorCalls !== creates)
      throw new Error(`${scenario.label}: the interceptor saw ${interceptorCalls} of ${creates} creates`);
    const triggerCalls = report?.server[triggerPath]?.length ?? 0;
    if (triggerCalls !== (scenario.webhooks === 'interceptor+trigger' ? creates : 0))
      throw new Error(`${scenario.label}: the trigger saw ${triggerCalls} of ${creates} creates`);
    console.log(
      `    created: ${volumeCounts}; interceptor requests ${interceptorCalls}, trigger ${report?.server[triggerPath]?.length ?? 0}` +
        (report ? `, ${report.connections} connections opened` : '') +
        (report
          ? `; histogram count ${report.histogram.count}, mean ${((report.histogram.sum / report.histogram.count) * 1000).toFixed(2)} ms`
          : ''),
    );
    return {
      createsPerSecond: (creates / ms) * 1000,
      p50: percentile(latencies, 0.5),
      p99: percentile(latencies, 0.99),
      serverP50: percentile(server, 0.5),
      serverP99: percentile(server, 0.99),
      handlerP50: percentile(report?.handler ?? [], 0.5),
      handlerP99: percentile(report?.handler ?? [], 0.99),
      webhookCpuUs: report ? (report.cpuMs * 1000) / creates : Number.NaN,
      apiServerCpuUs: (apiCpu * 1e6) / creates,
      triggerRequests: report?.server[triggerPath]?.length ?? 0,
      load,
    };
  } finally {
    if (webhooks) await webhooks.stop().catch(() => webhooks?.kill());
    for (const c of configurations) await deleteConfiguration(client, c);
    // Only this run's objects; no controller-manager runs, so nothing but etcd holds them.
    for (const b of [batch, `${batch}w`]) {
      await client.request({
        method: 'DELETE',
        path: `/apis/apps/v1/namespaces/${ns}/deployments`,
        query: { labelSelector: `bench.bindery.dev/batch=${b}` },
      });
    }
  }
}

const bindings = Number(process.argv[2] ?? 1_000);
const creates = Number(process.argv[3] ?? 2_000);
const runs = Number(process.argv[4] ?? 3);
const matchPerDeployment = Math.ceil(bindings / 10 / GROUPS);
const scenarios: Scenario[] = [
  { label: 'no webhook', webhooks: 'none', matching: true },
  { label: 'interceptor, 0 bindings match', webhooks: 'interceptor', matching: false },
  { label: `interceptor, ${matchPerDeployment} bindings match`, webhooks: 'interceptor', matching: true },
];
// BENCH_TRIGGER=1: also with the `/trigger` validating webhook, as production registers it.
if (process.env['BENCH_TRIGGER'] === '1') {
  scenarios.push({
    label: `interceptor + trigger, ${matchPerDeployment} match`,
    webhooks: 'interceptor+trigger',
    matching: true,
  });
}

const benchStarted = performance.now();
const cp = new ControlPlane();
await cp.start();
const dir = await mkdtemp(join(tmpdir(), 'bindery-bench-'));
// One client for the creates: the keep-alive Agent opens a connection per request in flight, 16 here.
const client = cp.client();
try {
  await cp.installCRDs([serviceBindingCRD(), clusterWorkloadResourceMappingCRD()]);
  await client.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  const kubeconfig = join(dir, 'kubeconfig');
  await cp.writeKubeconfig(kubeconfig);
  const seeded = performance.now();
  await seed(client, bindings);
  console.log(
    `${bindings} bindings created and their status set in ${((performance.now() - seeded) / 1000).toFixed(1)} s ` +
      `(${bindings / 10} by selector, ${matchPerDeployment} per group); load ${await loadavg()}`,
  );

  const results = new Map<Scenario, RunFigures[]>(scenarios.map((s) => [s, []]));
  for (let run = 1; run <= runs; run++) {
    for (const [i, scenario] of scenarios.entries()) {
      const r = await oneRun(cp, client, kubeconfig, scenario, `r${run}s${i}`, creates);
      results.get(scenario)?.push(r);
      console.log(
        `run ${run}, ${scenario.label}: ${r.createsPerSecond.toFixed(0)} creates/s, p50 ${r.p50.toFixed(1)} ms, ` +
          `p99 ${r.p99.toFixed(1)} ms; interceptor server p50 ${r.serverP50.toFixed(2)} ms, p99 ` +
          `${r.serverP99.toFixed(2)} ms, handler p50 ${r.handlerP50.toFixed(2)} ms, p99 ${r.handlerP99.toFixed(2)} ms; ` +
          `webhook CPU ${r.webhookCpuUs.toFixed(0)} µs/create, kube-apiserver CPU ${r.apiServerCpuUs.toFixed(0)} ` +
          `µs/create; load ${r.load.join(' → ')}`,
      );
    }
  }

  console.log(
    `\nadmission of ${creates} Deployment creates, ${CONCURRENCY} clients, ${bindings} bindings in the namespace — ` +
      `median of ${runs} runs; ${machine()}; whole bench ${((performance.now() - benchStarted) / 1000).toFixed(0)} s\n`,
  );
  console.log(
    '| scenario | creates/s | create p50 (ms) | create p99 (ms) | webhook server p50 (ms) | webhook server p99 (ms) | handler p50 (ms) | handler p99 (ms) | webhook CPU/create (µs) | kube-apiserver CPU/create (µs) |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|---|');
  for (const [scenario, rs] of results) {
    const m = (f: (r: RunFigures) => number, digits = 1): string => {
      const v = median(rs.map(f));
      return Number.isNaN(v) ? '—' : v.toFixed(digits);
    };
    console.log(
      `| ${scenario.label} | ${m((r) => r.createsPerSecond, 0)} | ${m((r) => r.p50)} | ${m((r) => r.p99)} | ` +
        `${m((r) => r.serverP50, 2)} | ${m((r) => r.serverP99, 2)} | ${m((r) => r.handlerP50, 2)} | ` +
        `${m((r) => r.handlerP99, 2)} | ${m((r) => r.webhookCpuUs, 0)} | ${m((r) => r.apiServerCpuUs, 0)} |`,
    );
  }
} finally {
  await client.close();
  await cp.stop();
  await rm(dir, { recursive: true, force: true });
}
