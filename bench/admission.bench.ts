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
// The webhooks run in a fresh child process per run: a Manager with `addServiceBindingWebhooks`
// (clientConfig by URL + caBundle, as `bindery dev` does) and a no-op controller in place of the
// ServiceBinding controller (the trigger enqueues into it), so that no reconcile writes to the
// Deployments while they are measured. The bindings' statuses are set with `updateStatus` (PUT
// /status), not by running the controller: the interceptor reads only `status.binding.name`.
// Server-side latency is measured in the child: from the HTTP request's headers to its response's
// last byte (node:http's diagnostics channels, the span the WebhookServer's own
// `controller_runtime_webhook_latency_seconds` histogram observes, whose buckets are too coarse for
// percentiles), and the handler alone (`handle()` of the interceptor, timed by a wrapper).
// Each run: configurations in place (checked with dry-run creates), 200 warm-up creates, then C
// timed ones; the Deployments are deleted after every run. Scenarios run round-robin.
// Run: node bench/admission.bench.ts [bindings] [creates] [runs]   (BENCH_CPU_PROF=<dir>)
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { subscribe } from 'node:diagnostics_channel';
import type { IncomingMessage } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ControlPlane } from '@bindery/controlplane';
import { KubeClient, isNotFound } from '@bindery/kube';
import { benchDeployment } from './fixtures.ts';
import type { KubeObject } from '@bindery/kube';
import {
  Controller,
  Manager,
  ResourceReconciler,
  SyncReconciler,
  WebhookServer,
  generateSelfSigned,
} from '@bindery/runtime';
import type { AdmissionHandler } from '@bindery/runtime';
import {
  addServiceBindingWebhooks,
  clusterWorkloadResourceMappingCRD,
  defaultWebhookConfigurationNames,
  interceptorPath,
  serviceBindingCRD,
  serviceBindingType,
  triggerPath,
} from '@bindery/servicebinding';
import type { ServiceBinding } from '@bindery/servicebinding';
import { pino } from 'pino';
import { cpuSeconds, loadavg } from './proc.ts';
import { machine, median, percentile } from './stats.ts';

const ns = 'bench-admission';
const CONCURRENCY = 16;
const WARMUP = 200;
const GROUPS = 10;
const ADMISSION = 'admissionregistration.k8s.io/v1';

type Webhooks = 'none' | 'interceptor' | 'interceptor+trigger';

interface Scenario {
  label: string;
  webhooks: Webhooks;
  /** Whether the created Deployments carry a group label some bindings select. */
  matching: boolean;
}

/** What the webhook process measured between `reset` and `report`. */
interface ChildReport {
  /** Per path: request headers → response finished, ms. */
  server: Record<string, number[]>;
  /** The interceptor's `handle()`, ms. */
  handler: number[];
  cpuMs: number;
  /** `controller_runtime_webhook_latency_seconds` for the interceptor: count and sum (s). */
  histogram: { count: number; sum: number };
  /** TCP connections the API server opened to the webhook server. */
  connections: number;
}

type ToChild = { type: 'reset' } | { type: 'report' } | { type: 'stop' };
type FromChild = { type: 'ready' } | ({ type: 'report' } & ChildReport);

/** Times `handle()` of the handlers registered on it. */
class TimedWebhookServer extends WebhookServer {
  readonly handlerMs: Record<string, number[]> = {};

  override register(path: string, handler: AdmissionHandler): void {
    const times = (this.handlerMs[path] = [] as number[]);
    super.register(path, {
      type: handler.type,
      handle: async (ctx) => {
        const started = performance.now();
        try {
          return await handler.handle(ctx);
        } finally {
          times.push(performance.now() - started);
        }
      },
    });
  }
}

if (process.argv[2] === '--child') await child(process.argv[3] as string);

