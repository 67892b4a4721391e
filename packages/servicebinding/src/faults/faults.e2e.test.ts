// The fault suite (docs/reliability.md): the ServiceBinding manager, in processes of its own with
// leader election, against a real control plane that is restarted, compacted and cut off, and
// replicas that are SIGKILLed. Every binding must converge, and no workload may carry a duplicate
// volume, mount or env entry; a change only a trigger announces is not lost to a leader change. Sized for CI on 2 cores; the full run:
//   BINDERY_FAULTS_BINDINGS=1000 BINDERY_FAULTS_KILLS=10 node --test packages/servicebinding/src/faults/faults.e2e.test.ts

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { ControlPlane, TcpProxy, eventually, schemalessCRD, skipE2E } from '@bindery/controlplane';
import { KubeClient, isAlreadyExists, isNotFound } from '@bindery/kube';
import type { KubeObject, TypeRef } from '@bindery/kube';
import { generateSelfSigned } from '@bindery/runtime';
import { clusterWorkloadResourceMappingCRD, serviceBindingCRD } from '../apis/index.ts';
import type { ServiceBinding } from '../apis/index.ts';
import { serviceBindingType } from '../controllers/servicebinding.ts';
import { defaultWebhookConfigurationNames, triggerAnnotation } from '../webhooks/constants.ts';
import { deleteWebhookConfigurations, webhookManagerRules } from '../webhooks/e2e-helpers.ts';
import { faultLease } from './manager-process.test-helpers.ts';
import type { FaultWebhooks } from './manager-process.test-helpers.ts';

const bindings = Number(process.env['BINDERY_FAULTS_BINDINGS'] ?? 100);
const kills = Number(process.env['BINDERY_FAULTS_KILLS'] ?? 3);
const managerScript = fileURLToPath(new URL('./manager-process.test-helpers.ts', import.meta.url));
const deploymentType: TypeRef = { apiVersion: 'apps/v1', kind: 'Deployment' };
const secretType: TypeRef = { apiVersion: 'v1', kind: 'Secret' };
const backendType: TypeRef = { apiVersion: 'faults.example.com/v1', kind: 'Backend' };
/** A Provisioned Service whose status is written through `/status`; the controller may not watch it. */
const backendCRD: KubeObject = schemalessCRD({
  group: 'faults.example.com',
  kind: 'Backend',
  plural: 'backends',
  status: true,
});
/** How long a convergence of `bindings` may take on a loaded 2-core machine. */
const convergeMs = 60_000 + bindings * 300;

interface Container {
  name: string;
  env?: Array<{ name: string }>;
  volumeMounts?: Array<{ name: string }>;
}
interface PodSpec {
  containers: Container[];
  volumes?: Array<{ name: string; projected?: { sources: Array<{ secret?: { name: string } }> } }>;
}

/**
 * A replica as a kubelet runs it: started again (after `restartDelayMs`) whenever it exits, until
 * stopped. `kill()` SIGKILLs the running process.
 */
class Replica {
  readonly identity: string;
  readonly #kubeconfig: string;
  /** Each test elects on a Lease of its own: a Lease left by an earlier test's replicas cannot delay it. */
  readonly lease: string;
  /** Serves the webhooks (`FaultWebhooks`) when given. */
  readonly #webhooks: FaultWebhooks | undefined;
  #child: ChildProcess | undefined;
  #stopped = false;
  #restart: NodeJS.Timeout | undefined;
  restartDelayMs = 300;
  starts = 0;

  constructor(identity: string, kubeconfig: string, lease: string, webhooks?: FaultWebhooks) {
    this.identity = identity;
    this.#kubeconfig = kubeconfig;
    this.lease = lease;
    this.#webhooks = webhooks;
  }

