// The install bundle on a real kube-apiserver and etcd: applied server-side in bundle order on an
// empty cluster, then the ServiceBinding controller runs out of cluster as the bundle's
// ServiceAccount (impersonated) with exactly the permissions the bundle grants it. There is no
// kubelet (the Deployment never runs), no kube-controller-manager (the test fills the aggregated
// ClusterRole as its clusterrole-aggregation controller would) and no cert-manager (its objects
// are skipped), and no webhook server (the webhooks are tested in their own suite).

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ControlPlane, eventually, schemalessCRD, skipE2E } from '@bindery/controlplane';
import { isForbidden, isNotFound } from '@bindery/kube';
import type { KubeClient, KubeObject, TypeRef } from '@bindery/kube';
import { Manager, ensureCABundle, generateSelfSigned } from '@bindery/runtime';
import type { Condition } from '@bindery/runtime';
import { pino } from 'pino';
import { cronJobMapping, cronJobMappingName } from '../apis/index.ts';
import type { ServiceBinding } from '../apis/index.ts';
import {
  addServiceBindingController,
  defaultMappingsFieldManager,
  serviceBindingType,
} from '../controllers/servicebinding.ts';
import { webhookFieldManager } from '../webhooks/constants.ts';
import { aggregate, clusterRoleType, impersonating, serviceAccountCan } from './e2e-helpers.ts';
import type { ResourceAttributes } from './e2e-helpers.ts';
import { applyInstallBundle, controllerLabel, installNames, renderInstallBundle } from './index.ts';

const system = installNames.namespace;
const ns = 'install-e2e';
const serviceAccountUser = `system:serviceaccount:${system}:${installNames.serviceAccount}`;

const deploymentType: TypeRef = { apiVersion: 'apps/v1', kind: 'Deployment' };
const cronJobType: TypeRef = { apiVersion: 'batch/v1', kind: 'CronJob' };
const secretType: TypeRef = { apiVersion: 'v1', kind: 'Secret' };
const mappingType: TypeRef = {
  apiVersion: 'servicebinding.io/v1',
  kind: 'ClusterWorkloadResourceMapping',
};
const backendType: TypeRef = { apiVersion: 'stable.example.com/v1', kind: 'ProvisionedBackend' };
const mutating: TypeRef = {
  apiVersion: 'admissionregistration.k8s.io/v1',
  kind: 'MutatingWebhookConfiguration',
};
const validating: TypeRef = {
  apiVersion: 'admissionregistration.k8s.io/v1',
  kind: 'ValidatingWebhookConfiguration',
};

const isCertManager = (o: KubeObject): boolean => o.apiVersion?.startsWith('cert-manager.io/') ?? false;
const describeObject = (o: KubeObject): string => `${o.kind ?? ''}/${o.metadata.name ?? ''}`;

/** A Provisioned Service kind as the conformance suite defines it, opted in with a labelled ClusterRole (PR-1, PR-2). */
const backendCRD: KubeObject = schemalessCRD({
  group: 'stable.example.com',
  kind: 'ProvisionedBackend',
  plural: 'provisionedbackends',
});
const backendOptIn: KubeObject = {
  ...clusterRoleType,
  metadata: { name: 'provisionedbackends-servicebinding', labels: { [controllerLabel]: 'true' } },
  rules: [
    {
      apiGroups: ['stable.example.com'],
      resources: ['provisionedbackends'],
      verbs: ['get', 'list', 'watch'],
    },
  ],
};

