// Credential rotation on a real control plane (issue 11): how long after a Provisioned Service
// rotates its credentials the workload's pod template follows.
//
// One control plane; the manager runs in its own process as a restricted user (the installed
// permissions: list and watch on the workload kinds, Secrets as metadata). N Deployments are
// bound to `WatchedBackend`s (a Provisioned Service kind the manager may list and watch), every
// other binding with the rollout opt-in (docs/rollout.md); `rotations` more are bound to
// `PolledBackend`s, which the manager may only `get`, so it polls them (every 60 s, the default).
// Once everything is projected:
//   (a) `name`:    a WatchedBackend's `.status.binding.name` moves to a new Secret → the
//                  Deployment's projected volume names it;
//   (b) `data`:    new data in the Secret a WatchedBackend names (rollout opt-in) → the pod
//                  template's `bindery.dev/secret-version-<uid>` annotation changes;
//   (c) `polled`:  as (a) for PolledBackends. These are rotated at moments spread evenly over one
//                  poll interval (a rotation lands at any point of the poll's phase), concurrently.
// (a) and (b) run one rotation at a time. The clock starts just before the write that rotates
// and stops when the bench's own Deployment watch sees the change.
// Run: node bench/rotation.bench.ts [N] [rotations]
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { ControlPlane, schemalessCRD } from '@bindery/controlplane';
import type { PolicyRule } from '@bindery/controlplane';
import { KubeClient, SharedInformer } from '@bindery/kube';
import type { KubeObject, TypeRef } from '@bindery/kube';
import { Manager } from '@bindery/runtime';
import {
  addServiceBindingController,
  clusterWorkloadResourceMappingCRD,
  rolloutAnnotation,
  secretVersionAnnotationPrefix,
  serviceBindingCRD,
  serviceBindingType,
} from '@bindery/servicebinding';
import { pino } from 'pino';
import { benchDeployment, deploymentType } from './fixtures.ts';
import { loadavg } from './proc.ts';
import { machine, median, percentile } from './stats.ts';

const ns = 'bench-rotation';
const group = 'rotation.bench.example.com';
const secretType: TypeRef = { apiVersion: 'v1', kind: 'Secret' };
const watchedType: TypeRef = { apiVersion: `${group}/v1`, kind: 'WatchedBackend' };
const polledType: TypeRef = { apiVersion: `${group}/v1`, kind: 'PolledBackend' };
/** The controller's default `servicePollIntervalMs`. */
const pollMs = 60_000;

type ToChild = 'stop' | 'reconciles';

if (process.argv[2] === '--child') await child(process.argv[3] as string);

/** The manager, alone in its process, as installed (default poll and Secret access). */
async function child(kubeconfig: string): Promise<never> {
  const client = KubeClient.fromKubeConfig({ kubeconfig });
  const manager = new Manager({
    client,
    name: 'servicebinding',
    log: pino({ level: 'silent' }),
    metrics: false,
    health: false,
  });
  addServiceBindingController(manager, { ensureDefaultMappings: false });
  const stop = new AbortController();
  const running = manager.start(stop.signal);
  const exit = (): void => {
    stop.abort();
    void running.finally(() => client.close()).finally(() => process.exit(0));
  };
  // Stopped by the bench, or with it; otherwise asked how many reconciles it has run.
  process.on('message', (msg: ToChild) => {
    if (msg === 'stop') return exit();
    void manager.registry
      .getSingleMetric('controller_runtime_reconcile_total')
      ?.get()
      .then((m) => process.send?.({ reconciles: m.values.reduce((n, v) => n + v.value, 0) }));
  });
  process.on('disconnect', exit);
  const deadline = performance.now() + 120_000;
  const synced = (): boolean =>
    manager.informers.informers().length > 0 && manager.informers.informers().every((i) => i.hasSynced());
  while (!synced() && performance.now() < deadline) await sleep(20);
  process.send?.('ready');
  return new Promise<never>(() => undefined);
}

// ---- Objects ---------------------------------------------------------------------------------

const crd = (kind: string, plural: string): KubeObject =>
  schemalessCRD({
    group,
    kind,
    plural,
    status: true,
    labels: { 'servicebinding.io/provisioned-service': 'true' },
  });