/** The webhooks, in their own process. */
async function child(kubeconfig: string): Promise<never> {
  let server: Record<string, number[]> = {};
  const started = new WeakMap<IncomingMessage, number>();
  subscribe('http.server.request.start', (message) => {
    started.set((message as { request: IncomingMessage }).request, performance.now());
  });
  subscribe('http.server.response.finish', (message) => {
    const { request } = message as { request: IncomingMessage };
    const at = started.get(request);
    if (at === undefined) return;
    const path = (request.url ?? '').split('?')[0] ?? '';
    (server[path] ??= []).push(performance.now() - at);
  });

  let connections = 0;
  let port = -1;
  subscribe('net.server.socket', (message) => {
    if ((message as { socket: { localPort?: number } }).socket.localPort === port) connections++;
  });

  const client = KubeClient.fromKubeConfig({ kubeconfig });
  const log = pino({ level: 'silent' });
  const manager = new Manager({
    client,
    name: 'bindery',
    log,
    metrics: { host: '127.0.0.1', port: 0 },
    health: { host: '127.0.0.1', port: 0 },
    leaderElection: false,
  });
  const certs = await generateSelfSigned({
    service: 'bindery-webhook',
    namespace: 'default',
    extraHosts: ['127.0.0.1'],
  });
  const webhookServer = new TimedWebhookServer({
    port: 0,
    host: '127.0.0.1',
    tls: certs.serving,
    log,
    registry: manager.registry,
  });
  await webhookServer.listen();
  port = webhookServer.port;
  // In place of addServiceBindingController: the trigger enqueues into it, nothing is written.
  const controller = new Controller({
    name: 'servicebinding',
    for: serviceBindingType,
    reconciler: new ResourceReconciler({
      name: 'Noop',
      type: serviceBindingType,
      reconciler: new SyncReconciler<KubeObject>({ name: 'Noop', sync: () => undefined }),
    }),
  });
  manager.add(controller);
  const webhooks = addServiceBindingWebhooks(manager, {
    server: webhookServer,
    controller,
    clientConfig: { endpoint: { url: webhookServer.url('') }, caBundle: certs.caBundle },
    // The bench deletes the configurations it does not want; no resync puts them back meanwhile.
    rulesResyncMs: 3_600_000,
  });
  const stop = new AbortController();
  const running = manager.start(stop.signal);
  while (!webhooks.index.hasSynced() || !webhookServer.ready()) await sleep(20);
  send({ type: 'ready' });

  let cpu = process.cpuUsage();
  let histogramBefore = { count: 0, sum: 0 };
  const histogram = async (): Promise<{ count: number; sum: number }> => {
    const metric = await manager.registry
      .getSingleMetric('controller_runtime_webhook_latency_seconds')
      ?.get();
    const values = (metric?.values ?? []) as Array<{
      metricName?: string;
      labels: Record<string, unknown>;
      value: number;
    }>;
    const value = (name: string): number =>
      values.find((v) => v.metricName === name && v.labels['webhook'] === interceptorPath)?.value ?? 0;
    return {
      count: value('controller_runtime_webhook_latency_seconds_count'),
      sum: value('controller_runtime_webhook_latency_seconds_sum'),
    };
  };
  process.on('message', (msg: ToChild) => {
    void (async () => {
      if (msg.type === 'reset') {
        server = {};
        connections = 0;
        for (const times of Object.values(webhookServer.handlerMs)) times.length = 0;
        histogramBefore = await histogram();
        cpu = process.cpuUsage();
        send({ type: 'ready' });
      } else if (msg.type === 'report') {
        const used = process.cpuUsage(cpu);
        const after = await histogram();
        send({
          type: 'report',
          server,
          handler: webhookServer.handlerMs[interceptorPath] ?? [],
          cpuMs: (used.user + used.system) / 1000,
          histogram: { count: after.count - histogramBefore.count, sum: after.sum - histogramBefore.sum },
          connections,
        });
      } else {
        stop.abort();
        await running.catch(() => undefined);
        await client.close();
        process.exit(0);
      }
    })();
  });
  return new Promise<never>(() => undefined);
}

function send(msg: FromChild): void {
  process.send?.(msg);
}

// ---- The bench process: control plane, bindings, creates ----------------------------------------

/** Binding i: by selector (group i % 10) for one in ten, else by the name of a Deployment never created. */
function binding(i: number): KubeObject {
  const workload =
    i % 10 === 0
      ? { selector: { matchLabels: { 'bench.bindery.dev/group': `g-${(i / 10) % GROUPS}` } } }
      : { name: `other-${i}` };
  return {
    ...serviceBindingType,
    metadata: { name: `binding-${i}`, namespace: ns },
    spec: {
      service: { apiVersion: 'v1', kind: 'Secret', name: `db-${i}` },
      workload: { apiVersion: 'apps/v1', kind: 'Deployment', ...workload },
    },
  };
}

function deployment(name: string, batch: string, group: string): KubeObject {
  const labels = { app: name, 'bench.bindery.dev/batch': batch, 'bench.bindery.dev/group': group };
  return benchDeployment(name, ns, labels, { app: name });
}

function volumesOf(d: KubeObject): number {
  return ((d['spec'] as { template: { spec: { volumes?: unknown[] } } }).template.spec.volumes ?? []).length;
}

