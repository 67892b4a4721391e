// The ServiceBinding samples on a real kube-apiserver and etcd. Each test runs the `kubectl apply`
// commands of its section of README.md, in order (so the README cannot drift from the files), then
// checks what the controller wrote: the pod templates and the bindings' conditions. There is no
// kubelet, so nothing runs; the tests assert on the stored objects.
//
// The controller runs as a user that holds only Bindery's own rules plus the ClusterRoles the
// samples label `servicebinding.io/controller: "true"`. The control plane has no
// kube-controller-manager to aggregate those, so `startEnvironment` binds each one as it is applied:
// a sample whose ClusterRole lacks a verb the controller needs fails here.

import assert from 'node:assert/strict';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ControlPlane, eventually, grantClusterRole, skipE2E, waitForRules } from '@bindery/controlplane';
import type { PolicyRule } from '@bindery/controlplane';
import { KubeClient } from '@bindery/kube';
import type { KubeObject, ObjectRef, TypeRef } from '@bindery/kube';
import { Manager } from '@bindery/runtime';
import { addServiceBindingController, installNames, renderInstallBundle } from '@bindery/servicebinding';
import type { ServiceBinding } from '@bindery/servicebinding';
import { pino } from 'pino';
import { parseAllDocuments } from 'yaml';

const here = fileURLToPath(new URL('.', import.meta.url));
const repo = join(here, '..', '..');
const namespace = 'default';
const controllerLabel = 'servicebinding.io/controller';

const bindingType: TypeRef = { apiVersion: 'servicebinding.io/v1', kind: 'ServiceBinding' };
const secretType: TypeRef = { apiVersion: 'v1', kind: 'Secret' };
const deploymentType: TypeRef = { apiVersion: 'apps/v1', kind: 'Deployment' };
const cronJobType: TypeRef = { apiVersion: 'batch/v1', kind: 'CronJob' };
const taskRunnerType: TypeRef = { apiVersion: 'samples.bindery.dev/v1alpha1', kind: 'TaskRunner' };

// ---- The environment: one function to start it, one to stop it ---------------------------------

interface Environment {
  /** Acts as a cluster admin (the user running `kubectl`). */
  client: KubeClient;
  /** Installs CustomResourceDefinitions and waits until they are served. */
  installCRDs(crds: KubeObject[]): Promise<void>;
  /** Called after a ClusterRole labelled `servicebinding.io/controller: "true"` is applied. */
  aggregate(role: KubeObject): Promise<void>;
  stop(): Promise<void>;
}

/** What Bindery's install bundle grants the controller cluster-wide, before any aggregated role is added. */
const bindery = new Set<string>([installNames.managerClusterRole, installNames.workloadsClusterRole]);
const controllerRules: PolicyRule[] = renderInstallBundle()
  .filter((o) => o.kind === 'ClusterRole' && bindery.has(o.metadata.name ?? ''))
  .flatMap((o) => (o['rules'] as PolicyRule[] | undefined) ?? []);

/**
 * A control plane with the CRDs of config/crd and the default mappings installed, and a Manager
 * running the ServiceBinding controller as a restricted user.
 */
async function startEnvironment(): Promise<Environment> {
  const cp = new ControlPlane();
  await cp.start();
  const client = cp.client();
  const crds = await readManifests(join(repo, 'config', 'crd'));
  await cp.installCRDs(crds);
  for (const mapping of await readManifests(
    join(repo, 'config', 'servicebinding-workloadresourcemappings.yaml'),
  )) {
    await client.create(mapping);
  }

  const user = await cp.addUser({ name: 'bindery-samples-controller', rules: controllerRules });
  const controller = KubeClient.fromKubeConfig({ kubeconfig: user.kubeconfigPath });
  // The API server creates `default` shortly after it starts.
  await eventually(() => client.get({ apiVersion: 'v1', kind: 'Namespace', name: namespace }));

  const manager = new Manager({
    client: controller,
    name: 'servicebinding',
    log: pino({ level: process.env['BINDERY_E2E_LOG'] ?? 'silent' }),
    metrics: false,
    health: false,
  });
  addServiceBindingController(manager);
  const stopping = new AbortController();
  const running = manager.start(stopping.signal);

  return {
    client,
    installCRDs: async (list) => {
      await cp.installCRDs(list);
    },
    aggregate: async (role) => {
      // Granting applies: a sample’s ClusterRole may come twice (its file, then its directory).
      const rules = (role['rules'] as PolicyRule[] | undefined) ?? [];
      await grantClusterRole(client, {
        name: `bindery-samples-${role.metadata.name ?? ''}`,
        rules,
        user: user.name,
      });
      await waitForRules(controller, rules, { namespace });
    },
    stop: async () => {
      stopping.abort();
      await running;
      await controller.close();
      await client.close();
      await cp.stop();
    },
  };
}

