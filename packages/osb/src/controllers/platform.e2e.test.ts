// The ServiceInstance and ServiceCredentialBinding controllers on a real kube-apiserver, with the
// userInfo webhook registered for real, against the scripted broker (testing/scripted-broker.ts):
// each row of the OSB 2.17 orphan-mitigation table asserts the exact DELETE requests the broker
// received, and that none is sent where the table says so.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Writable } from 'node:stream';
import { ControlPlane, eventually, skipE2E } from '@bindery/controlplane';
import { KubeClient, isNotFound } from '@bindery/kube';
import type { KubeObject } from '@bindery/kube';
import { Manager, WebhookServer } from '@bindery/runtime';
import type { Condition } from '@bindery/runtime';
import { pino } from 'pino';
import { apiVersion, osbCRDs } from '../apis/index.ts';
import type { ServiceCredentialBinding, ServiceInstance } from '../apis/index.ts';
import { OsbClient } from '../client/index.ts';
import { osbClientBrokerApi } from '../platform/osb-client-api.ts';
import { ScriptedBroker } from '../testing/scripted-broker.ts';
import type { ScriptedReply } from '../testing/scripted-broker.ts';
import { addOsbPlatformControllers, registerUserInfoWebhooks, userInfoWebhookPaths } from './add-platform.ts';

const ns = 'osb-platform-e2e';
const serviceID = 'svc-db-0001';
const canary = `canary-${Math.random().toString(36).slice(2)}-${Date.now()}`;

const classObject: KubeObject = {
  apiVersion,
  kind: 'ClusterServiceClass',
  metadata: { name: 'db-class' },
  spec: {
    externalName: 'db',
    externalID: serviceID,
    clusterServiceBrokerName: 'scripted',
    bindable: true,
    bindingsRetrievable: true,
    tags: ['sql', 'postgresql'],
    externalMetadata: { providerDisplayName: 'Scripted Inc.' },
  },
};

const plan = (name: string, id: string, extra: Record<string, unknown> = {}): KubeObject => ({
  apiVersion,
  kind: 'ClusterServicePlan',
  metadata: { name: `db-${name}` },
  spec: {
    externalName: name,
    externalID: id,
    clusterServiceBrokerName: 'scripted',
    clusterServiceClassRef: { name: 'db-class' },
    ...extra,
  },
});

const sizeSchema = {
  parameters: {
    $schema: 'http://json-schema.org/draft-04/schema#',
    type: 'object',
    properties: { size: { type: 'integer', minimum: 1, maximum: 8 } },
    additionalProperties: false,
  },
};

const plans = [
  plan('small', 'plan-small', {
    instanceCreateParameterSchema: sizeSchema,
    instanceUpdateParameterSchema: sizeSchema,
  }),
  plan('large', 'plan-large'),
  plan('fixed', 'plan-fixed', { planUpdateable: false }),
];

