// The ServiceBinding webhooks on a real kube-apiserver, registered for real (url + caBundle from
// runtime's self-signed helper). Two managers run with leader election; every configuration
// points at the replica that is NOT the leader, so the interceptor, the validation and the
// trigger are all served by a non-leader, and a trigger must travel to the leader's queue.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ControlPlane, eventually, schemalessCRD, skipE2E } from '@bindery/controlplane';
import type { PolicyRule } from '@bindery/controlplane';
import { KubeClient, StatusError, isNotFound } from '@bindery/kube';
import type { KubeObject, TypeRef } from '@bindery/kube';
import { Manager, WebhookServer, generateSelfSigned } from '@bindery/runtime';
import { pino } from 'pino';
import { clusterWorkloadResourceMappingCRD, serviceBindingCRD } from '../apis/index.ts';
import type { ServiceBinding } from '../apis/index.ts';
import { addServiceBindingController, serviceBindingType } from '../controllers/servicebinding.ts';
import { addServiceBindingWebhooks } from './add.ts';
import { defaultWebhookConfigurationNames, managedRulesAnnotation, triggerAnnotation } from './constants.ts';
import { deleteWebhookConfigurations, webhookManagerRules } from './e2e-helpers.ts';

const ns = 'webhooks-e2e';
const ADMISSION = 'admissionregistration.k8s.io/v1';
const log = pino({ level: process.env['BINDERY_E2E_LOG'] ?? 'silent' });

const deploymentType: TypeRef = { apiVersion: 'apps/v1', kind: 'Deployment' };
const statefulSetType: TypeRef = { apiVersion: 'apps/v1', kind: 'StatefulSet' };
const jobType: TypeRef = { apiVersion: 'batch/v1', kind: 'Job' };
const backendType: TypeRef = { apiVersion: 'stable.example.com/v1', kind: 'ProvisionedBackend' };
const runnerType: TypeRef = { apiVersion: 'workloads.example.com/v1', kind: 'Runner' };
/** A Provisioned Service whose status is written through `/status`, as most operators' are. */
const backendCRD: KubeObject = schemalessCRD({
  group: 'stable.example.com',
  kind: 'ProvisionedBackend',
  plural: 'provisionedbackends',
  status: true,
});

/** A workload kind the controller may read but not update: kept out of the interceptor's rules. */
const runnerCRD: KubeObject = schemalessCRD({
  group: 'workloads.example.com',
  kind: 'Runner',
  plural: 'runners',
});

/** Beyond the bundle's grant: Runners readable (not updatable), Provisioned Services not watchable. */
const suiteRules: PolicyRule[] = [
  { apiGroups: ['workloads.example.com'], resources: ['runners'], verbs: ['get', 'list', 'watch'] },
  { apiGroups: ['stable.example.com'], resources: ['provisionedbackends'], verbs: ['get', 'list'] },
];

function workload(type: TypeRef, name: string, labels: Record<string, string> = {}): KubeObject {
  const template = {
    metadata: { labels: { app: name } },
    spec: {
      containers: [{ name: 'app', image: 'registry.example/app:1' }],
      volumes: [{ name: 'cache', emptyDir: {} }],
      ...(type.kind === 'Job' ? { restartPolicy: 'Never' } : {}),
    },
  };
  const spec =
    type.kind === 'Job'
      ? { template }
      : {
          selector: { matchLabels: { app: name } },
          template,
          ...(type.kind === 'StatefulSet' ? { serviceName: name } : {}),
        };
  return { ...type, metadata: { namespace: ns, name, labels }, spec };
}

function binding(
  name: string,
  service: ServiceBinding['spec']['service'],
  workloadRef: ServiceBinding['spec']['workload'],
  spec: Partial<ServiceBinding['spec']> = {},
): ServiceBinding {
  return {
    ...serviceBindingType,
    metadata: { namespace: ns, name },
    spec: { service, workload: workloadRef, ...spec },
  };
}

const secretRef = (name: string) => ({ apiVersion: 'v1', kind: 'Secret', name });

interface Pod {
  metadata?: { annotations?: Record<string, string> };
  spec: {
    containers: Array<{ volumeMounts?: Array<{ name: string; mountPath: string }> }>;
    volumes?: Array<{ name: string; projected?: { sources: Array<{ secret?: { name: string } }> } }>;
  };
}

