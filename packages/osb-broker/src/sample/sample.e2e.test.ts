// The sample broker on a real API server, through raw HTTP: what it provisions (Secrets), its sync and
// async flows, repeated PUTs, and its state surviving a restart (it lives in Secrets, not in memory).

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ControlPlane, skipE2E } from '@bindery/controlplane';
import { KubeClient, isNotFound } from '@bindery/kube';
import type { KubeObject } from '@bindery/kube';
import { osb } from '../test-helpers.ts';
import type { OsbAnswer, OsbCall } from '../test-helpers.ts';
import { sampleIds } from './catalog.ts';
import { secretName } from './state.ts';
import { startSampleBroker } from './start.ts';
import type { RunningSampleBroker } from './start.ts';

const namespace = 'sample-broker-e2e';
const DELAY_MS = 5_000;
const base = { organization_guid: 'org', space_guid: 'space' };
const small = { service_id: sampleIds.database, plan_id: sampleIds.databaseSmall };
const large = { service_id: sampleIds.database, plan_id: sampleIds.databaseLarge };
const queue = { service_id: sampleIds.queue, plan_id: sampleIds.queueStandard };
const metricsOnly = { service_id: sampleIds.queue, plan_id: sampleIds.queueMetricsOnly };

interface Secret extends KubeObject {
  type?: string;
  data?: Record<string, string>;
}