// ---- `kubectl apply`, as the README runs it -----------------------------------------------------

/** The documents of a YAML file, or of every YAML/JSON file in a directory (sorted, not recursive). */
async function readManifests(path: string): Promise<KubeObject[]> {
  const files = (await stat(path)).isDirectory()
    ? (await readdir(path))
        .filter((f) => /\.(ya?ml|json)$/.test(f))
        .sort()
        .map((f) => join(path, f))
    : [path];
  const objects: KubeObject[] = [];
  for (const file of files) {
    for (const doc of parseAllDocuments(await readFile(file, 'utf8'))) {
      assert.deepEqual(doc.errors, [], `${file} parses`);
      const obj = doc.toJS() as KubeObject | null;
      if (obj !== null) objects.push(obj);
    }
  }
  return objects;
}

/** Each `kubectl apply` line of the `sh` blocks under `## <section>` of README.md. */
async function readmeCommands(section: string): Promise<string[]> {
  const readme = await readFile(join(here, 'README.md'), 'utf8');
  const body = readme.split(/^## /m).find((s) => s.startsWith(`${section}\n`));
  assert.ok(body, `README.md has a section "## ${section}"`);
  const commands = [...body.matchAll(/```sh\n([\s\S]*?)```/g)]
    .flatMap((m) => (m[1] ?? '').split('\n'))
    .map((l) => l.trim())
    .filter((l) => l.startsWith('kubectl apply '));
  assert.ok(commands.length > 0, `section "${section}" has kubectl apply commands`);
  return commands;
}

/** `kubectl apply [--server-side] [--subresource=status] -f <path>...`, relative to this directory. */
async function kubectlApply(env: Environment, command: string): Promise<void> {
  const args = command.split(/\s+/).slice(2);
  const paths: string[] = [];
  let serverSide = false;
  let status = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    if (arg === '-f') paths.push(args[++i] ?? '');
    else if (arg === '--server-side') serverSide = true;
    else if (arg === '--subresource=status') status = true;
    else assert.fail(`${command}: the test does not know ${arg}`);
  }
  assert.ok(!status || serverSide, `${command}: kubectl applies to a subresource only with --server-side`);
  for (const path of paths) {
    for (const obj of await readManifests(join(here, path))) {
      const what = `${path}: ${obj.kind ?? ''} ${obj.metadata.name ?? ''}`;
      if (obj.kind === 'CustomResourceDefinition') {
        assert.ok(!status, what);
        await env.installCRDs([obj]);
        continue;
      }
      const info = await env.client.discovery.resourceFor({
        apiVersion: obj.apiVersion ?? '',
        kind: obj.kind ?? '',
      });
      if (info.namespaced) obj.metadata.namespace ??= namespace;
      if (status) {
        // What `kubectl apply --subresource=status` does: only the status is written.
        assert.ok(info.subresources.includes('status'), `${what}: the kind has a status subresource`);
        const current = await env.client.get(refOf(obj));
        await env.client.updateStatus({ ...current, status: obj['status'] });
        continue;
      }
      await env.client.apply(obj, { fieldManager: 'kubectl' });
      if (obj.kind === 'ClusterRole' && obj.metadata.labels?.[controllerLabel] === 'true') {
        await env.aggregate(obj);
      }
    }
  }
}

async function applySample(env: Environment, section: string): Promise<void> {
  for (const command of await readmeCommands(section)) await kubectlApply(env, command);
}

function refOf(obj: KubeObject): ObjectRef {
  return {
    apiVersion: obj.apiVersion ?? '',
    kind: obj.kind ?? '',
    name: obj.metadata.name ?? '',
    ...(obj.metadata.namespace === undefined ? {} : { namespace: obj.metadata.namespace }),
  };
}