  start(): void {
    if (this.#stopped) return;
    this.starts++;
    const child = spawn(
      process.execPath,
      [managerScript, this.#kubeconfig, `${this.identity}-${this.starts}`, this.lease],
      {
        stdio: ['ignore', 'ignore', 'inherit'],
        env: this.#webhooks
          ? { ...process.env, BINDERY_FAULTS_WEBHOOKS: JSON.stringify(this.#webhooks) }
          : process.env,
      },
    );
    this.#child = child;
    child.once('exit', () => {
      if (this.#child === child) this.#child = undefined;
      if (!this.#stopped) this.#restart = setTimeout(() => this.start(), this.restartDelayMs);
    });
  }

  /** The identity the running process holds the Lease with. */
  get holder(): string {
    return `${this.identity}-${this.starts}`;
  }

  async kill(): Promise<void> {
    const child = this.#child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#restart); // else a pending restart keeps the test process alive
    const child = this.#child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
}

describe('faults: the ServiceBinding manager under kills, restarts and compaction', { skip: skipE2E }, () => {
  let cp: ControlPlane;
  let admin: KubeClient;
  let dir: string;
  let kubeconfig: string;
  const replicas: Replica[] = [];

  before(
    async () => {
      cp = new ControlPlane({ watchCache: false });
      await cp.start();
      await cp.installCRDs([serviceBindingCRD(), clusterWorkloadResourceMappingCRD()]);
      admin = new KubeClient({ kubeConfig: cp.kubeConfig() });
      dir = await mkdtemp(join(tmpdir(), 'bindery-faults-'));
      kubeconfig = join(dir, 'kubeconfig');
      await cp.writeKubeconfig(kubeconfig);
    },
    { timeout: 30 * 60_000 }, // the first run builds the binaries
  );

  after(async () => {
    await Promise.all(replicas.map((r) => r.stop()));
    await admin?.close();
    await cp?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  function replica(identity: string, lease: string, config = kubeconfig, webhooks?: FaultWebhooks): Replica {
    const r = new Replica(identity, config, `bindery-faults-${lease}`, webhooks);
    replicas.push(r);
    r.start();
    return r;
  }

  /** `count` Secrets, Deployments and direct-Secret bindings in `namespace`, 16 at a time. */
  async function createBindings(namespace: string, from: number, count: number): Promise<void> {
    try {
      await admin.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } });
    } catch {
      // already there
    }
    const indexes = Array.from({ length: count }, (_, i) => from + i);
    for (let i = 0; i < indexes.length; i += 16) {
      await Promise.all(
        indexes.slice(i, i + 16).map(async (n) => {
          const name = `app-${n}`;
          await admin.create({
            ...secretType,
            metadata: { namespace, name },
            stringData: { password: `p${n}` },
          });
          await admin.create(deployment(namespace, name));
          await admin.create({
            ...serviceBindingType,
            metadata: { namespace, name },
            spec: {
              service: { ...secretType, name },
              workload: { ...deploymentType, name },
              env: [{ name: 'DB_PASSWORD', key: 'password' }],
            },
          });
        }),
      );
    }
  }

  /** Throws unless every binding in `namespace` is Ready and projected exactly once into its Deployment. */
  async function assertConverged(namespace: string, expected: number): Promise<void> {
    const list = await admin.list<ServiceBinding>(serviceBindingType, { namespace });
    assert.equal(list.items.length, expected);
    const deployments = await admin.list(deploymentType, { namespace });
    const byName = new Map(deployments.items.map((d) => [d.metadata.name ?? '', d]));
    const notReady: string[] = [];
    for (const b of list.items) {
      const ready = b.status?.conditions?.find((c) => c.type === 'Ready');
      if (ready?.status !== 'True' || b.status?.observedGeneration !== b.metadata.generation) {
        notReady.push(b.metadata.name ?? '');
        continue;
      }
      const d = byName.get(b.spec.workload.name ?? '');
      assert.ok(d, `Deployment ${b.spec.workload.name ?? ''}`);
      assertProjectedOnce(d, b);
    }
    assert.deepEqual(notReady.slice(0, 5), [], `${notReady.length} bindings not converged`);
  }

  it(`converges ${bindings} bindings while the manager is SIGKILLed ${kills} times at random moments, with no duplicate entry`, async (t) => {
    const namespace = 'faults-kill';
    await createBindings(namespace, 0, bindings);
    const r = replica('kill', 'kill');
    for (let k = 0; k < kills; k++) {
      await sleep(500 + Math.random() * 3_000);
      await r.kill();
    }
    const lastKill = Date.now();
    await eventually(() => assertConverged(namespace, bindings), convergeMs);
    t.diagnostic(`converged ${Date.now() - lastKill} ms after the last of ${kills} kills`);
    // On a quiet machine the bindings can converge before the last kill's restart (restartDelayMs).
    await eventually(() => assert.ok(r.starts >= kills + 1), 10_000);
    await r.stop();
  });

  it('catches up within 30 s of a restarted kube-apiserver’s return', async (t) => {
    const namespace = 'faults-restart';
    const r = replica('restart', 'restart');
    const half = Math.max(1, Math.floor(bindings / 2));
    await createBindings(namespace, 0, half);
    await eventually(() => assertConverged(namespace, half), convergeMs);
    await cp.restartApiServer();
    const back = Date.now();
    // Created after its return: only a manager whose watches came back sees them.
    await createBindings(namespace, half, bindings - half);
    const created = Date.now();
    await eventually(() => assertConverged(namespace, bindings), convergeMs);
    const caughtUp = Date.now() - back;
    t.diagnostic(`caught up ${caughtUp} ms after the return, ${created - back} ms of it creating`);
    // The creates themselves take time on a loaded machine; the bound is on the manager's part.
    assert.ok(caughtUp - (created - back) < 30_000, `caught up ${caughtUp} ms after the return`);
    await r.stop();
  });

  it('relists after etcd compaction without losing a delete made while it was cut off', async () => {
    const namespace = 'faults-compaction';
    const proxy = new TcpProxy({ port: Number(new URL(cp.server).port) });
    await proxy.start();
    const viaProxy = join(dir, 'kubeconfig-proxy');
    await writeFile(viaProxy, cp.kubeconfig().replace(cp.server, `https://127.0.0.1:${proxy.port}`), {
      mode: 0o600,
    });
    const r = replica('compaction', 'compaction', viaProxy);
    try {
      await createBindings(namespace, 0, 2);
      await eventually(() => assertConverged(namespace, 2), convergeMs);

      // Cut off, so the manager misses the deletion and the history is compacted behind it. Shorter
      // than the Lease's renew deadline: the same process must relist, not a restarted one list.
      proxy.setMode('refuse', { cut: true });
      await admin.delete({ ...serviceBindingType, namespace, name: 'app-0' });
      await admin.delete({ ...deploymentType, namespace, name: 'app-1' });
      await admin.create(deployment(namespace, 'app-1'));
      await cp.compactEtcd();
      proxy.setMode('pass');

      // The binding held by its finalizer is finished (its projection removed, then gone), and
      // the recreated Deployment is projected again: what changed while cut off was not lost.
      await eventually(async () => {
        try {
          await admin.get({ ...serviceBindingType, namespace, name: 'app-0' });
          assert.fail('app-0 still exists');
        } catch (err) {
          if (!isNotFound(err)) throw err;
        }
        const d0 = await admin.get({ ...deploymentType, namespace, name: 'app-0' });
        const spec = (d0['spec'] as { template: { spec: PodSpec } }).template.spec;
        assert.ok(
          !(spec.volumes ?? []).some((v) => v.name.startsWith('servicebinding-')),
          'app-0 unprojected',
        );
        await assertConverged(namespace, 1);
      }, convergeMs);
    } finally {
      await r.stop();
      await proxy.stop();
    }
  });

  it('with two replicas, the other takes over when the leader is killed, and nothing is lost', async (t) => {
    const namespace = 'faults-failover';
    const a = replica('a', 'failover');
    const b = replica('b', 'failover');
    const lease = {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      namespace: faultLease.namespace,
      name: a.lease,
    };
    const holder = async (): Promise<string> =>
      String(((await admin.get(lease))['spec'] as { holderIdentity?: string }).holderIdentity ?? '');
    const leaderOf = async (): Promise<Replica> => {
      const h = await holder();
      const found = [a, b].find((r) => r.holder === h);
      assert.ok(found, `lease held by ${h}`);
      return found;
    };
    const first = await eventually(leaderOf, 60_000);
    await createBindings(namespace, 0, bindings);
    // Killed mid-convergence, and kept down long enough that only the other can take over.
    first.restartDelayMs = 60_000;
    await first.kill();
    const killed = Date.now();
    const other = first === a ? b : a;
    await eventually(async () => assert.equal(await holder(), other.holder), 60_000);
    const tookOver = Date.now() - killed;
    await eventually(() => assertConverged(namespace, bindings), convergeMs);
    t.diagnostic(`took over ${tookOver} ms after the kill; converged ${Date.now() - killed} ms after it`);
    // A manager left running would reconcile the next test's bindings too.
    await Promise.all([a.stop(), b.stop()]);
  });

  it('with two replicas serving the trigger, a leader kill loses no change that only a trigger announces', async (t) => {
    const namespace = 'faults-triggers';
    const services = 3;
    await cp.installCRDs([backendCRD]);
    // Backends readable but not watchable: no watch sees their status change, only the trigger.
    const user = await cp.addUser({
      name: 'servicebinding-controller',
      rules: webhookManagerRules([
        { apiGroups: ['faults.example.com'], resources: ['backends'], verbs: ['get', 'list'] },
      ]),
    });
    const certs = await generateSelfSigned({
      service: 'bindery-webhook',
      namespace: 'bindery-system',
      extraHosts: ['127.0.0.1'],
    });
    const certDir = join(dir, 'webhook-certs');
    await mkdir(certDir, { recursive: true });
    await writeFile(join(certDir, 'tls.crt'), certs.serving.cert);
    await writeFile(join(certDir, 'tls.key'), certs.serving.key, { mode: 0o600 });
    // The configurations can point at one URL: the standby's. Before the kill it forwards triggers
    // to the leader through the annotation patch; during the takeover it is the only replica left;
    // after it, it is the leader and enqueues them itself.
    const standbyPort = await freePort();
    const webhooks = (port: number): FaultWebhooks => ({
      port,
      certDir,
      url: `https://127.0.0.1:${standbyPort}`,
      caBundle: certs.caBundle,
      // Ten minutes, and Backends not watchable: within the test, only a trigger (or a new
      // leader's first list) makes the controller read a Backend again.
      servicePollIntervalMs: 10 * 60_000,
    });
    const lease = {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      namespace: faultLease.namespace,
      name: 'bindery-faults-triggers',
    };
    const holder = async (): Promise<string> =>
      String(((await admin.get(lease))['spec'] as { holderIdentity?: string }).holderIdentity ?? '');
    const leader = replica('leader', 'triggers', user.kubeconfigPath, webhooks(0));
    await eventually(async () => assert.equal(await holder(), leader.holder), 60_000);
    const standby = replica('standby', 'triggers', user.kubeconfigPath, webhooks(standbyPort));

    try {
      await admin.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } });
      let round = 0;
      /** Every Backend's `.status.binding.name` moves to a new Secret: a change no watch sees. */
      const rotate = async (): Promise<void> => {
        round++;
        await Promise.all(
          Array.from({ length: services }, async (_, i) => {
            const secret = `db-${i}-${round}`;
            await admin.create({
              ...secretType,
              metadata: { namespace, name: secret },
              stringData: { password: secret },
            });
            await admin.patch(
              { ...backendType, namespace, name: `db-${i}` },
              { status: { binding: { name: secret } } },
              { type: 'merge', subresource: 'status' },
            );
          }),
        );
      };
      /** Every Deployment projects its Backend's Secret of `want` round, once, and its binding says so. */
      const assertRound = async (want: number): Promise<void> => {
        const list = await admin.list<ServiceBinding>(serviceBindingType, { namespace });
        assert.equal(list.items.length, services);
        for (const b of list.items) {
          const name = b.metadata.name ?? '';
          const secret = `db-${name.slice('app-'.length)}-${want}`;
          const d = await admin.get({ ...deploymentType, namespace, name });
          assertProjectedOnce(d, { ...b, spec: { ...b.spec, service: { ...b.spec.service, name: secret } } });
          assert.equal(b.status?.binding?.name, secret, `${name}: status.binding`);
        }
      };

      // The bindings, through the standby's webhooks (the interceptor and validation fail closed,
      // so each create waits until the standby serves them).
      for (let i = 0; i < services; i++) {
        await admin.create({ ...backendType, metadata: { namespace, name: `db-${i}` } });
      }
      await rotate();
      for (let i = 0; i < services; i++) {
        const name = `app-${i}`;
        await eventually(() => admin.create(deployment(namespace, name)).catch(ignoreAlreadyExists), 60_000);
        await eventually(
          () =>
            admin
              .create({
                ...serviceBindingType,
                metadata: { namespace, name },
                spec: {
                  service: { ...backendType, name: `db-${i}` },
                  workload: { ...deploymentType, name },
                  env: [{ name: 'DB_PASSWORD', key: 'password' }],
                },
              })
              .catch(ignoreAlreadyExists),
          60_000,
        );
      }
      await eventually(() => assertRound(1), convergeMs);
      await eventually(async () => {
        const trigger = await admin.get({
          apiVersion: 'admissionregistration.k8s.io/v1',
          kind: 'ValidatingWebhookConfiguration',
          name: defaultWebhookConfigurationNames.trigger,
        });
        const rules =
          (trigger['webhooks'] as Array<{ rules?: Array<{ resources: string[] }> }>)[0]?.rules ?? [];
        assert.ok(
          rules.some((r) => r.resources.includes('backends/status')),
          'the trigger sees Backend status writes',
        );
      }, 60_000);

      // Before the kill: the standby forwards the trigger, the leader re-projects.
      await rotate();
      await eventually(() => assertRound(2), 30_000);
      const forwarded = await admin.list<ServiceBinding>(serviceBindingType, { namespace });
      assert.ok(
        forwarded.items.every((b) => b.metadata.annotations?.[triggerAnnotation] !== undefined),
        'forwarded by the standby through the annotation patch',
      );

      // The leader killed and kept down; rotations during the takeover, then after it.
      leader.restartDelayMs = 60_000;
      await leader.kill();
      const killed = Date.now();
      let tookOver = 0;
      for (let r = 0; r < 20; r++) {
        await rotate();
        if (tookOver === 0 && (await holder()) === standby.holder) tookOver = Date.now() - killed;
        else if (tookOver !== 0) break; // one rotation after the takeover was seen
        await sleep(1_000);
      }
      assert.ok(tookOver > 0, 'the standby took over');
      await eventually(() => assertRound(round), convergeMs);
      // The new leader's first list is behind it now: a further change travels by the trigger alone.
      await rotate();
      const rotatedAt = Date.now();
      await eventually(() => assertRound(round), 30_000);
      t.diagnostic(
        `took over ${tookOver} ms after the kill; ${round} rotations, the last projected ${Date.now() - rotatedAt} ms after it`,
      );
    } finally {
      await Promise.all([leader.stop(), standby.stop()]);
      // Nothing serves them now: the interceptor fails closed.
      await deleteWebhookConfigurations(admin);
    }
  });
});

function ignoreAlreadyExists(err: unknown): undefined {
  if (isAlreadyExists(err)) return undefined;
  throw err;
}

/** A loopback port free a moment ago, for a server in a child process the configurations must name first. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  assert.ok(address !== null && typeof address !== 'string');
  return address.port;
}

function deployment(namespace: string, name: string): KubeObject {
  return {
    ...deploymentType,
    metadata: { namespace, name, labels: { app: name } },
    spec: {
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          containers: [
            { name: 'app', image: 'registry.example/app:1', env: [{ name: 'LOG_LEVEL', value: 'info' }] },
          ],
          volumes: [{ name: 'cache', emptyDir: {} }],
        },
      },
    },
  };
}

/** The binding's volume, mount and env are there once, and no name is there twice. */
function assertProjectedOnce(d: KubeObject, b: ServiceBinding): void {
  const spec = (d['spec'] as { template: { spec: PodSpec } }).template.spec;
  const where = `Deployment ${d.metadata.name ?? ''}`;
  const volumes = (spec.volumes ?? []).map((v) => v.name);
  assert.equal(new Set(volumes).size, volumes.length, `${where}: duplicate volume in ${volumes.join(', ')}`);
  const volume = spec.volumes?.find((v) => v.name === `servicebinding-${b.metadata.uid ?? ''}`);
  assert.equal(volume?.projected?.sources[0]?.secret?.name, b.spec.service.name, `${where}: projected`);
  for (const c of spec.containers) {
    const mounts = (c.volumeMounts ?? []).map((m) => m.name);
    assert.equal(new Set(mounts).size, mounts.length, `${where}: duplicate mount in ${mounts.join(', ')}`);
    const env = (c.env ?? []).map((e) => e.name);
    assert.equal(new Set(env).size, env.length, `${where}: duplicate env in ${env.join(', ')}`);
    assert.ok(env.includes('DB_PASSWORD') && mounts.includes(volume?.name ?? ''), `${where}: env and mount`);
  }
}