describe('install bundle on a real API server', { skip: skipE2E }, () => {
  let cp: ControlPlane;
  let admin: KubeClient;
  let controller: KubeClient;
  let dir: string;
  const logs: string[] = [];
  const stop = new AbortController();
  let running: Promise<void> | undefined;

  /** Whether the ServiceAccount may, as the API server's authorizer answers (a SubjectAccessReview). */
  const can = (attributes: ResourceAttributes): Promise<boolean> =>
    serviceAccountCan(admin, system, attributes);

  before(
    async () => {
      dir = await mkdtemp(join(tmpdir(), 'bindery-install-e2e-'));
      cp = new ControlPlane();
      await cp.start();
      admin = cp.client();
    },
    { timeout: 30 * 60_000 }, // the first run builds the binaries
  );

  after(async () => {
    stop.abort();
    await running;
    await controller?.close();
    await cp?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('cert-manager bundle: one ordered server-side apply on an empty cluster, no webhook replica needed; only the cert-manager kinds are skipped where cert-manager is absent', async () => {
    const bundle = renderInstallBundle();
    const { applied, skipped } = await applyInstallBundle(admin, bundle, { skip: isCertManager });
    assert.deepEqual(skipped.map(describeObject), [
      'Issuer/bindery-selfsigned',
      'Certificate/bindery-webhook-cert',
    ]);
    assert.deepEqual(
      applied.map(describeObject),
      bundle.filter((o) => !isCertManager(o)).map(describeObject),
    );
    for (const o of applied) assert.ok(o.metadata.uid, `${describeObject(o)} was stored`);
    const interceptor = await admin.get({ ...mutating, name: installNames.interceptorConfiguration });
    assert.equal(
      interceptor.metadata.annotations?.['cert-manager.io/inject-ca-from'],
      `${system}/${installNames.certificate}`,
    );
    // Without cert-manager the CRs are refused with a message that says what to install.
    await assert.rejects(
      applyInstallBundle(admin, bundle.filter(isCertManager)),
      /not served by this cluster/,
    );
  });

  it('self-managed bundle over it: the switch removes what only the cert-manager mode had', async () => {
    const bundle = renderInstallBundle({ certMode: 'self-managed' });
    const { applied, skipped } = await applyInstallBundle(admin, bundle);
    assert.deepEqual(skipped, []);
    assert.equal(applied.length, bundle.length);

    const interceptor = await admin.get({ ...mutating, name: installNames.interceptorConfiguration });
    assert.equal(interceptor.metadata.annotations?.['cert-manager.io/inject-ca-from'], undefined);
    assert.equal(interceptor.metadata.annotations?.['bindery.dev/managed-rules'], 'true');
    const deployment = await admin.get({
      ...deploymentType,
      namespace: system,
      name: installNames.deployment,
    });
    const json = JSON.stringify(deployment['spec']);
    assert.ok(!json.includes('serving-certs') && json.includes('--cert-mode=self-managed'), json);
    const secret = await admin.get({
      ...secretType,
      namespace: system,
      name: installNames.webhookCertSecret,
    });
    assert.equal(secret['data'], undefined);
    // No webhook server answers here, and the validating webhook fails closed: the controller below
    // could not create the default mapping through it (in a cluster, its own replicas answer).
    await admin.delete({ ...validating, name: installNames.validationConfiguration });
  });

  it('RA-2 RA-3: the aggregated ClusterRole, filled from every labelled role (WR-2 built-in workloads, PR-2 a Provisioned Service kind), is what the ServiceAccount gets', async () => {
    await cp.installCRDs([backendCRD]);
    await admin.create(backendOptIn);
    const rules = await aggregate(admin);
    assert.ok(rules.some((r) => r.resources?.includes('deployments') && r.verbs.includes('update')));
    assert.ok(rules.some((r) => r.resources?.includes('provisionedbackends')));

    // RBAC reaches the authorizer a moment after it is written.
    await eventually(async () => {
      assert.ok(await can({ namespace: ns, verb: 'update', group: 'apps', resource: 'deployments' }));
      assert.ok(await can({ namespace: ns, verb: 'update', group: 'batch', resource: 'cronjobs' }));
      assert.ok(await can({ namespace: ns, verb: 'watch', group: '', resource: 'replicationcontrollers' }));
      assert.ok(
        await can({
          namespace: ns,
          verb: 'list',
          group: 'stable.example.com',
          resource: 'provisionedbackends',
        }),
      );
    });
    // A kind nobody opted in stays out of reach.
    assert.equal(await can({ namespace: ns, verb: 'get', group: 'example.com', resource: 'widgets' }), false);
  });

  it('least privilege: Secrets get/list/watch only, nothing cluster-admin-like, writes to its own webhook configurations, Lease and CA Secret by name', async () => {
    const allowed: ResourceAttributes[] = [
      { namespace: ns, verb: 'get', resource: 'secrets' },
      { namespace: ns, verb: 'watch', resource: 'secrets' },
      {
        verb: 'patch',
        group: 'admissionregistration.k8s.io',
        resource: 'mutatingwebhookconfigurations',
        name: installNames.interceptorConfiguration,
      },
      {
        verb: 'update',
        group: 'admissionregistration.k8s.io',
        resource: 'validatingwebhookconfigurations',
        name: installNames.validationConfiguration,
      },
      {
        namespace: system,
        verb: 'update',
        group: 'coordination.k8s.io',
        resource: 'leases',
        name: installNames.lease,
      },
      { namespace: system, verb: 'update', resource: 'secrets', name: installNames.webhookCertSecret },
      { verb: 'create', group: 'authorization.k8s.io', resource: 'selfsubjectaccessreviews' },
      // The default mappings, created by the leader when absent.
      { verb: 'create', group: 'servicebinding.io', resource: 'clusterworkloadresourcemappings' },
    ];
    const denied: ResourceAttributes[] = [
      { namespace: ns, verb: 'create', resource: 'secrets' },
      { namespace: ns, verb: 'update', resource: 'secrets' },
      { namespace: ns, verb: 'delete', resource: 'secrets' },
      { namespace: system, verb: 'update', resource: 'secrets', name: 'someone-elses' },
      { namespace: system, verb: 'create', resource: 'secrets' },
      {
        verb: 'patch',
        group: 'admissionregistration.k8s.io',
        resource: 'mutatingwebhookconfigurations',
        name: 'other',
      },
      { verb: 'create', group: 'admissionregistration.k8s.io', resource: 'validatingwebhookconfigurations' },
      { namespace: system, verb: 'update', group: 'coordination.k8s.io', resource: 'leases', name: 'other' },
      { verb: 'create', group: 'rbac.authorization.k8s.io', resource: 'clusterrolebindings' },
      { verb: 'escalate', group: 'rbac.authorization.k8s.io', resource: 'clusterroles' },
      { verb: 'impersonate', resource: 'users' },
      { namespace: ns, verb: 'create', resource: 'pods' },
      { namespace: ns, verb: 'create', resource: 'pods', subresource: 'exec' },
      { namespace: ns, verb: 'create', resource: 'serviceaccounts', subresource: 'token' },
      { namespace: ns, verb: 'delete', group: 'apps', resource: 'deployments' },
      { namespace: ns, verb: 'create', group: 'servicebinding.io', resource: 'servicebindings' },
      { verb: 'update', group: 'servicebinding.io', resource: 'clusterworkloadresourcemappings' },
      {
        verb: 'patch',
        group: 'servicebinding.io',
        resource: 'clusterworkloadresourcemappings',
        name: cronJobMappingName,
      },
      { verb: 'delete', group: 'servicebinding.io', resource: 'clusterworkloadresourcemappings' },
      { verb: 'get', resource: 'nodes' },
    ];
    for (const a of allowed) assert.equal(await can(a), true, `may ${JSON.stringify(a)}`);
    for (const a of denied) assert.equal(await can(a), false, `may not ${JSON.stringify(a)}`);
  });

  it('the manager’s own writes go through as the ServiceAccount: rules and caBundle of its webhook configurations, its CA Secret, access reviews', async () => {
    controller = await impersonating(cp, dir, serviceAccountUser);
    const certs = await generateSelfSigned({ service: installNames.webhookService, namespace: system });
    const result = await ensureCABundle(
      controller,
      {
        mutating: [installNames.interceptorConfiguration],
        validating: [installNames.triggerConfiguration],
      },
      certs.caBundle,
    );
    assert.deepEqual(result.missing, []);
    assert.equal(result.patched.length, 2);
    // The webhooks package programs rules by server-side apply with its own field manager.
    await controller.apply(
      {
        ...validating,
        metadata: {
          name: installNames.triggerConfiguration,
          annotations: { 'bindery.dev/managed-rules': 'true' },
        },
        webhooks: [
          {
            name: 'trigger.servicebinding.bindery.dev',
            rules: [
              {
                apiGroups: ['apps'],
                apiVersions: ['*'],
                operations: ['CREATE'],
                resources: ['deployments'],
                scope: '*',
              },
            ],
          },
        ],
      },
      { fieldManager: webhookFieldManager, force: true },
    );
    // Self-managed: the CA goes into the Secret the bundle created empty.
    const secretRef = { ...secretType, namespace: system, name: installNames.webhookCertSecret };
    const secret = await controller.get(secretRef);
    await controller.update({
      ...secret,
      data: { 'ca.crt': Buffer.from(certs.ca.cert).toString('base64') },
    });
    await controller.create({
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SelfSubjectAccessReview',
      metadata: {},
      spec: { resourceAttributes: { verb: 'update', group: 'apps', resource: 'deployments' } },
    });
    // And nothing else of that kind.
    await assert.rejects(controller.get({ ...mutating, name: 'not-bindery' }), isForbidden);
    await assert.rejects(
      controller.create({ ...secretType, metadata: { namespace: system, name: 'planted' }, type: 'Opaque' }),
      isForbidden,
    );

    // Re-applying the bundle (an upgrade, a GitOps sync) keeps what the manager wrote. Not the
    // fail-closed validating webhook, which nothing answers here (the controller test needs it gone).
    const bundle = renderInstallBundle({ certMode: 'self-managed' }).filter(
      (o) => o.metadata.name !== installNames.validationConfiguration,
    );
    await applyInstallBundle(admin, bundle);
    const trigger = await admin.get<
      KubeObject & { webhooks: Array<{ rules?: unknown[]; clientConfig: { caBundle?: string } }> }
    >({
      ...validating,
      name: installNames.triggerConfiguration,
    });
    assert.equal(trigger.webhooks[0]?.rules?.length, 1, 'the rules the manager wrote');
    assert.equal(trigger.webhooks[0]?.clientConfig.caBundle, Buffer.from(certs.caBundle).toString('base64'));
    const kept = await admin.get(secretRef);
    assert.ok((kept['data'] as Record<string, string> | undefined)?.['ca.crt'], 'the CA the manager stored');
  });

  it('the ServiceBinding controller as the ServiceAccount, with leader election: creates the default CronJob mapping, binds a Deployment (direct Secret) and a CronJob (Provisioned Service, that mapping), never Forbidden', async () => {
    await admin.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
    // The bundle does not ship the mapping: the controller creates it once it leads.
    const mappingRef = { ...mappingType, name: cronJobMappingName };
    await assert.rejects(admin.get(mappingRef), isNotFound);
    const manager = new Manager({
      client: controller,
      name: 'servicebinding',
      log: pino({ level: 'info' }, { write: (line: string) => void logs.push(line) }),
      leaderElection: { namespace: system, name: installNames.lease },
      metrics: false,
      health: false,
    });
    addServiceBindingController(manager, {
      serviceTypes: [serviceBindingType, backendType],
      servicePollIntervalMs: 300,
    });
    running = manager.start(stop.signal);
    const mapping = await eventually(() => admin.get(mappingRef));
    assert.deepEqual(mapping['spec'], cronJobMapping.spec);
    const { managedFields } = mapping.metadata as { managedFields?: Array<{ manager?: string }> };
    const managers = managedFields ?? [];
    assert.deepEqual(
      managers.map((m) => m.manager),
      [defaultMappingsFieldManager],
      'created by the controller, with its field manager',
    );

    const template = {
      metadata: { labels: { app: 'web' } },
      spec: { containers: [{ name: 'app', image: 'registry.example/app:1' }], restartPolicy: 'Never' },
    };
    await admin.create({
      ...secretType,
      metadata: { namespace: ns, name: 'db-secret' },
      stringData: { type: 'mysql' },
    });
    await admin.create({
      ...deploymentType,
      metadata: { namespace: ns, name: 'web' },
      spec: {
        selector: { matchLabels: { app: 'web' } },
        template: { ...template, spec: { ...template.spec, restartPolicy: 'Always' } },
      },
    });
    await admin.create({
      ...cronJobType,
      metadata: { namespace: ns, name: 'nightly' },
      spec: { schedule: '@daily', jobTemplate: { spec: { template } } },
    });
    await admin.create({
      ...backendType,
      metadata: { namespace: ns, name: 'db' },
      status: { binding: { name: 'db-secret' } },
    });
    const binding = (
      name: string,
      service: TypeRef,
      workload: TypeRef & { name: string },
    ): ServiceBinding => ({
      ...serviceBindingType,
      metadata: { namespace: ns, name },
      spec: { service: { ...service, name: service.kind === 'Secret' ? 'db-secret' : 'db' }, workload },
    });
    await admin.create(binding('web-db', secretType, { ...deploymentType, name: 'web' }));
    await admin.create(binding('nightly-db', backendType, { ...cronJobType, name: 'nightly' }));

    for (const name of ['web-db', 'nightly-db']) {
      const ready = await eventually(async () => {
        const b = await admin.get<ServiceBinding>({ ...serviceBindingType, namespace: ns, name });
        const conditions: Condition[] = b.status?.conditions ?? [];
        const r = conditions.find((c) => c.type === 'Ready');
        assert.equal(r?.status, 'True', `${name}: ${JSON.stringify(b.status)}`);
        return b;
      });
      assert.equal(ready.status?.binding?.name, 'db-secret');
      for (const c of ready.status?.conditions ?? []) assert.doesNotMatch(c.reason ?? '', /Forbidden/);
    }
    const web = await admin.get({ ...deploymentType, namespace: ns, name: 'web' });
    assert.match(JSON.stringify(web['spec']), /"secret":\{"name":"db-secret"\}/);
    const nightly = await admin.get({ ...cronJobType, namespace: ns, name: 'nightly' });
    const jobPod = JSON.stringify((nightly['spec'] as { jobTemplate: unknown }).jobTemplate);
    assert.match(jobPod, /"secret":\{"name":"db-secret"\}/, 'projected where the CronJob mapping says');

    const lease = await admin.get<KubeObject & { spec?: { holderIdentity?: string } }>({
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      namespace: system,
      name: installNames.lease,
    });
    assert.ok(lease.spec?.holderIdentity, 'the Lease in the controller’s namespace is held');
    await eventually(async () => {
      const events = await admin.list<KubeObject & { reportingController?: string }>(
        { apiVersion: 'events.k8s.io/v1', kind: 'Event' },
        { namespace: ns },
      );
      assert.ok(
        events.items.some((e) => e.reportingController === 'servicebinding'),
        'events were recorded',
      );
    });

    stop.abort();
    await running;
    const problems = logs.filter((l) => /forbidden/i.test(l));
    assert.deepEqual(problems, [], 'no permission is missing');
    assert.ok(
      logs.some((l) => l.includes('leading')),
      'it took the Lease',
    );
    assert.ok(
      logs.some((l) => l.includes('created default mapping') && l.includes(cronJobMappingName)),
      'it logged the mapping it created',
    );
  });
});