// ---- What the workload gets ---------------------------------------------------------------------

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    secretKeyRef?: { name: string; key: string };
    fieldRef?: { fieldPath: string };
  };
}
interface Container {
  name: string;
  env?: EnvVar[];
  volumeMounts?: Array<{ name: string; mountPath: string; readOnly?: boolean }>;
}
interface Volume {
  name: string;
  projected?: {
    defaultMode?: number;
    sources: Array<{
      secret?: { name: string };
      downwardAPI?: { items: Array<{ path: string; fieldRef: { fieldPath: string } }> };
    }>;
  };
}
/** A pod template, wherever the workload keeps its parts. */
interface PodParts {
  annotations: Record<string, string>;
  volumes: Volume[];
  containers: Container[];
}

function podParts(obj: KubeObject): PodParts {
  interface Template {
    metadata?: { annotations?: Record<string, string> };
    spec: { containers: Container[]; initContainers?: Container[]; volumes?: Volume[] };
  }
  const spec = obj['spec'] as Record<string, unknown>;
  if (obj.kind === 'TaskRunner') {
    const r = spec['runner'] as {
      annotations?: Record<string, string>;
      steps?: Container[];
      sidecars?: Container[];
      volumes?: Volume[];
    };
    return {
      annotations: r.annotations ?? {},
      volumes: r.volumes ?? [],
      containers: [...(r.steps ?? []), ...(r.sidecars ?? [])],
    };
  }
  const t =
    obj.kind === 'CronJob'
      ? (spec['jobTemplate'] as { spec: { template: Template } }).spec.template
      : (spec['template'] as Template);
  return {
    annotations: t.metadata?.annotations ?? {},
    volumes: t.spec.volumes ?? [],
    containers: [...(t.spec.initContainers ?? []), ...t.spec.containers],
  };
}

interface Expected {
  /** The directory under /bindings: `spec.name`, else `metadata.name`. */
  name: string;
  secret: string;
  /** Containers that get the binding; every other one must not. */
  containers: string[];
  type?: string;
  provider?: string;
  /** Env var → Secret key, as mapped by `spec.env`. */
  env?: Record<string, string>;
}

const annotation = (what: string, uid: string): string => `projector.servicebinding.io/${what}-${uid}`;
const fieldPath = (what: string, uid: string): string => `metadata.annotations['${annotation(what, uid)}']`;

/** Asserts the binding's volume, mounts, variables and annotations, as the workload's pod would get them. */
function assertProjected(workload: KubeObject, binding: ServiceBinding, e: Expected): void {
  const uid = binding.metadata.uid ?? '';
  const volumeName = `servicebinding-${uid}`;
  const pod = podParts(workload);
  const where = `${workload.kind ?? ''} ${workload.metadata.name ?? ''}`;

  assert.equal(pod.annotations[annotation('secret', uid)], e.secret, `${where}: the secret annotation`);
  assert.equal(pod.annotations[annotation('type', uid)], e.type, `${where}: the type annotation`);
  assert.equal(pod.annotations[annotation('provider', uid)], e.provider, `${where}: the provider annotation`);

  const downward = (what: string) => ({
    downwardAPI: { items: [{ path: what, fieldRef: { apiVersion: 'v1', fieldPath: fieldPath(what, uid) } }] },
  });
  assert.deepEqual(
    pod.volumes.find((v) => v.name === volumeName),
    {
      name: volumeName,
      projected: {
        defaultMode: 420,
        sources: [
          { secret: { name: e.secret } },
          ...(e.type === undefined ? [] : [downward('type')]),
          ...(e.provider === undefined ? [] : [downward('provider')]),
        ],
      },
    },
    `${where}: the projected volume`,
  );

  for (const c of pod.containers) {
    const mount = c.volumeMounts?.find((m) => m.name === volumeName);
    const root = c.env?.find((v) => v.name === 'SERVICE_BINDING_ROOT');
    if (!e.containers.includes(c.name)) {
      assert.equal(mount, undefined, `${where}: container ${c.name} is not bound`);
      assert.equal(root, undefined, `${where}: container ${c.name} gets no SERVICE_BINDING_ROOT`);
      continue;
    }
    assert.deepEqual(
      mount,
      { name: volumeName, readOnly: true, mountPath: `/bindings/${e.name}` },
      `${where}: container ${c.name} mounts the binding`,
    );
    assert.deepEqual(root, { name: 'SERVICE_BINDING_ROOT', value: '/bindings' }, `${where}: ${c.name}`);
    for (const [name, key] of Object.entries(e.env ?? {})) {
      const override =
        (key === 'type' && e.type !== undefined) || (key === 'provider' && e.provider !== undefined);
      assert.deepEqual(
        c.env?.filter((v) => v.name === name),
        [
          {
            name,
            valueFrom: override
              ? { fieldRef: { apiVersion: 'v1', fieldPath: fieldPath(key, uid) } }
              : { secretKeyRef: { name: e.secret, key } },
          },
        ],
        `${where}: container ${c.name} has ${name}`,
      );
    }
  }
  assert.deepEqual(
    pod.containers.filter((c) => c.volumeMounts?.some((m) => m.name === volumeName)).map((c) => c.name),
    e.containers,
    `${where}: the bound containers`,
  );
}