describe('OSB platform controllers on a real API server', { skip: skipE2E }, () => {
  let cp: ControlPlane;
  let admin: KubeClient;
  let alice: KubeClient;
  let bob: KubeClient;
  let broker: ScriptedBroker;
  let webhooks: WebhookServer;
  let osb: OsbClient;
  const stop = new AbortController();
  let running: Promise<void> | undefined;
  let manager: Manager;
  const logs: string[] = [];

  const instance = (name: string, spec: Record<string, unknown> = {}): ServiceInstance => ({
    apiVersion,
    kind: 'ServiceInstance',
    metadata: { name, namespace: ns },
    spec: {
      clusterServiceClassExternalName: 'db',
      clusterServicePlanExternalName: 'large',
      externalID: `i-${name}`,
      ...spec,
    },
  });
  const credentialBinding = (
    name: string,
    instanceName: string,
    spec: Record<string, unknown> = {},
  ): ServiceCredentialBinding => ({
    apiVersion,
    kind: 'ServiceCredentialBinding',
    metadata: { name, namespace: ns },
    spec: { instanceRef: { name: instanceName }, externalID: `b-${name}`, ...spec },
  });
  const getInstance = (name: string) =>
    admin.get<ServiceInstance>({ apiVersion, kind: 'ServiceInstance', namespace: ns, name });
  const getBinding = (name: string) =>
    admin.get<ServiceCredentialBinding>({
      apiVersion,
      kind: 'ServiceCredentialBinding',
      namespace: ns,
      name,
    });
  const condition = (obj: { status?: { conditions?: Condition[] } }, type: string) =>
    obj.status?.conditions?.find((c) => c.type === type);

  async function waitInstance(name: string, ready: 'True' | 'Failed'): Promise<ServiceInstance> {
    return eventually(async () => {
      const i = await getInstance(name);
      if (ready === 'True') assert.equal(condition(i, 'Ready')?.status, 'True', JSON.stringify(i.status));
      else assert.equal(condition(i, 'Failed')?.status, 'True', JSON.stringify(i.status));
      return i;
    }, 30_000);
  }
  async function waitBinding(name: string, ready: 'True' | 'Failed'): Promise<ServiceCredentialBinding> {
    return eventually(async () => {
      const b = await getBinding(name);
      if (ready === 'True') assert.equal(condition(b, 'Ready')?.status, 'True', JSON.stringify(b.status));
      else assert.equal(condition(b, 'Failed')?.status, 'True', JSON.stringify(b.status));
      return b;
    }, 30_000);
  }
  const deprovisions = (id: string) => broker.requests('deprovision').filter((r) => r.instanceId === id);
  const unbinds = (id: string) => broker.requests('unbind').filter((r) => r.bindingId === id);
  const identityOf = (header: string | undefined): unknown =>
    header === undefined
      ? undefined
      : JSON.parse(Buffer.from(header.split(' ')[1] ?? '', 'base64').toString('utf8'));

  before(
    async () => {
      cp = new ControlPlane();
      await cp.start();
      admin = cp.client();
      await cp.installCRDs(osbCRDs());
      await admin.create({
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name: ns, annotations: { team: 'db' } },
      });
      const aliceUser = await cp.addUser({ name: 'alice', groups: ['system:masters'] });
      const bobUser = await cp.addUser({ name: 'bob', groups: ['system:masters'] });
      alice = KubeClient.fromKubeConfig({ kubeconfig: aliceUser.kubeconfigPath });
      bob = KubeClient.fromKubeConfig({ kubeconfig: bobUser.kubeconfigPath });
      await admin.create(classObject);
      for (const p of plans) await admin.create(p);

      broker = await ScriptedBroker.start({
        dashboardUrl: (id) => `https://dashboard.example/${id}`,
        credentials: (_i, b) =>
          b === 'b-canary'
            ? { username: 'canary-user', password: canary, port: 5432 }
            : { username: `u-${b}`, password: 'pw' },
      });
      osb = new OsbClient({ url: broker.url, timeoutMs: 1500 });
      const api = osbClientBrokerApi(osb);

      const serving = await cp.certificateAuthority.issueServing({ hosts: ['127.0.0.1'] });
      webhooks = new WebhookServer({ port: 0, tls: serving, log: pino({ level: 'silent' }) });
      registerUserInfoWebhooks(webhooks);
      await webhooks.listen();
      for (const [resource, path] of [
        ['serviceinstances', userInfoWebhookPaths.serviceInstance],
        ['servicecredentialbindings', userInfoWebhookPaths.serviceCredentialBinding],
      ] as const) {
        await cp.registerWebhook({
          kind: 'Mutating',
          name: `osb-userinfo-${resource}`,
          url: webhooks.url(path),
          caBundle: cp.caCert,
          rules: [
            {
              operations: ['CREATE', 'UPDATE'],
              apiGroups: ['osb.bindery.dev'],
              apiVersions: ['v1alpha1'],
              resources: [resource],
            },
          ],
        });
      }
      // The API server picks webhook configurations up moments later.
      await eventually(async () => {
        const probe = await alice.create(
          instance('webhook-probe', { clusterServicePlanExternalName: 'nonexistent' }),
          { dryRun: true },
        );
        assert.equal(probe.spec.userInfo?.username, 'alice');
      });

      const sink = new Writable({
        write(chunk: Buffer, _enc, done) {
          logs.push(chunk.toString('utf8'));
          done();
        },
      });
      manager = new Manager({
        client: admin,
        name: 'osb-platform',
        log: pino({ level: 'debug' }, sink),
        metrics: false,
        health: false,
      });
      addOsbPlatformControllers(manager, {
        brokers: () => Promise.resolve(api),
        clusterID: 'cluster-e2e',
        polling: { minDelayMs: 200, maxDelayMs: 1000 },
        rotationGraceMs: 500,
      });
      running = manager.start(stop.signal);
    },
    { timeout: 30 * 60_000 },
  );

  after(async () => {
    stop.abort();
    await running?.catch(() => undefined);
    await webhooks?.stop();
    await osb?.close();
    await broker?.close();
    await cp?.stop();
  });

  it('provisions with the Kubernetes context, the creating user and a dashboard URL (OSBP-1, OSBP-2, OSBP-3, OSBP-5, OSBP-6, OSBP-8)', async () => {
    await alice.create(instance('basic', { parameters: { tier: 'gold' } }));
    const ready = await waitInstance('basic', 'True');
    assert.equal(ready.status?.dashboardURL, 'https://dashboard.example/i-basic');
    assert.equal(ready.status?.planRef?.externalID, 'plan-large');
    assert.ok(ready.metadata.finalizers?.includes('osb.bindery.dev/finalizer'));
    const put = broker.requests('provision').filter((r) => r.instanceId === 'i-basic');
    assert.equal(put.length, 1);
    const nsUID = (await admin.get({ apiVersion: 'v1', kind: 'Namespace', name: ns })).metadata.uid;
    assert.deepEqual(put[0]?.body, {
      service_id: serviceID,
      plan_id: 'plan-large',
      organization_guid: 'cluster-e2e',
      space_guid: nsUID,
      context: {
        platform: 'kubernetes',
        namespace: ns,
        clusterid: 'cluster-e2e',
        instance_name: 'basic',
        namespace_annotations: { team: 'db' },
      },
      parameters: { tier: 'gold' },
    });
    assert.equal(put[0]?.query['accepts_incomplete'], 'true');
    assert.equal(put[0]?.headers['x-broker-api-version'], '2.17');
    assert.ok(put[0]?.headers['x-broker-api-request-identity'], 'a request identity on every request');
    const who = identityOf(put[0]?.headers['x-broker-api-originating-identity']) as Record<string, unknown>;
    assert.equal(who['username'], 'alice');
    assert.ok((who['groups'] as string[]).includes('system:masters'));
    assert.ok('uid' in who && 'extra' in who, 'all four properties of the Kubernetes profile');
  });

  // OSB 2.17 orphan-mitigation table, provision rows: the DELETEs the broker receives.
  const provisionRows: { row: string; replies: ScriptedReply[]; deletes: number; end: 'True' | 'Failed' }[] =
    [
      {
        row: '5xx (OSBP-22, OSBP-4)',
        replies: [{ status: 500, body: { description: 'boom' } }],
        deletes: 1,
        end: 'True',
      },
      { row: 'timeout (OSBP-23)', replies: [{ hang: true }], deletes: 1, end: 'True' },
      {
        row: 'malformed 201 (OSBP-24)',
        replies: [{ status: 201, raw: '{"dashboard_url": ' }],
        deletes: 1,
        end: 'True',
      },
      {
        row: 'malformed 202 (OSBP-24)',
        replies: [{ status: 202, raw: 'accepted!' }],
        deletes: 1,
        end: 'True',
      },
      { row: 'other 2xx, 204 (OSBP-25)', replies: [{ status: 204, raw: '' }], deletes: 1, end: 'True' },
      { row: '408 (OSBP-27)', replies: [{ status: 408 }], deletes: 0, end: 'True' },
      {
        row: 'other 4xx, 400 (OSBP-28)',
        replies: [{ status: 400, body: { description: 'no' } }],
        deletes: 0,
        end: 'Failed',
      },
      { row: '409 conflict (OSBP-32)', replies: [{ status: 409, body: {} }], deletes: 0, end: 'Failed' },
      {
        row: '422 ConcurrencyError (OSBP-31)',
        replies: [{ status: 422, body: { error: 'ConcurrencyError', description: 'busy' } }],
        deletes: 0,
        end: 'True',
      },
    ];
  for (const [n, { row, replies, deletes, end }] of provisionRows.entries()) {
    it(`provision answered ${row}: ${deletes} orphan-mitigation DELETE`, async () => {
      const name = `om-provision-${n}`;
      const id = `i-${name}`;
      for (const reply of replies) broker.script('provision', reply, 1, (r) => r.instanceId === id);
      await alice.create(instance(name));
      const settled = await waitInstance(name, end);
      if (end === 'Failed') await sleep(1500); // nothing more may come
      assert.equal(deprovisions(id).length, deletes, JSON.stringify(settled.status));
      for (const del of deprovisions(id)) {
        assert.equal(
          del.headers['x-broker-api-originating-identity'],
          undefined,
          'orphan mitigation carries no identity',
        );
        assert.deepEqual(
          { service_id: del.query['service_id'], plan_id: del.query['plan_id'] },
          { service_id: serviceID, plan_id: 'plan-large' },
        );
      }
      if (end === 'True') assert.equal(settled.status?.provisionStatus, 'Provisioned');
    });
  }

  it('provision whose last_operation says failed: one DELETE, then parked until the spec changes (OSBP-26, OSBP-9)', async () => {
    const id = 'i-om-async-failed';
    broker.script('provision', { status: 202, body: { operation: 'op/1 x' } }, 1, (r) => r.instanceId === id);
    broker.script(
      'instanceLastOperation',
      { status: 200, body: { state: 'failed', description: 'quota' } },
      1,
      (r) => r.instanceId === id,
    );
    await alice.create(instance('om-async-failed'));
    const failed = await waitInstance('om-async-failed', 'Failed');
    await sleep(1500);
    assert.equal(deprovisions(id).length, 1);
    assert.match(condition(failed, 'Failed')?.message ?? '', /quota/);
    const poll = broker.requests('instanceLastOperation').find((r) => r.instanceId === id);
    assert.equal(poll?.query['operation'], 'op/1 x', 'the operation is echoed');
    assert.equal(broker.requests('provision').filter((r) => r.instanceId === id).length, 1, 'not retried');
  });

  it('provision with parameters that fail the plan schema: a condition, and no request to the broker (OSBP-7)', async () => {
    await alice.create(
      instance('bad-params', { clusterServicePlanExternalName: 'small', parameters: { size: 99 } }),
    );
    const failed = await waitInstance('bad-params', 'Failed');
    assert.equal(condition(failed, 'Failed')?.reason, 'InvalidParameters');
    assert.match(condition(failed, 'Failed')?.message ?? '', /parameters\.size must be <= 8/);
    assert.equal(broker.requests('provision').filter((r) => r.instanceId === 'i-bad-params').length, 0);
  });

  it('an unknown plan is a condition naming the field', async () => {
    await alice.create(instance('no-plan', { clusterServicePlanExternalName: 'huge' }));
    await eventually(async () => {
      const i = await getInstance('no-plan');
      assert.equal(condition(i, 'Ready')?.reason, 'ReferencesNonexistentServicePlan');
      assert.match(condition(i, 'Ready')?.message ?? '', /spec\.clusterServicePlanExternalName/);
    });
  });

  it('async provision polls last_operation with service_id and plan_id (OSBP-9, OSBP-10)', async () => {
    broker.setAsyncOperations(['provision']);
    try {
      await alice.create(instance('async'));
      await waitInstance('async', 'True');
      const polls = broker.requests('instanceLastOperation').filter((r) => r.instanceId === 'i-async');
      assert.ok(polls.length >= 2, `polled ${polls.length} times`);
      assert.equal(polls[0]?.query['service_id'], serviceID);
      assert.equal(polls[0]?.query['plan_id'], 'plan-large');
    } finally {
      broker.setAsyncOperations([]);
    }
  });

  it('updates parameters with PATCH carrying the changing user, and refuses a plan change the plan does not allow (OSBP-3, OSBP-14, OSBP-15)', async () => {
    await alice.create(instance('upd', { clusterServicePlanExternalName: 'small', parameters: { size: 1 } }));
    await waitInstance('upd', 'True');
    const current = await getInstance('upd');
    await bob.update({ ...current, spec: { ...current.spec, parameters: { size: 2 } } });
    await eventually(() => {
      const patch = broker.requests('update').filter((r) => r.instanceId === 'i-upd');
      assert.equal(patch.length, 1);
      const body = patch[0]?.body as Record<string, unknown>;
      assert.deepEqual(body['parameters'], { size: 2 });
      assert.equal(body['plan_id'], undefined, 'the plan did not change');
      assert.deepEqual(body['previous_values'], { plan_id: 'plan-small', service_id: serviceID });
      assert.equal(
        (identityOf(patch[0]?.headers['x-broker-api-originating-identity']) as { username: string }).username,
        'bob',
      );
    });
    await waitInstance('upd', 'True');

    await alice.create(instance('fixed', { clusterServicePlanExternalName: 'fixed' }));
    await waitInstance('fixed', 'True');
    const fixed = await getInstance('fixed');
    await alice.update({ ...fixed, spec: { ...fixed.spec, clusterServicePlanExternalName: 'large' } });
    await eventually(async () => {
      assert.equal(condition(await getInstance('fixed'), 'Ready')?.reason, 'PlanChangeNotAllowed');
    });
    assert.equal(broker.requests('update').filter((r) => r.instanceId === 'i-fixed').length, 0);
  });

  it('binds, writes a servicebinding.io Secret it owns, and exposes .status.binding.name (OSBP-5, OSBP-20)', async () => {
    await alice.create(credentialBinding('app', 'basic', { secretName: 'app-credentials' }));
    const b = await waitBinding('app', 'True');
    assert.deepEqual(b.status?.binding, { name: 'app-credentials' });
    const secret = await admin.get({
      apiVersion: 'v1',
      kind: 'Secret',
      namespace: ns,
      name: 'app-credentials',
    });
    assert.equal(secret['type'], 'servicebinding.io/postgresql');
    const data = secret['data'] as Record<string, string>;
    const decode = (k: string) => Buffer.from(data[k] ?? '', 'base64').toString('utf8');
    assert.equal(decode('type'), 'postgresql');
    assert.equal(decode('provider'), 'Scripted Inc.');
    assert.equal(decode('username'), 'u-b-app');
    assert.equal(secret.metadata.ownerReferences?.[0]?.uid, b.metadata.uid);
    const put = broker.requests('bind').find((r) => r.bindingId === 'b-app');
    const body = put?.body as Record<string, unknown>;
    assert.equal(body['service_id'], serviceID);
    assert.equal(body['plan_id'], 'plan-large');
    assert.deepEqual((body['context'] as Record<string, unknown>)['platform'], 'kubernetes');
    assert.equal(put?.query['accepts_incomplete'], 'true', 'the offering is bindings_retrievable');
  });

  // Orphan-mitigation table, bind rows.
  const bindRows: { row: string; reply: ScriptedReply; unbinds: number; end: 'True' | 'Failed' }[] = [
    { row: '5xx (OSBP-22, OSBP-4)', reply: { status: 503 }, unbinds: 1, end: 'True' },
    { row: 'timeout (OSBP-23)', reply: { hang: true }, unbinds: 1, end: 'True' },
    {
      row: 'malformed 201 (OSBP-24)',
      reply: { status: 201, raw: '{"credentials": "x' },
      unbinds: 1,
      end: 'True',
    },
    { row: 'malformed 202 (OSBP-24)', reply: { status: 202, raw: '[]' }, unbinds: 1, end: 'True' },
    { row: 'other 2xx, 206 (OSBP-25)', reply: { status: 206, body: {} }, unbinds: 1, end: 'True' },
    { row: '408 (OSBP-27)', reply: { status: 408 }, unbinds: 0, end: 'True' },
    {
      row: 'other 4xx, 400 (OSBP-28)',
      reply: { status: 400, body: { description: 'nope' } },
      unbinds: 0,
      end: 'Failed',
    },
  ];
  for (const [n, { row, reply, unbinds: expected, end }] of bindRows.entries()) {
    it(`bind answered ${row}: ${expected} orphan-mitigation unbind`, async () => {
      const name = `om-bind-${n}`;
      const id = `b-${name}`;
      broker.script('bind', reply, 1, (r) => r.bindingId === id);
      await alice.create(credentialBinding(name, 'basic'));
      const settled = await waitBinding(name, end);
      if (end === 'Failed') await sleep(1500);
      assert.equal(unbinds(id).length, expected, JSON.stringify(settled.status));
      for (const u of unbinds(id)) assert.equal(u.headers['x-broker-api-originating-identity'], undefined);
    });
  }

  it('async bind whose last_operation says failed: one unbind (OSBP-26)', async () => {
    const id = 'b-om-bind-async';
    broker.script('bind', { status: 202, body: { operation: 'bind-1' } }, 1, (r) => r.bindingId === id);
    broker.script(
      'bindingLastOperation',
      { status: 200, body: { state: 'failed' } },
      1,
      (r) => r.bindingId === id,
    );
    await alice.create(credentialBinding('om-bind-async', 'basic'));
    await waitBinding('om-bind-async', 'Failed');
    await sleep(1500);
    assert.equal(unbinds(id).length, 1);
  });

  it('async bind fetches the credentials with GET binding (OSBP-19)', async () => {
    broker.setAsyncOperations(['bind']);
    try {
      await alice.create(credentialBinding('async-bind', 'basic'));
      await waitBinding('async-bind', 'True');
      assert.equal(broker.requests('getBinding').filter((r) => r.bindingId === 'b-async-bind').length, 1);
    } finally {
      broker.setAsyncOperations([]);
    }
  });

  it('credentials that are not an object are a condition, and never leave the broker answer (OSBP-20, OSBP-24)', async () => {
    const id = 'b-not-object';
    broker.script(
      'bind',
      { status: 201, body: { credentials: 'just-a-string' } },
      1000,
      (r) => r.bindingId === id,
    );
    await alice.create(credentialBinding('not-object', 'basic'));
    try {
      await eventually(async () => {
        const b = await getBinding('not-object');
        const om = condition(b, 'OrphanMitigation') ?? condition(b, 'Ready');
        assert.match(om?.message ?? '', /malformed/, JSON.stringify(b.status));
        assert.doesNotMatch(JSON.stringify(b.status), /just-a-string/);
      });
      // The condition is written before the unbind is sent: wait for it.
      await eventually(() =>
        assert.ok(unbinds(id).length >= 1, 'a malformed 201 to a bind is orphan-mitigated'),
      );
    } finally {
      broker.clearScripts();
    }
  });

  it('rotates a binding_rotatable binding with predecessor_binding_id and unbinds the predecessor (OSBP-21)', async () => {
    await admin.create(plan('rotating', 'plan-rotating', { bindingRotatable: true }));
    await alice.create(instance('rot', { clusterServicePlanExternalName: 'rotating' }));
    await waitInstance('rot', 'True');
    await alice.create(credentialBinding('rot', 'rot'));
    const first = await waitBinding('rot', 'True');
    await alice.update({ ...first, spec: { ...first.spec, rotationRequests: 1 } });
    await eventually(async () => {
      const b = await getBinding('rot');
      assert.equal(b.status?.observedRotationRequests, 1);
      assert.notEqual(b.status?.externalID, 'b-rot');
      const put = broker.requests('bind').find((r) => r.bindingId === b.status?.externalID);
      assert.equal((put?.body as Record<string, unknown>)['predecessor_binding_id'], 'b-rot');
      assert.equal(unbinds('b-rot').length, 1, 'the predecessor is unbound after the grace period');
      assert.equal(b.status?.predecessor, undefined);
    });
  });

  it('deprovision waits for the bindings, unbinds, deprovisions and releases both objects (OSBP-16, OSBP-17)', async () => {
    await alice.create(instance('gone'));
    await waitInstance('gone', 'True');
    await alice.create(credentialBinding('gone', 'gone'));
    await waitBinding('gone', 'True');
    await alice.delete({ apiVersion, kind: 'ServiceInstance', namespace: ns, name: 'gone' });
    await eventually(async () => {
      assert.equal(
        condition(await getInstance('gone'), 'Ready')?.reason,
        'DeprovisionBlockedByExistingCredentials',
      );
    });
    assert.equal(deprovisions('i-gone').length, 0, 'bindings first');
    await bob.delete({ apiVersion, kind: 'ServiceCredentialBinding', namespace: ns, name: 'gone' });
    await eventually(async () => {
      assert.ok(isNotFound(await getBinding('gone').catch((e: unknown) => e)));
      assert.ok(isNotFound(await getInstance('gone').catch((e: unknown) => e)));
    });
    assert.equal(unbinds('b-gone').length, 1);
    assert.equal(deprovisions('i-gone').length, 1);
    const unbind = unbinds('b-gone')[0];
    assert.equal(
      (identityOf(unbind?.headers['x-broker-api-originating-identity']) as { username: string }).username,
      'alice',
      'the identity recorded with the object',
    );
    assert.ok(
      isNotFound(
        await admin
          .get({ apiVersion: 'v1', kind: 'Secret', namespace: ns, name: 'gone' })
          .catch((e: unknown) => e),
      ),
    );
  });

  it('a new binding to an instance being deleted is refused, with no request to the broker', async () => {
    await alice.create(instance('leaving'));
    await waitInstance('leaving', 'True');
    await alice.create(credentialBinding('leaving-old', 'leaving'));
    await waitBinding('leaving-old', 'True');
    await alice.delete({ apiVersion, kind: 'ServiceInstance', namespace: ns, name: 'leaving' });
    await eventually(async () => {
      assert.equal(
        condition(await getInstance('leaving'), 'Ready')?.reason,
        'DeprovisionBlockedByExistingCredentials',
      );
    });
    await alice.create(credentialBinding('leaving-new', 'leaving'));
    const refused = await eventually(async () => {
      const ready = condition(await getBinding('leaving-new'), 'Ready');
      assert.equal(ready?.reason, 'ReferencesDeletedServiceInstance', JSON.stringify(ready));
      return ready;
    });
    assert.equal(refused?.status, 'False');
    assert.match(refused?.message ?? '', /ServiceInstance "leaving" is being deleted/);
    assert.deepEqual(
      broker.requests('bind').filter((r) => r.bindingId === 'b-leaving-new'),
      [],
      'no bind to an instance on its way out',
    );
    // Once the bindings go, so does the instance.
    for (const name of ['leaving-new', 'leaving-old'])
      await bob.delete({ apiVersion, kind: 'ServiceCredentialBinding', namespace: ns, name });
    await eventually(async () => {
      assert.ok(isNotFound(await getInstance('leaving').catch((e: unknown) => e)));
    });
    assert.equal(unbinds('b-leaving-new').length, 0, 'never bound, never unbound');
  });

  it('a deprovision answered 5xx is repeated until the broker says it is gone (OSBP-17, OSBP-30)', async () => {
    await alice.create(instance('retry-delete'));
    await waitInstance('retry-delete', 'True');
    broker.script('deprovision', { status: 500 }, 2, (r) => r.instanceId === 'i-retry-delete');
    await alice.delete({ apiVersion, kind: 'ServiceInstance', namespace: ns, name: 'retry-delete' });
    await eventually(async () => {
      assert.ok(isNotFound(await getInstance('retry-delete').catch((e: unknown) => e)));
    });
    assert.equal(deprovisions('i-retry-delete').length, 3);
  });

  it('canary: a credential never reaches logs, events, conditions or metrics', async () => {
    await alice.create(credentialBinding('canary', 'basic'));
    await waitBinding('canary', 'True');
    const secret = await admin.get({ apiVersion: 'v1', kind: 'Secret', namespace: ns, name: 'canary' });
    const data = secret['data'] as Record<string, string>;
    assert.equal(
      Buffer.from(data['password'] ?? '', 'base64').toString('utf8'),
      canary,
      'the canary is in the Secret',
    );
    const events = await admin.list({ apiVersion: 'events.k8s.io/v1', kind: 'Event' }, { namespace: ns });
    const coreEvents = await admin.list({ apiVersion: 'v1', kind: 'Event' }, { namespace: ns });
    const instances = await admin.list({ apiVersion, kind: 'ServiceInstance' }, { namespace: ns });
    const bindings = await admin.list({ apiVersion, kind: 'ServiceCredentialBinding' }, { namespace: ns });
    const metrics = await manager.registry.metrics();
    const outputs = {
      logs: logs.join(''),
      events: JSON.stringify(events) + JSON.stringify(coreEvents),
      statuses: JSON.stringify(instances) + JSON.stringify(bindings),
      metrics,
    };
    assert.ok(outputs.logs.length > 0 && outputs.events.length > 0);
    for (const [what, text] of Object.entries(outputs))
      assert.equal(text.includes(canary), false, `the canary leaked into ${what}`);
  });
});