/** The Secret the binding's volume projects; undefined when not projected. */
function projectedSecret(obj: KubeObject, b: ServiceBinding): string | undefined {
  const pod = (obj['spec'] as { template: Pod }).template;
  const volume = pod.spec.volumes?.find((v) => v.name === `servicebinding-${b.metadata.uid ?? ''}`);
  if (!volume) return undefined;
  assert.deepEqual(
    pod.spec.containers[0]?.volumeMounts?.find((m) => m.name === volume.name)?.mountPath,
    `/bindings/${b.spec.name ?? b.metadata.name ?? ''}`,
  );
  assert.ok(
    pod.spec.volumes?.some((v) => v.name === 'cache'),
    'the workload’s own volume is kept',
  );
  return volume.projected?.sources[0]?.secret?.name;
}

interface Configuration extends KubeObject {
  webhooks: Array<{
    name: string;
    rules?: Array<{ apiGroups: string[]; resources: string[] }>;
    failurePolicy?: string;
    reinvocationPolicy?: string;
  }>;
}

describe('ServiceBinding webhooks on a real API server', { skip: skipE2E }, () => {
  let cp: ControlPlane;
  let admin: KubeClient;
  const clients: KubeClient[] = [];
  const managers: Manager[] = [];
  const stops: AbortController[] = [];
  const running: Array<Promise<void>> = [];
  /** Stored before the webhooks existed: invalid by today's rules. */
  let legacy: ServiceBinding;

  const getBinding = (name: string): Promise<ServiceBinding> =>
    admin.get<ServiceBinding>({ ...serviceBindingType, namespace: ns, name });
  const resolved = (name: string, secret: string): Promise<ServiceBinding> =>
    eventually(async () => {
      const b = await getBinding(name);
      assert.equal(b.status?.binding?.name, secret, JSON.stringify(b.status));
      return b;
    });
  const configuration = (kind: 'Mutating' | 'Validating', name: string): Promise<Configuration> =>
    admin.get<Configuration>({ apiVersion: ADMISSION, kind: `${kind}WebhookConfiguration`, name });
  const ruleResources = async (kind: 'Mutating' | 'Validating', name: string): Promise<string[]> =>
    ((await configuration(kind, name)).webhooks[0]?.rules ?? []).flatMap((r) =>
      r.resources.map((res) => `${res}.${r.apiGroups[0] ?? ''}`),
    );
  /** A dry-run create goes through the admission chain: once it comes back projected, the API server calls the interceptor. */
  const createProjected = async (obj: KubeObject, b: ServiceBinding, secret: string): Promise<KubeObject> => {
    await eventually(async () => {
      const dry = await admin.create(obj, { dryRun: true });
      assert.equal(projectedSecret(dry, b), secret, 'the interceptor is in the admission chain');
    });
    return admin.create(obj);
  };

  before(
    async () => {
      cp = new ControlPlane();
      await cp.start();
      admin = cp.client();
      await cp.installCRDs([serviceBindingCRD(), clusterWorkloadResourceMappingCRD(), backendCRD, runnerCRD]);
      await admin.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
      const user = await cp.addUser({
        name: 'servicebinding-controller',
        rules: webhookManagerRules(suiteRules),
      });
      // WP-2: `..` would mount the Secret over $SERVICE_BINDING_ROOT's parent; the schema lets it through.
      legacy = await admin.create(
        binding('legacy', secretRef('legacy'), { ...deploymentType, name: 'legacy' }, { name: '..' }),
      );

      const certs = await generateSelfSigned({
        service: 'bindery-webhook',
        namespace: 'bindery-system',
        extraHosts: ['127.0.0.1'],
      });
      const servers = [0, 1].map(() => new WebhookServer({ port: 0, tls: certs.serving, log }));
      for (const s of servers) await s.listen();
      const nonLeader = servers[1] as WebhookServer;
      for (const [i, server] of servers.entries()) {
        const client = KubeClient.fromKubeConfig({ kubeconfig: user.kubeconfigPath });
        clients.push(client);
        const manager = new Manager({
          client,
          name: 'servicebinding',
          log,
          metrics: false,
          health: false,
          leaderElection: { namespace: ns, name: 'bindery-webhooks-e2e', identity: `replica-${i}` },
        });
        // A 10-minute poll: only a trigger can make a rotation visible within the test.
        const controller = addServiceBindingController(manager, { servicePollIntervalMs: 10 * 60_000 });
        addServiceBindingWebhooks(manager, {
          server,
          controller,
          clientConfig: { endpoint: { url: nonLeader.url('') }, caBundle: certs.caBundle },
          triggerDebounceMs: 50,
        });
        managers.push(manager);
        const stop = new AbortController();
        stops.push(stop);
        running.push(manager.start(stop.signal));
        // The first replica leads; the second waits for the Lease, serving webhooks meanwhile.
        if (i === 0) await eventually(() => assert.ok(manager.leading, 'replica-0 leads'));
      }
    },
    { timeout: 30 * 60_000 },
  );

  after(async () => {
    for (const s of stops) s.abort();
    await Promise.allSettled(running);
    for (const c of clients) await c.close();
    if (admin) await deleteWebhookConfigurations(admin);
    await admin?.close();
    await cp?.stop();
  });

  it('WP-2 refuses an invalid ServiceBinding, naming the field', async () => {
    assert.equal(managers[1]?.leading, false, 'replica-1, which serves the webhooks, is not the leader');
    const escape = binding('escape', secretRef('db'), { ...deploymentType, name: 'web' }, { name: '../etc' });
    // A dry run goes through the validating webhooks too: wait until the API server calls ours.
    await eventually(async () => {
      const e = await admin.create(escape, { dryRun: true }).catch((x: unknown) => x);
      assert.ok(e instanceof StatusError, 'the validating webhook is in the admission chain');
    });
    const err = await admin.create(escape).catch((x: unknown) => x);
    assert.ok(err instanceof StatusError, 'refused');
    assert.equal(err.code, 422);
    // The API server's words, as kubectl shows them (the error's own message omits quoted values).
    assert.match(
      err.status.message ?? '',
      /ServiceBinding\.servicebinding\.io "escape" is invalid: spec\.name: Invalid value: "\.\.\/etc"/,
    );
    assert.match(err.message, /spec\.name: Invalid value: \(value omitted\)/);
  });

  it('WM-14 refuses a mapping whose containers[].path does not parse or would walk the prototype, naming the field', async () => {
    const mapping = (name: string, path: string): KubeObject => ({
      apiVersion: 'servicebinding.io/v1',
      kind: 'ClusterWorkloadResourceMapping',
      metadata: { name },
      spec: { versions: [{ version: '*', containers: [{ path }] }] },
    });
    await eventually(async () => {
      const e = await admin
        .create(mapping('runners.workloads.example.com', '.spec['), { dryRun: true })
        .catch((x: unknown) => x);
      assert.ok(
        e instanceof StatusError && e.code === 422,
        'the validating webhook is in the admission chain',
      );
    });
    for (const [path, why] of [
      ['.spec.__proto__.containers[*]', /the key "__proto__" is not allowed/],
      [`.spec${"['spec','spec','spec','spec']".repeat(40)}`, /longer than 1024 characters/],
    ] as const) {
      const err = await admin.create(mapping('runners.workloads.example.com', path)).catch((x: unknown) => x);
      assert.ok(err instanceof StatusError, `refused: ${path.slice(0, 40)}`);
      assert.equal(err.code, 422);
      assert.match(err.status.message ?? '', /spec\.versions\[0\]\.containers\[0\]\.path: Invalid value: /);
      assert.match(err.status.message ?? '', why);
    }
  });

  it('an old invalid binding can still be edited where it is not new and deleted (ratcheting)', async () => {
    // The controller holds its finalizer on it: deleting means an UPDATE that removes the finalizer.
    await eventually(async () =>
      assert.deepEqual((await getBinding('legacy')).metadata.finalizers, ['servicebinding.io/finalizer']),
    );
    await admin.patch(
      { ...serviceBindingType, namespace: ns, name: 'legacy' },
      { metadata: { labels: { team: 'a' } } },
      { type: 'merge' },
    );
    const err = await admin
      .patch(
        { ...serviceBindingType, namespace: ns, name: 'legacy' },
        { spec: { env: [{ name: '', key: 'x' }] } },
        { type: 'merge' },
      )
      .catch((e: unknown) => e);
    assert.ok(err instanceof StatusError && err.code === 422, 'a new problem is still refused');
    assert.match(err.message, /spec\.env\[0\]\.name/);
    await admin.delete({ ...serviceBindingType, namespace: ns, name: 'legacy' });
    await eventually(async () => {
      const e = await getBinding('legacy').catch((x: unknown) => x);
      assert.ok(isNotFound(e), 'legacy is gone');
    });
    assert.ok(legacy.metadata.uid);
  });

  it('SB-5 projects a Deployment created after its binding at admission, and puts back a projection an apply removed', async () => {
    await admin.create({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { namespace: ns, name: 'db' },
      stringData: { type: 'db' },
    });
    await admin.create(binding('late', secretRef('db'), { ...deploymentType, name: 'late-web' }));
    const b = await resolved('late', 'db');
    const created = await createProjected(workload(deploymentType, 'late-web'), b, 'db');
    assert.equal(projectedSecret(created, b), 'db', 'projected in the create response itself');

    // `kubectl apply` of the original manifest (no projection) is an update that strips it.
    const manifest = workload(deploymentType, 'late-web');
    const updated = await admin.update({
      ...created,
      spec: {
        ...(created['spec'] as object),
        template: (manifest['spec'] as { template: unknown }).template,
      },
    });
    assert.equal(projectedSecret(updated, b), 'db', 'the interceptor put the projection back');
  });

  it('AMB-15 projects a Job, which no update can bind, at creation', async () => {
    await admin.create(binding('migrate', secretRef('db'), { ...jobType, name: 'migrate' }));
    const b = await resolved('migrate', 'db');
    const job = await createProjected(workload(jobType, 'migrate'), b, 'db');
    assert.equal(projectedSecret(job, b), 'db');
  });

  it('reprograms the rules when a binding names a new kind, only for kinds the controller may update, with the GitOps annotation', async () => {
    const { interceptor, trigger } = defaultWebhookConfigurationNames;
    const mutating = await configuration('Mutating', interceptor);
    assert.equal(mutating.metadata.annotations?.[managedRulesAnnotation], 'true');
    assert.equal(mutating.webhooks[0]?.failurePolicy, 'Fail');
    assert.equal(mutating.webhooks[0]?.reinvocationPolicy, 'IfNeeded');
    assert.equal((await configuration('Validating', trigger)).webhooks[0]?.failurePolicy, 'Ignore');
    assert.ok(!(await ruleResources('Mutating', interceptor)).includes('statefulsets.apps'));

    await admin.create(binding('stateful', secretRef('db'), { ...statefulSetType, name: 'store' }));
    await admin.create(binding('runner', secretRef('db'), { ...runnerType, name: 'r' }));
    await eventually(async () => {
      const resources = await ruleResources('Mutating', interceptor);
      assert.ok(resources.includes('statefulsets.apps'), resources.join(', '));
      assert.ok(resources.includes('deployments.apps') && resources.includes('jobs.batch'));
      // SelfSubjectAccessReview: the controller may not update runners.
      assert.ok(!resources.includes('runners.workloads.example.com'));
      const triggered = await ruleResources('Validating', trigger);
      assert.ok(triggered.includes('runners.workloads.example.com'), triggered.join(', '));
      // Secrets never: every Secret write in the cluster, data included, would be sent to the trigger.
      assert.ok(!triggered.includes('secrets.'), 'no Secrets, though bindings reference them directly');
    });
    const b = await resolved('stateful', 'db');
    const sts = await createProjected(workload(statefulSetType, 'store'), b, 'db');
    assert.equal(projectedSecret(sts, b), 'db');
  });

  it('PS-1 a rotated .status.binding.name seen by the trigger on a non-leader re-projects promptly despite a 10-minute poll', async () => {
    const backendRef = {
      apiVersion: backendType.apiVersion,
      kind: backendType.kind,
      namespace: ns,
      name: 'rotating-db',
    };
    await admin.create({ ...backendType, metadata: { namespace: ns, name: 'rotating-db' } });
    await admin.patch(
      backendRef,
      { status: { binding: { name: 'secret-1' } } },
      { type: 'merge', subresource: 'status' },
    );
    await admin.create(
      binding(
        'rotating',
        { ...backendType, name: 'rotating-db' },
        { ...deploymentType, name: 'rotating-web' },
      ),
    );
    const b = await resolved('rotating', 'secret-1');
    await createProjected(workload(deploymentType, 'rotating-web'), b, 'secret-1');
    await eventually(async () => {
      const resources = await ruleResources('Validating', defaultWebhookConfigurationNames.trigger);
      assert.ok(resources.includes('provisionedbackends/status.stable.example.com'), resources.join(', '));
    });

    const rotatedAt = Date.now();
    await admin.patch(
      backendRef,
      { status: { binding: { name: 'secret-2' } } },
      { type: 'merge', subresource: 'status' },
    );
    const rotated = await eventually(async () => {
      const w = await admin.get({ ...deploymentType, namespace: ns, name: 'rotating-web' });
      assert.equal(projectedSecret(w, b), 'secret-2');
      return w;
    }, 20_000);
    assert.ok(rotated);
    assert.ok(Date.now() - rotatedAt < 20_000);
    // It went the non-leader's way: the annotation patch the leader's informer saw.
    assert.ok((await getBinding('rotating')).metadata.annotations?.[triggerAnnotation]);
  });
});