const rule = (apiGroups: string[], resources: string[], verbs: string[]): PolicyRule => ({
  apiGroups,
  resources,
  verbs,
});
const rw = ['get', 'list', 'watch', 'update', 'patch'];

/** The installed ClusterRole's rules, with list and watch on WatchedBackends and only get on PolledBackends. */
const controllerRules: PolicyRule[] = [
  rule(['servicebinding.io'], ['servicebindings'], rw),
  rule(['servicebinding.io'], ['servicebindings/status'], ['get', 'update', 'patch']),
  rule(['servicebinding.io'], ['servicebindings/finalizers'], ['update']),
  rule(['servicebinding.io'], ['clusterworkloadresourcemappings'], ['get', 'list', 'watch']),
  rule([''], ['secrets'], ['get', 'list', 'watch']),
  rule(['', 'events.k8s.io'], ['events'], ['create', 'update', 'patch']),
  rule(['apps'], ['deployments', 'statefulsets', 'daemonsets', 'replicasets'], rw),
  rule([''], ['replicationcontrollers'], rw),
  rule(['batch'], ['jobs', 'cronjobs'], rw),
  rule([group], ['watchedbackends'], ['get', 'list', 'watch']),
  rule([group], ['polledbackends'], ['get']),
];

const secret = (name: string, password: string): KubeObject => ({
  ...secretType,
  metadata: { name, namespace: ns },
  type: 'servicebinding.io/postgresql',
  stringData: { type: 'postgresql', host: `${name}.example.com`, username: 'app', password },
});

/** Service `name` of `type`, naming Secret `<name>-0`: created, then its status written. */
async function createService(client: KubeClient, type: TypeRef, name: string): Promise<void> {
  await client.create(secret(`${name}-0`, 'initial'));
  const created = await client.create({ ...type, metadata: { name, namespace: ns }, spec: {} });
  await client.updateStatus({ ...created, status: { binding: { name: `${name}-0` } } });
}

async function createBound(client: KubeClient, type: TypeRef, name: string, rollout: boolean): Promise<void> {
  await createService(client, type, name);
  await client.create(benchDeployment(name, ns, { app: name }));
  await client.create({
    ...serviceBindingType,
    metadata: { name, namespace: ns, ...(rollout ? { annotations: { [rolloutAnnotation]: 'true' } } : {}) },
    spec: { service: { ...type, name }, workload: { ...deploymentType, name } },
  });
}

// ---- What a Deployment's pod template says ---------------------------------------------------

interface Projection {
  secret?: string;
  version?: string;
}

/** The Secret the (one) binding projects into `d`, and the Secret version annotation, if any. */
function projectionOf(d: KubeObject): Projection {
  const template = (d['spec'] as { template?: PodTemplate } | undefined)?.template;
  const volume = template?.spec?.volumes?.find((v) => v.name.startsWith('servicebinding-'));
  const annotations = Object.entries(template?.metadata?.annotations ?? {});
  const version = annotations.find(([k]) => k.startsWith(secretVersionAnnotationPrefix))?.[1];
  const secretName = volume?.projected?.sources?.[0]?.secret?.name;
  return { ...(secretName ? { secret: secretName } : {}), ...(version ? { version } : {}) };
}

interface PodTemplate {
  metadata?: { annotations?: Record<string, string> };
  spec?: {
    volumes?: Array<{ name: string; projected?: { sources?: Array<{ secret?: { name?: string } }> } }>;
  };
}

/** Watches the Deployments; `until` resolves at the first event where a Deployment's projection passes a check. */
class ProjectionWatch {
  readonly informer: SharedInformer<KubeObject>;
  readonly #waiters = new Map<string, { check: (p: Projection) => boolean; resolve: (at: number) => void }>();

  constructor(client: KubeClient) {
    this.informer = new SharedInformer<KubeObject>({ client, type: deploymentType, namespace: ns });
    const seen = (d: KubeObject): void => {
      const name = d.metadata.name ?? '';
      const waiter = this.#waiters.get(name);
      if (waiter?.check(projectionOf(d))) {
        this.#waiters.delete(name);
        waiter.resolve(performance.now());
      }
    };
    this.informer.addEventHandler({ onAdd: seen, onUpdate: (_, d) => seen(d) });
  }