describe('the sample broker on a real API server', { skip: skipE2E }, () => {
  let cp: ControlPlane;
  let client: KubeClient;
  let broker: RunningSampleBroker;
  // One clock for every broker started here: tests move it instead of sleeping.
  let clock = Date.now();
  const start = async (): Promise<RunningSampleBroker> =>
    startSampleBroker({ client, namespace, delayMs: DELAY_MS, now: () => clock });
  const call = (method: string, path: string, options?: OsbCall): Promise<OsbAnswer> =>
    osb(broker.url, method, path, options);
  const secret = async (key: { instanceId: string; bindingId?: string }): Promise<Secret | undefined> => {
    try {
      return await client.get<Secret>({ apiVersion: 'v1', kind: 'Secret', namespace, name: secretName(key) });
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  };
  const decoded = (s: Secret | undefined, key: string): string =>
    Buffer.from(s?.data?.[key] ?? '', 'base64').toString('utf8');

  before(
    async () => {
      cp = new ControlPlane();
      await cp.start();
      client = new KubeClient({ kubeConfig: cp.kubeConfig() });
      broker = await start();
    },
    { timeout: 30 * 60_000 },
  );

  after(async () => {
    await broker?.stop();
    await client?.close();
    await cp?.stop();
  });

  it('serves a catalog of two offerings, with an async-only, a non-bindable and an updateable plan', async () => {
    const res = await call('GET', '/v2/catalog');
    assert.equal(res.status, 200);
    const services = res.body['services'] as { name: string; plans: Record<string, unknown>[] }[];
    assert.deepEqual(
      services.map((s) => s.name),
      ['bindery-database', 'bindery-queue'],
    );
    const plans = services.flatMap((s) => s.plans);
    assert.ok(plans.some((p) => p['bindable'] === false));
    assert.ok(plans.some((p) => p['plan_updateable'] === true));
    assert.ok(plans.every((p) => p['schemas'] === undefined || typeof p['schemas'] === 'object'));
  });

  it('provisions synchronously: a Secret with generated credentials; 200 for the same PUT, 409 for another', async () => {
    const body = { ...base, ...small, parameters: { database: 'orders' } };
    const created = await call('PUT', '/v2/service_instances/sync-1', { body });
    assert.equal(created.status, 201, created.text);
    assert.match(String(created.body['dashboard_url']), /^https:\/\//);
    const stored = await secret({ instanceId: 'sync-1' });
    assert.equal(stored?.type, 'osb.bindery.dev/instance');
    assert.equal(decoded(stored, 'database'), 'orders');
    assert.ok(decoded(stored, 'password').length >= 24);

    assert.equal((await call('PUT', '/v2/service_instances/sync-1', { body })).status, 200);
    const other = await call('PUT', '/v2/service_instances/sync-1', {
      body: { ...body, parameters: { database: 'invoices' } },
    });
    assert.equal(other.status, 409);

    const fetched = await call('GET', '/v2/service_instances/sync-1');
    assert.equal(fetched.status, 200);
    assert.equal(fetched.body['plan_id'], sampleIds.databaseSmall);
    assert.deepEqual(fetched.body['parameters'], { database: 'orders' });
  });

  it('refuses parameters the plan schema does not allow, before anything is created', async () => {
    const res = await call('PUT', '/v2/service_instances/bad-params', {
      body: { ...base, ...small, parameters: { database: 'Not Valid', extra: 1 } },
    });
    assert.equal(res.status, 400);
    assert.match(String(res.body['description']), /parameters\/database/);
    assert.equal(await secret({ instanceId: 'bad-params' }), undefined);
  });

  it('answers 422 AsyncRequired for the async-only plan without accepts_incomplete', async () => {
    const res = await call('PUT', '/v2/service_instances/async-1', { body: { ...base, ...large } });
    assert.equal(res.status, 422);
    assert.equal(res.body['error'], 'AsyncRequired');
    assert.equal(await secret({ instanceId: 'async-1' }), undefined);
  });

  it('answers 422 MaintenanceInfoConflict for another maintenance_info version', async () => {
    const res = await call('PUT', '/v2/service_instances/async-mi', {
      query: { accepts_incomplete: 'true' },
      body: { ...base, ...large, maintenance_info: { version: '0.9.0' } },
    });
    assert.equal(res.status, 422);
    assert.equal(res.body['error'], 'MaintenanceInfoConflict');
  });

  it('provisions asynchronously, and a restarted broker carries on: last_operation, GET, repeated PUT', async () => {
    const body = { ...base, ...large, maintenance_info: { version: '1.0.0' } };
    const query = { accepts_incomplete: 'true' };
    const accepted = await call('PUT', '/v2/service_instances/async-1', { query, body });
    assert.equal(accepted.status, 202, accepted.text);
    const operation = String(accepted.body['operation']);
    assert.ok(operation);
    assert.ok('dashboard_url' in accepted.body, 'dashboard_url is in the first answer of an async provision');

    const polling = await call('GET', '/v2/service_instances/async-1/last_operation', {
      query: { ...large, operation },
    });
    assert.equal(polling.status, 200);
    assert.equal(polling.body['state'], 'in progress');
    assert.equal(polling.headers.get('retry-after'), String(DELAY_MS / 1000));
    assert.equal(
      (await call('GET', '/v2/service_instances/async-1')).status,
      404,
      'GET is 404 while provisioning',
    );
    const again = await call('PUT', '/v2/service_instances/async-1', { query, body });
    assert.equal(again.status, 202);
    assert.equal(again.body['operation'], operation);
    const different = await call('PUT', '/v2/service_instances/async-1', {
      query,
      body: { ...body, parameters: { replicas: 2 } },
    });
    assert.equal(different.status, 409, 'a different PUT while the first is being provisioned');
    const early = await call('PUT', '/v2/service_instances/async-1/service_bindings/too-early', {
      body: large,
    });
    assert.equal(early.status, 422);
    assert.equal(early.body['error'], 'ConcurrencyError');

    await broker.stop();
    broker = await start();
    clock += DELAY_MS;

    const done = await call('GET', '/v2/service_instances/async-1/last_operation', { query: { operation } });
    assert.equal(done.body['state'], 'succeeded');
    const fetched = await call('GET', '/v2/service_instances/async-1');
    assert.equal(fetched.status, 200);
    assert.deepEqual(fetched.body['maintenance_info'], { version: '1.0.0' });
    assert.equal((await call('PUT', '/v2/service_instances/async-1', { query, body })).status, 200);
  });

  it('binds with credentials derived per binding, in a Secret of their own; 200 again, 409 for different', async () => {
    const body = { ...small, parameters: { role: 'readonly' }, bind_resource: { app_guid: 'app' } };
    const first = await call('PUT', '/v2/service_instances/sync-1/service_bindings/b-1', { body });
    assert.equal(first.status, 201, first.text);
    const credentials = first.body['credentials'] as Record<string, string>;
    assert.equal(credentials['role'], 'readonly');
    assert.equal(credentials['database'], 'orders');
    assert.ok(credentials['password']);
    const instance = await secret({ instanceId: 'sync-1' });
    assert.notEqual(credentials['password'], decoded(instance, 'password'));
    assert.equal(
      decoded(await secret({ instanceId: 'sync-1', bindingId: 'b-1' }), 'password'),
      credentials['password'],
    );

    const repeated = await call('PUT', '/v2/service_instances/sync-1/service_bindings/b-1', { body });
    assert.equal(repeated.status, 200);
    assert.deepEqual(repeated.body['credentials'], credentials);
    const conflicting = await call('PUT', '/v2/service_instances/sync-1/service_bindings/b-1', {
      body: { ...body, parameters: { role: 'readwrite' } },
    });
    assert.equal(conflicting.status, 409);

    const second = await call('PUT', '/v2/service_instances/sync-1/service_bindings/b-2', { body });
    assert.equal(second.status, 201);
    const other = second.body['credentials'] as Record<string, string>;
    assert.notEqual(other['username'], credentials['username']);
    assert.notEqual(other['password'], credentials['password']);

    const fetched = await call('GET', '/v2/service_instances/sync-1/service_bindings/b-1');
    assert.equal(fetched.status, 200);
    assert.deepEqual(fetched.body['credentials'], credentials);

    const rotated = await call('PUT', '/v2/service_instances/sync-1/service_bindings/b-1-next', {
      body: { ...body, predecessor_binding_id: 'b-1' },
    });
    assert.equal(rotated.status, 201, rotated.text);
    const next = rotated.body['credentials'] as Record<string, string>;
    assert.notEqual(next['password'], credentials['password']);
    assert.equal((await call('GET', '/v2/service_instances/sync-1/service_bindings/b-1')).status, 200);
    const orphan = await call('PUT', '/v2/service_instances/sync-1/service_bindings/b-x', {
      body: { ...body, predecessor_binding_id: 'never-bound' },
    });
    assert.equal(orphan.status, 400);
  });

  it('refuses to bind a plan that is not bindable', async () => {
    const provisioned = await call('PUT', '/v2/service_instances/metrics-1', {
      body: { ...base, ...metricsOnly },
    });
    assert.equal(provisioned.status, 201);
    const res = await call('PUT', '/v2/service_instances/metrics-1/service_bindings/b', {
      body: metricsOnly,
    });
    assert.equal(res.status, 400);
  });

  it('binds and unbinds asynchronously: 202, GET 404 until done, credentials from GET, 410 after', async () => {
    assert.equal(
      (await call('PUT', '/v2/service_instances/queue-1', { body: { ...base, ...queue } })).status,
      201,
    );
    const query = { accepts_incomplete: 'true' };
    const path = '/v2/service_instances/queue-1/service_bindings/qb-1';
    const accepted = await call('PUT', path, { query, body: { ...queue, parameters: { prefetch: 10 } } });
    assert.equal(accepted.status, 202, accepted.text);
    assert.equal(accepted.body['credentials'], undefined, 'no credentials in a 202');
    const operation = String(accepted.body['operation']);
    assert.equal((await call('GET', path)).status, 404);
    const polling = await call('GET', `${path}/last_operation`, { query: { operation } });
    assert.equal(polling.body['state'], 'in progress');

    clock += DELAY_MS;
    assert.equal(
      (await call('GET', `${path}/last_operation`, { query: { operation } })).body['state'],
      'succeeded',
    );
    const fetched = await call('GET', path);
    assert.equal(fetched.status, 200);
    assert.match(String((fetched.body['credentials'] as Record<string, string>)['uri']), /^amqp:\/\//);
    assert.deepEqual(fetched.body['parameters'], { prefetch: 10 });

    const unbinding = await call('DELETE', path, { query: { ...queue, ...query } });
    assert.equal(unbinding.status, 202);
    clock += DELAY_MS;
    const unbound = await call('GET', `${path}/last_operation`, {
      query: { operation: String(unbinding.body['operation']) },
    });
    assert.equal(unbound.body['state'], 'succeeded');
    assert.equal(await secret({ instanceId: 'queue-1', bindingId: 'qb-1' }), undefined);
    assert.equal((await call('GET', `${path}/last_operation`)).status, 410);
    assert.equal((await call('DELETE', path, { query: queue })).status, 410);
  });

  it('updates the plan where plan_updateable allows it, and refuses where not', async () => {
    const path = '/v2/service_instances/sync-1';
    const toLarge = {
      service_id: sampleIds.database,
      plan_id: sampleIds.databaseLarge,
      previous_values: { plan_id: sampleIds.databaseSmall },
    };
    const refused = await call('PATCH', path, { body: toLarge });
    assert.equal(refused.status, 422);
    assert.equal(refused.body['error'], 'AsyncRequired');
    const accepted = await call('PATCH', path, { query: { accepts_incomplete: 'true' }, body: toLarge });
    assert.equal(accepted.status, 202, accepted.text);
    assert.equal((await call('GET', path)).status, 422, 'GET is ConcurrencyError while updating');
    clock += DELAY_MS;
    const done = await call('GET', `${path}/last_operation`, {
      query: { operation: String(accepted.body['operation']) },
    });
    assert.equal(done.body['state'], 'succeeded');
    assert.equal((await call('GET', path)).body['plan_id'], sampleIds.databaseLarge);

    const back = await call('PATCH', path, {
      query: { accepts_incomplete: 'true' },
      body: { ...small, previous_values: { plan_id: sampleIds.databaseLarge } },
    });
    assert.equal(back.status, 422);
    assert.equal(back.body['error'], undefined);
  });

  it('deprovisions: its Secret and its bindings go, then 410 Gone', async () => {
    const path = '/v2/service_instances/sync-1';
    const res = await call('DELETE', path, { query: { ...large, accepts_incomplete: 'true' } });
    assert.equal(res.status, 202);
    clock += DELAY_MS;
    const done = await call('GET', `${path}/last_operation`, {
      query: { operation: String(res.body['operation']) },
    });
    assert.equal(done.body['state'], 'succeeded');
    assert.equal(await secret({ instanceId: 'sync-1' }), undefined);
    assert.equal(await secret({ instanceId: 'sync-1', bindingId: 'b-1' }), undefined);
    assert.equal(await secret({ instanceId: 'sync-1', bindingId: 'b-2' }), undefined);
    assert.equal(await secret({ instanceId: 'sync-1', bindingId: 'b-1-next' }), undefined);
    assert.equal((await call('GET', `${path}/last_operation`)).status, 410);
    assert.equal((await call('DELETE', path, { query: small })).status, 410);
    assert.equal((await call('GET', path)).status, 404);
    assert.equal(
      (await call('DELETE', '/v2/service_instances/never/service_bindings/x', { query: small })).status,
      410,
    );
  });

  it('counts requests per operation and status code', async () => {
    const text = await broker.registry.metrics();
    assert.match(text, /osb_broker_requests_total\{operation="deprovision",code="410"\} 1/);
  });
});