async function seed(client: KubeClient, count: number): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < count; i = next++) {
      const created = await client.create<ServiceBinding>(binding(i) as ServiceBinding);
      const now = new Date().toISOString();
      await client.update(
        {
          ...created,
          status: {
            binding: { name: `db-${i}` },
            observedGeneration: created.metadata.generation ?? 1,
            conditions: ['Ready', 'ServiceAvailable', 'WorkloadProjected'].map((type) => ({
              type,
              status: 'True',
              reason: type === 'Ready' ? 'Ready' : type,
              message: '',
              lastTransitionTime: now,
            })),
          },
        },
        { subresource: 'status' },
      );
    }
  };
  await Promise.all(Array.from({ length: 32 }, worker));
}

const configurations: Array<{ kind: string; name: string }> = [
  { kind: 'MutatingWebhookConfiguration', name: defaultWebhookConfigurationNames.interceptor },
  { kind: 'ValidatingWebhookConfiguration', name: defaultWebhookConfigurationNames.trigger },
  { kind: 'ValidatingWebhookConfiguration', name: defaultWebhookConfigurationNames.validation },
];

async function deleteConfiguration(client: KubeClient, c: { kind: string; name: string }): Promise<void> {
  await client.delete({ apiVersion: ADMISSION, ...c }).catch((err: unknown) => {
    if (!isNotFound(err)) throw err;
  });
}

/** The trigger's configuration, once the webhook process has created it. */
async function configured(client: KubeClient): Promise<{ kind: string; name: string }> {
  const trigger = configurations[1] as { kind: string; name: string };
  for (let attempt = 0; ; attempt++) {
    try {
      await client.get({ apiVersion: ADMISSION, ...trigger });
      return trigger;
    } catch (err) {
      if (!isNotFound(err) || attempt > 300) throw err;
    }
    await sleep(100);
  }
}

/**
 * Until the API server calls the interceptor (`mutated`) or does not: a dry-run create of a
 * Deployment of group g-0 comes back with (or without) the bindings' volumes.
 */
async function untilAdmission(client: KubeClient, mutated: boolean): Promise<void> {
  const deadline = performance.now() + 30_000;
  for (;;) {
    try {
      const d = await client.create(deployment('probe', 'probe', 'g-0'), { dryRun: true });
      if (volumesOf(d) > 1 === mutated) return;
    } catch (err) {
      if (performance.now() > deadline) throw err;
    }
    if (performance.now() > deadline) throw new Error(`the interceptor is still ${mutated ? 'off' : 'on'}`);
    await sleep(100);
  }
}

/** `count` creates from CONCURRENCY loops; latencies in ms, and the volumes each created object got. */
async function createMany(
  client: KubeClient,
  count: number,
  batch: string,
  group: string,
): Promise<{ ms: number; latencies: number[]; volumes: Map<number, number> }> {
  const latencies: number[] = [];
  const volumes = new Map<number, number>();
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      for (let i = next++; i < count; i = next++) {
        const t = performance.now();
        const d = await client.create(deployment(`${batch}-${i}`, batch, group));
        latencies.push(performance.now() - t);
        const v = volumesOf(d);
        volumes.set(v, (volumes.get(v) ?? 0) + 1);
      }
    }),
  );
  return { ms: performance.now() - started, latencies, volumes };
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

class WebhookProcess {
  readonly #child: ChildProcess;
  readonly #inbox: Array<(msg: FromChild) => void> = [];

  constructor(kubeconfig: string) {
    const profile = process.env['BENCH_CPU_PROF'];
    this.#child = fork(import.meta.filename, ['--child', kubeconfig], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      execArgv: profile ? ['--cpu-prof', `--cpu-prof-dir=${profile}`] : [],
    });
    this.#child.on('message', (msg: FromChild) => this.#inbox.shift()?.(msg));
  }

  receive<K extends FromChild['type']>(type: K): Promise<Extract<FromChild, { type: K }>> {
    return new Promise((resolve, reject) => {
      this.#inbox.push((msg) =>
        msg.type === type ? resolve(msg as Extract<FromChild, { type: K }>) : reject(new Error(msg.type)),
      );
    });
  }

  async ask<K extends FromChild['type']>(msg: ToChild, answer: K): Promise<Extract<FromChild, { type: K }>> {
    const received = this.receive(answer);
    this.#child.send(msg);
    return received;
  }

  async stop(): Promise<void> {
    const exited = new Promise((resolve) => this.#child.once('exit', resolve));
    this.#child.send({ type: 'stop' } satisfies ToChild);
    await exited;
  }

  kill(): void {
    this.#child.kill();
  }
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