  get(name: string): Projection {
    const d = this.informer.indexer.get(`${ns}/${name}`);
    return d ? projectionOf(d) : {};
  }

  /** When (performance.now()) Deployment `name` first shows a projection passing `check`. */
  async until(name: string, check: (p: Projection) => boolean, timeoutMs: number): Promise<number> {
    if (check(this.get(name))) return performance.now();
    const { promise, resolve, reject } = Promise.withResolvers<number>();
    this.#waiters.set(name, { check, resolve });
    const timer = setTimeout(() => {
      this.#waiters.delete(name);
      reject(new Error(`Deployment ${name}: no matching projection within ${timeoutMs} ms`));
    }, timeoutMs);
    return promise.finally(() => clearTimeout(timer));
  }
}

// ---- The rotations ---------------------------------------------------------------------------

/** Points service `name`'s `.status.binding.name` at a new Secret `<name>-<k>`; ms until projected. */
async function rotateName(
  client: KubeClient,
  watch: ProjectionWatch,
  type: TypeRef,
  name: string,
  k: number,
): Promise<number> {
  const next = `${name}-${k}`;
  await client.create(secret(next, `rotated-${k}`));
  const service = await client.get({ ...type, namespace: ns, name });
  const start = performance.now();
  const seen = watch.until(name, (p) => p.secret === next, 3 * pollMs);
  await client.updateStatus({ ...service, status: { binding: { name: next } } });
  return (await seen) - start;
}

/** New data in the Secret service `name` names; ms until the pod template carries its new version. */
async function rotateData(
  client: KubeClient,
  watch: ProjectionWatch,
  name: string,
  k: number,
): Promise<number> {
  const current = watch.get(name).secret ?? '';
  const s = await client.get({ ...secretType, namespace: ns, name: current });
  const start = performance.now();
  const written = client.update({ ...s, stringData: { password: `changed-${k}` } });
  // The check needs the new resourceVersion: wait for the write, then for the annotation.
  const version = (await written).metadata.resourceVersion;
  return (await watch.until(name, (p) => p.version === version, 3 * pollMs)) - start;
}

interface Figures {
  samples: number[];
  load: string[];
}

function summary(label: string, f: Figures): string {
  const ms = (v: number): string => v.toFixed(0);
  return (
    `| ${label} | ${f.samples.length} | ${ms(median(f.samples))} | ${ms(percentile(f.samples, 0.95))} | ` +
    `${ms(Math.max(...f.samples))} | ${f.load.join(' → ')} |`
  );
}

const count = Number(process.argv[2] ?? 100);
const rotations = Number(process.argv[3] ?? 10);
if (!(count >= 2 && rotations >= 1)) throw new Error('usage: rotation.bench.ts [N ≥ 2] [rotations ≥ 1]');