function assertNotProjected(workload: KubeObject, binding: ServiceBinding): void {
  assert.equal(
    JSON.stringify(workload).includes(binding.metadata.uid ?? '-'),
    false,
    `${workload.kind ?? ''} ${workload.metadata.name ?? ''} carries nothing of ${binding.metadata.name ?? ''}`,
  );
}

// ---- The samples --------------------------------------------------------------------------------

describe('samples/servicebinding on a real API server', { skip: skipE2E }, () => {
  let env: Environment;

  before(
    async () => {
      env = await startEnvironment();
    },
    { timeout: 30 * 60_000 }, // the first run builds the binaries
  );

  after(async () => {
    await env?.stop();
  });

  const get = (type: TypeRef, name: string): Promise<KubeObject> =>
    env.client.get({ ...type, namespace, name });

  /** Ready=True for the current generation, the Secret named in status, every condition True. */
  const waitReady = (name: string, secret: string): Promise<ServiceBinding> =>
    eventually(async () => {
      const b = await env.client.get<ServiceBinding>({ ...bindingType, namespace, name });
      const conditions = Object.fromEntries((b.status?.conditions ?? []).map((c) => [c.type, c]));
      const summary = JSON.stringify(b.status);
      assert.equal(conditions['Ready']?.status, 'True', summary);
      assert.equal(conditions['Ready']?.reason, 'ServiceBound', summary);
      assert.equal(conditions['ServiceAvailable']?.status, 'True', summary);
      assert.equal(conditions['WorkloadProjected']?.status, 'True', summary);
      assert.equal(b.status?.observedGeneration, b.metadata.generation, summary);
      assert.equal(b.status?.binding?.name, secret, summary);
      return b;
    });

  /**
   * The Secret has every key the binding maps to a variable (a missing one keeps the pod from
   * starting), and a `type` unless the binding overrides it (spec §9: a binding without one is ignored).
   */
  const assertSecretKeys = async (name: string, keys: string[]): Promise<void> => {
    const secret = await get(secretType, name);
    const present = Object.keys((secret['data'] as Record<string, string> | undefined) ?? {});
    for (const key of keys)
      assert.ok(present.includes(key), `Secret ${name} has "${key}" (has ${present.join(', ')})`);
  };

  it('provisioned-service: a Deployment bound to a PostgresInstance through its status.binding.name', async () => {
    await applySample(env, 'provisioned-service');
    const binding = await waitReady('orders-db', 'orders-db-credentials');
    await assertSecretKeys('orders-db-credentials', [
      'type',
      'provider',
      'host',
      'port',
      'database',
      'username',
      'password',
    ]);
    const secret = await get(secretType, 'orders-db-credentials');
    assert.equal(secret['type'], 'servicebinding.io/postgresql');
    assertProjected(await get(deploymentType, 'orders'), binding, {
      name: 'orders-db',
      secret: 'orders-db-credentials',
      containers: ['app'],
    });
  });

  it('direct-secret: a Deployment bound to a Secret', async () => {
    await applySample(env, 'direct-secret');
    const binding = await waitReady('inventory-db', 'inventory-db');
    await assertSecretKeys('inventory-db', ['type', 'provider']);
    assertProjected(await get(deploymentType, 'inventory'), binding, {
      name: 'inventory-db',
      secret: 'inventory-db',
      containers: ['app'],
    });
  });

  it('cronjob: a CronJob bound through the cronjobs.batch mapping, with env mappings', async () => {
    await applySample(env, 'cronjob');
    const binding = await waitReady('nightly-report-smtp', 'reports-smtp');
    await assertSecretKeys('reports-smtp', ['type', 'host', 'port']);
    const cronJob = await get(cronJobType, 'nightly-report');
    assertProjected(cronJob, binding, {
      name: 'nightly-report-smtp',
      secret: 'reports-smtp',
      containers: ['report'],
      env: { SMTP_HOST: 'host', SMTP_PORT: 'port' },
    });
    // The user's variable stays first; the root follows it, then the mapped variables.
    assert.deepEqual(
      podParts(cronJob).containers[0]?.env?.map((v) => v.name),
      ['REPORT_RECIPIENT', 'SERVICE_BINDING_ROOT', 'SMTP_HOST', 'SMTP_PORT'],
    );
    // Nothing went where a PodSpec-able workload keeps its template.
    assert.equal((cronJob['spec'] as Record<string, unknown>)['template'], undefined);
  });

  it('custom-workload: a TaskRunner bound through its ClusterWorkloadResourceMapping, steps only', async () => {
    await applySample(env, 'custom-workload');
    const binding = await waitReady('ingest-queue', 'ingest-queue');
    await assertSecretKeys('ingest-queue', ['type']);
    const runner = await eventually(async () => {
      const r = await get(taskRunnerType, 'ingest');
      assertProjected(r, binding, {
        name: 'ingest-queue',
        secret: 'ingest-queue',
        containers: ['fetch', 'load'],
      });
      return r;
    });
    // The runner's own volume is kept, and nothing went to .spec.template.
    assert.ok(podParts(runner).volumes.some((v) => v.name === 'scratch'));
    assert.equal((runner['spec'] as Record<string, unknown>)['template'], undefined);
  });

  it('multiple-bindings: two bindings on one Deployment, with type/provider overrides and env mappings', async () => {
    await applySample(env, 'multiple-bindings');
    const db = await waitReady('checkout-db', 'checkout-db');
    const cache = await waitReady('checkout-cache', 'checkout-cache');
    await assertSecretKeys('checkout-db', ['host', 'password']);
    await assertSecretKeys('checkout-cache', ['type', 'host']);
    const checkout = await get(deploymentType, 'checkout');
    assertProjected(checkout, db, {
      name: 'checkout-db',
      secret: 'checkout-db',
      containers: ['app'],
      type: 'postgresql',
      provider: 'example-cloud',
      env: { DATABASE_TYPE: 'type', DATABASE_HOST: 'host', DATABASE_PASSWORD: 'password' },
    });
    // checkout-db opts in to rollouts: the pod template carries its Secret's resourceVersion.
    const dbSecret = await get(secretType, 'checkout-db');
    assert.equal(
      podParts(checkout).annotations[`bindery.dev/secret-version-${db.metadata.uid ?? ''}`],
      dbSecret.metadata.resourceVersion,
    );
    assert.equal(
      podParts(checkout).annotations[`bindery.dev/secret-version-${cache.metadata.uid ?? ''}`],
      undefined,
    );
    assertProjected(checkout, cache, {
      name: 'cache',
      secret: 'checkout-cache',
      containers: ['app'],
      provider: 'example-cloud',
      env: { REDIS_HOST: 'host', REDIS_PROVIDER: 'provider' },
    });
  });

  it('selector: a binding selecting Deployments by label binds the two that match, not the third', async () => {
    await applySample(env, 'selector');
    const binding = await waitReady('storefront-search', 'storefront-search');
    await assertSecretKeys('storefront-search', ['type', 'provider']);
    for (const name of ['storefront-web', 'storefront-api']) {
      assertProjected(await get(deploymentType, name), binding, {
        name: 'storefront-search',
        secret: 'storefront-search',
        containers: ['app'],
      });
    }
    assertNotProjected(await get(deploymentType, 'warehouse-sync'), binding);
  });
});
