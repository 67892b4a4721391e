// OSB platform at scale on a real control plane: N ServiceInstances of the sample broker's
// `bindery-database`/`small` plan (provisioned asynchronously, 1 s per operation) and N
// ServiceCredentialBindings, one per instance, created at once; time until every instance and every
// binding is Ready, the broker requests per object against the floor (one PUT per instance and per
// binding, plus the polls of each async provision), the status writes per object, and memory.
//
// The manager, the sample broker and this driver share one process (RSS is theirs together; the
// heap figure is what the process holds at the end). Broker requests come from the sample broker's
// own `osb_broker_requests_total`; status writes are counted on Node's `http.client.request.start` channel (PUT
// …/status of the two kinds: only the manager writes status).
// Run: node bench/osb.bench.ts [N] [runs]
import { subscribe } from 'node:diagnostics_channel';
import { setTimeout as sleep } from 'node:timers/promises';
import { ControlPlane } from '@bindery/controlplane';
import type { KubeClient, KubeObject } from '@bindery/kube';
import { OsbClient, addOsbPlatformControllers, apiVersion, osbCRDs, osbClientBrokerApi } from '@bindery/osb';
import { catalogObjects } from '@bindery/osb/testing';
import { sampleCatalog, startSampleBroker } from '@bindery/osb-broker';
import { Manager } from '@bindery/runtime';
import type { Condition } from '@bindery/runtime';
import { pino } from 'pino';
import { machine, median, report } from './stats.ts';

const ns = 'bench-osb';
const n = Number(process.argv[2] ?? 1000);
const runs = Number(process.argv[3] ?? 3);
const concurrency = 32;

let statusWrites = 0;
subscribe('http.client.request.start', (message) => {
  const { request } = message as { request: { method: string; path: string } };
  if (
    request.method === 'PUT' &&
    request.path.includes('/status') &&
    (request.path.includes('/serviceinstances/') || request.path.includes('/servicecredentialbindings/'))
  ) {
    statusWrites++;
  }
});

async function inBatches(count: number, create: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) await create(next++);
    }),
  );
}

async function readyCount(client: KubeClient, kind: string): Promise<number> {
  const list = await client.list({ apiVersion, kind }, { namespace: ns });
  return list.items.filter((o: KubeObject) =>
    ((o['status'] as { conditions?: Condition[] } | undefined)?.conditions ?? []).some(
      (c) => c.type === 'Ready' && c.status === 'True',
    ),
  ).length;
}

interface RunResult {
  seconds: number;
  /** Until every instance was Ready. */
  instancesSeconds: number;
  brokerRequests: Record<string, number>;
  statusWrites: number;
  rssMiB: number;
  heapMiB: number;
}

async function run(): Promise<RunResult> {
  const cp = new ControlPlane();
  await cp.start();
  const stop = new AbortController();
  let running: Promise<void> | undefined;
  const admin = cp.client();
  const sample = await startSampleBroker({
    client: admin,
    namespace: 'bench-osb-broker',
    delayMs: 1000,
    log: pino({ level: 'silent' }),
  });
  const osb = new OsbClient({ url: sample.url, timeoutMs: 30_000 });
  try {
    await cp.installCRDs(osbCRDs());
    await admin.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
    for (const obj of catalogObjects(sampleCatalog, 'sample')) await admin.create(obj);
    const api = osbClientBrokerApi(osb);
    const manager = new Manager({
      client: admin,
      name: 'osb-bench',
      log: pino({ level: 'silent' }),
      metrics: false,
      health: false,
    });
    addOsbPlatformControllers(manager, { brokers: () => Promise.resolve(api), workers: 8 });
    running = manager.start(stop.signal);
    statusWrites = 0;

    const started = performance.now();
    await inBatches(n, async (i) => {
      await admin.create({
        apiVersion,
        kind: 'ServiceInstance',
        metadata: { name: `db-${i}`, namespace: ns },
        spec: {
          clusterServiceClassExternalName: 'bindery-database',
          clusterServicePlanExternalName: 'small',
        },
      });
      await admin.create({
        apiVersion,
        kind: 'ServiceCredentialBinding',
        metadata: { name: `db-${i}`, namespace: ns },
        spec: { instanceRef: { name: `db-${i}` } },
      });
    });
    const deadline = Date.now() + 30 * 60_000;
    let instancesSeconds = 0;
    for (;;) {
      const [instances, bindings] = [
        await readyCount(admin, 'ServiceInstance'),
        await readyCount(admin, 'ServiceCredentialBinding'),
      ];
      if (instances === n && instancesSeconds === 0) instancesSeconds = (performance.now() - started) / 1000;
      if (instances === n && bindings === n) break;
      if (Date.now() > deadline)
        throw new Error(`not Ready after 30 min: ${instances} instances, ${bindings} bindings`);
      await sleep(500);
    }
    const seconds = (performance.now() - started) / 1000;
    const metric = await sample.registry.getSingleMetric('osb_broker_requests_total')?.get();
    const brokerRequests: Record<string, number> = {};
    for (const v of metric?.values ?? []) {
      const op = String(v.labels['operation']);
      brokerRequests[op] = (brokerRequests[op] ?? 0) + v.value;
    }
    const mem = process.memoryUsage();
    return {
      seconds,
      instancesSeconds,
      brokerRequests,
      statusWrites,
      rssMiB: mem.rss / 2 ** 20,
      heapMiB: mem.heapUsed / 2 ** 20,
    };
  } finally {
    stop.abort();
    await running?.catch(() => undefined);
    await osb.close();
    await sample.stop();
    await cp.stop();
  }
}

const results: RunResult[] = [];
for (let r = 0; r < runs; r++) {
  const result = await run();
  results.push(result);
  console.log(`run ${r + 1}: ${JSON.stringify(result)}`);
}
const per = (f: (r: RunResult) => number) => median(results.map(f));
report(`OSB platform: ${n} instances + ${n} credential bindings vs the sample broker (${machine()})`, [
  ['time to all instances Ready (s)', per((r) => r.instancesSeconds)],
  ['time to all instances and bindings Ready (s)', per((r) => r.seconds)],
  ['provision PUTs per instance', per((r) => (r.brokerRequests['provision'] ?? 0) / n)],
  ['last_operation polls per instance', per((r) => (r.brokerRequests['last_operation'] ?? 0) / n)],
  ['bind PUTs per binding', per((r) => (r.brokerRequests['bind'] ?? 0) / n)],
  ['status writes per object (instance or binding)', per((r) => r.statusWrites / (2 * n))],
  ['process RSS at the end (MiB)', per((r) => r.rssMiB)],
  ['heap used at the end (MiB)', per((r) => r.heapMiB)],
]);