const cp = new ControlPlane();
await cp.start();
const stopWatch = new AbortController();
let manager: ChildProcess | undefined;
try {
  const admin = cp.client();
  await cp.installCRDs([
    serviceBindingCRD(),
    clusterWorkloadResourceMappingCRD(),
    crd('WatchedBackend', 'watchedbackends'),
    crd('PolledBackend', 'polledbackends'),
  ]);
  await admin.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  // Granted, and waited on until the authorizer enforces it.
  const user = await cp.addUser({ name: 'rotation-bench', rules: controllerRules });

  const seeded = performance.now();
  const jobs = [
    ...Array.from({ length: count }, (_, i) => () => createBound(admin, watchedType, `w-${i}`, i % 2 === 1)),
    ...Array.from({ length: rotations }, (_, j) => () => createBound(admin, polledType, `p-${j}`, false)),
  ];
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      for (let job = jobs[next++]; job; job = jobs[next++]) await job();
    }),
  );
  console.log(
    `seeded ${count} watched + ${rotations} polled bindings in ${((performance.now() - seeded) / 1000).toFixed(1)} s`,
  );

  const watch = new ProjectionWatch(admin);
  void watch.informer.run(stopWatch.signal);
  await watch.informer.waitForSync();
  const spawned = performance.now();
  manager = fork(import.meta.filename, ['--child', user.kubeconfigPath], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const child = manager;
  await new Promise((resolve, reject) => {
    child.once('message', resolve);
    child.once('exit', (code) => reject(new Error(`the manager exited (${String(code)})`)));
  });
  // Converged: every Deployment projects its service's first Secret (and its version, if opted in).
  const names = [
    ...Array.from({ length: count }, (_, i) => [`w-${i}`, i % 2 === 1] as const),
    ...Array.from({ length: rotations }, (_, j) => [`p-${j}`, false] as const),
  ];
  await Promise.all(
    names.map(([name, rollout]) =>
      watch.until(
        name,
        (p) => p.secret === `${name}-0` && (!rollout || p.version !== undefined),
        10 * 60_000,
      ),
    ),
  );
  console.log(`manager converged ${((performance.now() - spawned) / 1000).toFixed(1)} s after spawn`);
  // The trailing reconciles (each status write enqueues its binding again) done before each scenario.
  const quiet = async (): Promise<void> => {
    let last = -1;
    let still = 0;
    for (const deadline = performance.now() + 5 * 60_000; still < 3 && performance.now() < deadline;) {
      const reply = new Promise<{ reconciles: number }>((resolve) => child.once('message', resolve));
      child.send('reconciles' satisfies ToChild);
      const { reconciles } = await reply;
      still = reconciles === last ? still + 1 : 0;
      last = reconciles;
      await sleep(1_000);
    }
  };
  await quiet();

  // (a) and (b): one rotation at a time, over the bindings in turn.
  const oneAtATime = async (label: string, rotate: (k: number) => Promise<number>): Promise<Figures> => {
    const f: Figures = { samples: [], load: [await loadavg()] };
    for (let k = 1; k <= rotations; k++) {
      const ms = await rotate(k);
      f.samples.push(ms);
      console.log(`  ${label} ${k}: ${ms.toFixed(0)} ms`);
      await sleep(500);
    }
    f.load.push(await loadavg());
    await quiet();
    return f;
  };
  const byName = await oneAtATime('(a) name rotation', (k) =>
    rotateName(admin, watch, watchedType, `w-${((k - 1) * 2) % count}`, k),
  );
  const byData = await oneAtATime('(b) data rotation', (k) =>
    rotateData(admin, watch, `w-${((k - 1) * 2 + 1) % count}`, k),
  );

  // (c): each polled service rotated once, at moments spread over one poll interval.
  const polled: Figures = { samples: [], load: [await loadavg()] };
  await Promise.all(
    Array.from({ length: rotations }, async (_, j) => {
      await sleep((j * pollMs) / rotations);
      const ms = await rotateName(admin, watch, polledType, `p-${j}`, 1);
      polled.samples.push(ms);
      console.log(`  (c) polled name rotation ${j + 1}: ${ms.toFixed(0)} ms`);
    }),
  );
  polled.load.push(await loadavg());

  console.log(
    `\nCredential rotation: ${count} Deployments bound to watched Provisioned Services (half with the rollout opt-in), ` +
      `${rotations} rotations each; ${machine()}\n`,
  );
  console.log(
    '| rotation | n | median (ms) | p95 (ms) | max (ms) | load average (1 5 15 min) before → after |',
  );
  console.log('|---|---|---|---|---|---|');
  console.log(summary('(a) `.status.binding.name` → new Secret, service kind watched', byName));
  console.log(summary('(b) Secret data changed, rollout opt-in, service kind watched', byData));
  console.log(summary('(c) `.status.binding.name` → new Secret, service kind `get` only (polled)', polled));
} finally {
  const running = manager;
  if (running && running.exitCode === null) {
    const exited = new Promise((resolve) => running.once('exit', resolve));
    running.send('stop' satisfies ToChild);
    await Promise.race([exited, sleep(10_000)]);
    running.kill();
  }
  stopWatch.abort();
  await cp.stop();
}
