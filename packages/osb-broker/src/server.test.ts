// Every rule of the broker's side of OSB 2.17 that the server enforces, through raw HTTP against a
// broker written here (in memory, scripted per test). The Kubernetes-backed flows are in
// sample/sample.e2e.test.ts, TokenReview auth in token-review.e2e.test.ts.

import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, afterEach, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { CertificateAuthority } from '@bindery/controlplane';
import { basicAuth } from './auth.ts';
import type { BindBody, Broker, ProvisionBody, ProvisionRequest, RequestContext } from './broker.ts';
import type { Catalog } from './catalog.ts';
import { BrokerError } from './errors.ts';
import { BrokerServer } from './server.ts';
import type { BrokerServerOptions } from './server.ts';
import { compareBind, compareProvision } from './store.ts';
import { basicHeader, osb, rawRequest } from './test-helpers.ts';
import type { OsbAnswer, OsbCall } from './test-helpers.ts';

const catalog: Catalog = {
  services: [
    {
      id: 'svc',
      name: 'db',
      description: 'a database',
      bindable: true,
      instances_retrievable: true,
      bindings_retrievable: true,
      plans: [
        {
          id: 'plan-a',
          name: 'a',
          description: 'draft-04 schema, updateable, rotatable',
          plan_updateable: true,
          binding_rotatable: true,
          maintenance_info: { version: '2.0.0' },
          schemas: {
            service_instance: {
              create: {
                parameters: {
                  $schema: 'http://json-schema.org/draft-04/schema#',
                  type: 'object',
                  properties: { size: { type: 'integer', maximum: 10, exclusiveMaximum: true } },
                  additionalProperties: false,
                },
              },
            },
            service_binding: {
              create: {
                parameters: {
                  $schema: 'https://json-schema.org/draft/2020-12/schema',
                  type: 'object',
                  required: ['role'],
                },
              },
            },
          },
        },
        { id: 'plan-b', name: 'b', description: 'async only, not updateable', plan_updateable: false },
        { id: 'plan-c', name: 'c', description: 'not bindable', bindable: false },
      ],
    },
  ],
};

const provisionBody = { service_id: 'svc', plan_id: 'plan-a', organization_guid: 'o', space_guid: 's' };

/** A broker in memory; each test may replace any method. */
function memoryBroker(): Broker & { calls: { name: string; request: unknown; ctx: RequestContext }[] } {
  const instances = new Map<string, ProvisionBody>();
  const bindings = new Map<string, BindBody>();
  const calls: { name: string; request: unknown; ctx: RequestContext }[] = [];
  const record = (name: string, request: unknown, ctx: RequestContext): void =>
    void calls.push({ name, request, ctx });
  return {
    calls,
    catalog: () => catalog,
    requiresAsync: (_op, target) => target.plan.id === 'plan-b',
    provision(req: ProvisionRequest, ctx) {
      record('provision', req, ctx);
      const outcome = compareProvision(instances.get(req.instanceId), req.body);
      if (outcome === 'different') throw BrokerError.conflict();
      if (outcome === 'same') return Promise.resolve({ status: 200 });
      instances.set(req.instanceId, req.body);
      if (req.acceptsIncomplete)
        return Promise.resolve({ status: 202, operation: 'op-1', dashboard_url: 'https://d' });
      return Promise.resolve({ status: 201, dashboard_url: 'https://d' });
    },
    update(req, ctx) {
      record('update', req, ctx);
      if (!instances.has(req.instanceId)) throw BrokerError.notFound();
      return Promise.resolve({ status: 200 });
    },
    deprovision(req, ctx) {
      record('deprovision', req, ctx);
      if (!instances.delete(req.instanceId)) throw BrokerError.notFound();
      return Promise.resolve({ status: 200 });
    },
    lastOperation(req, ctx) {
      record('lastOperation', req, ctx);
      if (!instances.has(req.instanceId)) throw BrokerError.notFound();
      return Promise.resolve({ state: 'in progress', retryAfterSeconds: 2.5 });
    },
    getInstance(req, ctx) {
      record('getInstance', req, ctx);
      const body = instances.get(req.instanceId);
      if (!body) throw BrokerError.notFound('no such instance');
      return Promise.resolve({
        service_id: body.service_id,
        plan_id: body.plan_id,
        parameters: body.parameters ?? {},
      });
    },
    bind(req, ctx) {
      record('bind', req, ctx);
      const key = `${req.instanceId}/${req.bindingId}`;
      const outcome = compareBind(bindings.get(key), req.body);
      if (outcome === 'different') throw BrokerError.conflict();
      bindings.set(key, req.body);
      if (req.acceptsIncomplete) {
        // Credentials slipped into a 202 must never reach the platform.
        return Promise.resolve({
          status: 202,
          operation: 'bind-1',
          credentials: { password: 'leak' },
        } as never);
      }
      return Promise.resolve({ status: outcome === 'same' ? 200 : 201, credentials: { password: 'p' } });
    },
    unbind(req, ctx) {
      record('unbind', req, ctx);
      if (!bindings.delete(`${req.instanceId}/${req.bindingId}`)) throw BrokerError.notFound();
      return Promise.resolve({ status: 200 });
    },
  };
}

describe('BrokerServer', () => {
  let broker: ReturnType<typeof memoryBroker>;
  let server: BrokerServer;
  let registry: Registry;
  const servers: BrokerServer[] = [];
  const auth = basicAuth({ username: 'platform', password: 's3cret' });
  const authorization = basicHeader('platform', 's3cret');

  async function serve(options: Partial<BrokerServerOptions> = {}): Promise<BrokerServer> {
    const s = new BrokerServer({
      broker,
      auth: [auth],
      port: 0,
      registry,
      log: pino({ level: 'silent' }),
      ...options,
    });
    await s.listen();
    servers.push(s);
    return s;
  }

  const call = (method: string, path: string, options: OsbCall = {}): Promise<OsbAnswer> =>
    osb(server.url, method, path, { ...options, headers: { authorization, ...options.headers } });

  before(async () => {
    broker = memoryBroker();
    registry = new Registry();
    server = await serve();
  });
  afterEach(() => {
    broker.calls.length = 0;
  });
  after(async () => {
    await Promise.all(servers.map((s) => s.stop()));
  });

  describe('headers', () => {
    it('answers 412 when X-Broker-API-Version is missing, malformed, another major, or older than the minimum', async () => {
      for (const version of [null, 'two', '3.0', '2.12']) {
        const res = await call('GET', '/v2/catalog', { headers: { 'x-broker-api-version': version } });
        assert.equal(res.status, 412, `version ${version}`);
        assert.match(String(res.body['description']), /X-Broker-API-Version/);
      }
      assert.equal(
        (await call('GET', '/v2/catalog', { headers: { 'x-broker-api-version': '2.13' } })).status,
        200,
      );
      const strict = await serve({ minApiVersion: '2.16' });
      const at = (v: string): Promise<OsbAnswer> =>
        osb(strict.url, 'GET', '/v2/catalog', { headers: { authorization, 'x-broker-api-version': v } });
      assert.equal((await at('2.15')).status, 412);
      assert.equal((await at('2.17')).status, 200);
    });

    it('hands the decoded originating identity to the handler, and answers 400 to a malformed one', async () => {
      const identity = { username: 'jane', uid: 'u-1', groups: ['dev'], extra: {} };
      const header = `kubernetes ${Buffer.from(JSON.stringify(identity)).toString('base64')}`;
      const res = await call('PUT', '/v2/service_instances/ident', {
        body: provisionBody,
        headers: { 'x-broker-api-originating-identity': header },
      });
      assert.equal(res.status, 201);
      assert.deepEqual(broker.calls[0]?.ctx.originatingIdentity, { platform: 'kubernetes', value: identity });
      for (const bad of [
        'kubernetes',
        'kubernetes !!!',
        `kubernetes ${Buffer.from('[1]').toString('base64')}`,
      ]) {
        const refused = await call('GET', '/v2/catalog', {
          headers: { 'x-broker-api-originating-identity': bad },
        });
        assert.equal(refused.status, 400, bad);
      }
    });

    it('echoes X-Broker-API-Request-Identity, on errors too, and hands it to the handler', async () => {
      const res = await call('GET', '/v2/catalog', {
        headers: { 'x-broker-api-request-identity': 'req-42' },
      });
      assert.equal(res.headers.get('x-broker-api-request-identity'), 'req-42');
      const refused = await call('GET', '/v2/catalog', {
        headers: { 'x-broker-api-request-identity': 'req-43', 'x-broker-api-version': null },
      });
      assert.equal(refused.status, 412);
      assert.equal(refused.headers.get('x-broker-api-request-identity'), 'req-43');
      await call('PUT', '/v2/service_instances/rid', {
        body: provisionBody,
        headers: { 'x-broker-api-request-identity': 'req-44' },
      });
      assert.equal(broker.calls[0]?.ctx.requestIdentity, 'req-44');
    });

    it('answers JSON with Content-Type application/json', async () => {
      const res = await call('GET', '/v2/catalog');
      assert.equal(res.headers.get('content-type'), 'application/json');
      assert.deepEqual(res.body, catalog);
    });
  });

  describe('authentication', () => {
    it('answers 401 with nothing helpful to a missing header, a wrong password, a wrong user or another scheme', async () => {
      const cases = [
        null,
        basicHeader('platform', 'wrong'),
        basicHeader('other', 's3cret'),
        'Bearer abc',
        'Basic',
        'Basic !!',
      ];
      for (const header of cases) {
        const res = await call('GET', '/v2/catalog', { headers: { authorization: header } });
        assert.equal(res.status, 401, String(header));
        assert.deepEqual(res.body, { description: 'Unauthorized.' });
        assert.equal(res.headers.get('www-authenticate'), 'Basic realm="osb-broker"');
      }
    });

    it('checks credentials before anything else: no version header, unknown paths, bodies', async () => {
      const res = await call('PUT', '/v2/service_instances/x', {
        raw: 'not json',
        headers: { authorization: null, 'x-broker-api-version': null },
      });
      assert.equal(res.status, 401);
      assert.equal((await call('GET', '/v2/nothing-here', { headers: { authorization: null } })).status, 401);
      assert.equal(broker.calls.length, 0);
    });

    it('serves /healthz and /metrics without credentials', async () => {
      const health = await osb(server.url, 'GET', '/healthz', { headers: { 'x-broker-api-version': null } });
      assert.equal(health.status, 200);
      assert.equal(health.text, 'ok');
      const metrics = await osb(server.url, 'GET', '/metrics');
      assert.equal(metrics.status, 200);
      assert.match(metrics.text, /osb_broker_requests_total\{operation="catalog",code="200"\}/);
      assert.match(metrics.text, /osb_broker_requests_total\{operation="catalog",code="401"\}/);
    });
  });

  describe('routing', () => {
    it('answers 404 for unknown paths and 405 for a method an endpoint does not take', async () => {
      assert.equal((await call('GET', '/v2/nothing')).status, 404);
      assert.equal((await call('GET', '/v2/service_instances')).status, 404);
      assert.equal((await call('GET', '/elsewhere')).status, 404);
      assert.equal((await call('POST', '/v2/catalog')).status, 405);
      assert.equal((await call('PATCH', '/v2/service_instances/i/service_bindings/b')).status, 405);
      assert.equal((await call('PUT', '/v2/service_instances/i/last_operation')).status, 405);
    });

    it('percent-decodes ids', async () => {
      const res = await call('PUT', '/v2/service_instances/a%2Fb%20c', { body: provisionBody });
      assert.equal(res.status, 201);
      assert.equal((broker.calls[0]?.request as ProvisionRequest).instanceId, 'a/b c');
    });
  });

  describe('bodies', () => {
    it('answers 400 to a wrong Content-Type, bad JSON, an empty body, or JSON that is not an object', async () => {
      const path = '/v2/service_instances/bodies';
      const typed = await call('PUT', path, {
        raw: JSON.stringify(provisionBody),
        headers: { 'content-type': 'text/plain' },
      });
      assert.equal(typed.status, 400);
      assert.match(String(typed.body['description']), /Content-Type/);
      const secret = 'password-123';
      const badJson = await call('PUT', path, { raw: `{"service_id": "${secret}",` });
      assert.equal(badJson.status, 400);
      assert.ok(!badJson.text.includes(secret), 'the error does not quote the body');
      assert.equal((await call('PUT', path, { raw: '' })).status, 400);
      assert.equal((await call('PUT', path, { raw: '[1,2]' })).status, 400);
      assert.equal((await call('PUT', path, { raw: '"text"' })).status, 400);
      assert.equal(broker.calls.length, 0);
    });

    it('accepts a body without Content-Type, as the spec allows', async () => {
      const res = await rawRequest({
        url: `${server.url}/v2/service_instances/untyped`,
        method: 'PUT',
        headers: { authorization, 'x-broker-api-version': '2.17' },
        body: JSON.stringify(provisionBody),
      });
      assert.equal(res.status, 201, res.text);
    });

    it('answers 413 to a body over the limit and closes the connection', async () => {
      const small = await serve({ maxBodyBytes: 1024 });
      const res = await osb(small.url, 'PUT', '/v2/service_instances/big', {
        body: { ...provisionBody, parameters: { blob: 'x'.repeat(4096) } },
        headers: { authorization },
      });
      assert.equal(res.status, 413);
      assert.equal(res.headers.get('connection'), 'close');
    });

    it('drops unknown fields before the handler sees the body', async () => {
      const res = await call('PUT', '/v2/service_instances/unknown-fields', {
        body: { ...provisionBody, vendor_extension: { x: 1 }, context: { platform: 'kubernetes', extra: 1 } },
      });
      assert.equal(res.status, 201);
      const body = (broker.calls[0]?.request as ProvisionRequest).body;
      assert.equal('vendor_extension' in body, false);
      assert.deepEqual(body.context, { platform: 'kubernetes', extra: 1 });
    });
  });

  describe('provision', () => {
    const path = '/v2/service_instances/p-1';

    it('answers 400 naming the field for missing or mistyped required fields', async () => {
      const cases: [Record<string, unknown>, RegExp][] = [
        [{ ...provisionBody, service_id: undefined }, /service_id is required/],
        [{ ...provisionBody, plan_id: '' }, /plan_id is required/],
        [{ ...provisionBody, organization_guid: undefined }, /organization_guid is required/],
        [{ ...provisionBody, space_guid: undefined }, /space_guid is required/],
        [{ ...provisionBody, plan_id: 7 }, /plan_id must be a string/],
        [{ ...provisionBody, parameters: 'x' }, /parameters must be an object/],
        [{ ...provisionBody, context: [] }, /context must be an object/],
        [{ ...provisionBody, maintenance_info: {} }, /version is required/],
        [{ ...provisionBody, service_id: 'nope' }, /service_id "nope" is not in the catalog/],
        [{ ...provisionBody, plan_id: 'nope' }, /plan_id "nope" is not a plan of service "db"/],
      ];
      for (const [body, message] of cases) {
        const res = await call('PUT', path, { body });
        assert.equal(res.status, 400, JSON.stringify(body));
        assert.match(String(res.body['description']), message);
      }
      assert.equal(broker.calls.length, 0);
    });

    it('takes a provision without organization_guid and space_guid when told to', async () => {
      const lenient = await serve({ requireOrganizationGuids: false });
      const res = await osb(lenient.url, 'PUT', '/v2/service_instances/no-guids', {
        body: { service_id: 'svc', plan_id: 'plan-a' },
        headers: { authorization },
      });
      assert.equal(res.status, 201);
    });

    it('validates parameters against the plan schema (draft-04) before the handler runs', async () => {
      const res = await call('PUT', path, {
        body: { ...provisionBody, parameters: { size: 10, color: 'red' } },
      });
      assert.equal(res.status, 400);
      assert.match(String(res.body['description']), /parameters must not have property "color"/);
      assert.match(String(res.body['description']), /parameters\/size must be < 10/);
      assert.equal(broker.calls.length, 0);
      assert.equal(
        (await call('PUT', path, { body: { ...provisionBody, parameters: { size: 9 } } })).status,
        201,
      );
    });

    it('answers 200 to the same PUT again and 409 to a different one (the store helper)', async () => {
      const body = { ...provisionBody, parameters: { size: 9 } };
      assert.equal(
        (
          await call('PUT', path, {
            body: { ...body, context: { platform: 'kubernetes', instance_name: 'renamed' } },
          })
        ).status,
        200,
      );
      const res = await call('PUT', path, { body: { ...body, parameters: { size: 8 } } });
      assert.equal(res.status, 409);
      assert.ok(typeof res.body['description'] === 'string');
    });

    it('answers 422 AsyncRequired, exactly as the spec writes it, when the plan needs accepts_incomplete', async () => {
      const body = { ...provisionBody, plan_id: 'plan-b' };
      for (const query of [{}, { accepts_incomplete: 'false' }]) {
        const res = await call('PUT', '/v2/service_instances/async', { body, query });
        assert.equal(res.status, 422);
        assert.deepEqual(res.body, {
          error: 'AsyncRequired',
          description: 'This Service Plan requires client support for asynchronous service operations.',
        });
      }
      assert.equal(broker.calls.length, 0);
      const accepted = await call('PUT', '/v2/service_instances/async', {
        body,
        query: { accepts_incomplete: 'true' },
      });
      assert.equal(accepted.status, 202);
      assert.deepEqual(accepted.body, { dashboard_url: 'https://d', operation: 'op-1' });
      assert.equal((broker.calls[0]?.request as ProvisionRequest).acceptsIncomplete, true);
    });

    it('answers 422 MaintenanceInfoConflict for another version, or a version the plan does not have', async () => {
      for (const [planId, version] of [
        ['plan-a', '1.0.0'],
        ['plan-c', '1.0.0'],
      ] as const) {
        const res = await call('PUT', '/v2/service_instances/mi', {
          body: { ...provisionBody, plan_id: planId, maintenance_info: { version } },
        });
        assert.equal(res.status, 422);
        assert.equal(res.body['error'], 'MaintenanceInfoConflict');
      }
      const ok = await call('PUT', '/v2/service_instances/mi', {
        body: { ...provisionBody, maintenance_info: { version: '2.0.0' } },
      });
      assert.equal(ok.status, 201);
    });

    it('answers 500 when a handler answers 202 to a request without accepts_incomplete', async () => {
      const original = broker.provision.bind(broker);
      broker.provision = () => Promise.resolve({ status: 202, operation: 'x' });
      try {
        const res = await call('PUT', '/v2/service_instances/bad-async', { body: provisionBody });
        assert.equal(res.status, 500);
      } finally {
        broker.provision = original;
      }
    });
  });

  describe('update', () => {
    const path = '/v2/service_instances/u-1';
    before(async () => {
      await call('PUT', path, { body: provisionBody });
    });

    it('answers 400 for a missing service_id or an unknown plan, 422 for a plan change the plan forbids', async () => {
      assert.equal((await call('PATCH', path, { body: { plan_id: 'plan-a' } })).status, 400);
      assert.equal((await call('PATCH', path, { body: { service_id: 'svc', plan_id: 'zzz' } })).status, 400);
      const forbidden = await call('PATCH', path, {
        body: { service_id: 'svc', plan_id: 'plan-a', previous_values: { plan_id: 'plan-b' } },
      });
      assert.equal(forbidden.status, 422);
      assert.match(String(forbidden.body['description']), /plan_updateable/);
      assert.equal(broker.calls.filter((c) => c.name === 'update').length, 0);
    });

    it('passes the plan after the update and the one before to the handler', async () => {
      const res = await call('PATCH', path, {
        body: { service_id: 'svc', plan_id: 'plan-c', previous_values: { plan_id: 'plan-a' }, unknown: 1 },
      });
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, {});
      const request = broker.calls[0]?.request as { plan?: { id: string }; previousPlan?: { id: string } };
      assert.equal(request.plan?.id, 'plan-c');
      assert.equal(request.previousPlan?.id, 'plan-a');
    });

    it('answers 422 MaintenanceInfoConflict for an update to a maintenance_info the plan does not offer', async () => {
      const res = await call('PATCH', path, {
        body: { service_id: 'svc', plan_id: 'plan-a', maintenance_info: { version: '3.0.0' } },
      });
      assert.equal(res.status, 422);
      assert.equal(res.body['error'], 'MaintenanceInfoConflict');
    });

    it('answers 404 for an unknown instance', async () => {
      assert.equal(
        (await call('PATCH', '/v2/service_instances/none', { body: { service_id: 'svc' } })).status,
        404,
      );
    });
  });

  describe('deprovision and last_operation', () => {
    it('answers 400 when service_id or plan_id is missing from the query', async () => {
      assert.equal(
        (await call('DELETE', '/v2/service_instances/d', { query: { plan_id: 'plan-a' } })).status,
        400,
      );
      assert.equal(
        (await call('DELETE', '/v2/service_instances/d', { query: { service_id: 'svc' } })).status,
        400,
      );
    });

    it('answers 410 Gone with {} for an unknown instance, and takes plans no longer in the catalog', async () => {
      const res = await call('DELETE', '/v2/service_instances/unknown', {
        query: { service_id: 'svc', plan_id: 'gone' },
      });
      assert.equal(res.status, 410);
      assert.deepEqual(res.body, {});
    });

    it('answers 200 {} after a deprovision, then 410', async () => {
      await call('PUT', '/v2/service_instances/d-1', { body: provisionBody });
      const query = { service_id: 'svc', plan_id: 'plan-a' };
      const res = await call('DELETE', '/v2/service_instances/d-1', { query });
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, {});
      assert.equal((await call('DELETE', '/v2/service_instances/d-1', { query })).status, 410);
    });

    it('answers 422 AsyncRequired for a deprovision of an async-only plan without accepts_incomplete', async () => {
      const res = await call('DELETE', '/v2/service_instances/x', {
        query: { service_id: 'svc', plan_id: 'plan-b' },
      });
      assert.equal(res.status, 422);
      assert.equal(res.body['error'], 'AsyncRequired');
    });

    it('sends last_operation with Retry-After, and the operation and plan hints to the handler', async () => {
      await call('PUT', '/v2/service_instances/lo', { body: provisionBody });
      const res = await call('GET', '/v2/service_instances/lo/last_operation', {
        query: { operation: 'op 1/2', service_id: 'svc', plan_id: 'plan-a' },
      });
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, { state: 'in progress' });
      assert.equal(res.headers.get('retry-after'), '3');
      const request = broker.calls.at(-1)?.request as { operation?: string; plan?: { id: string } };
      assert.equal(request.operation, 'op 1/2');
      assert.equal(request.plan?.id, 'plan-a');
      assert.equal((await call('GET', '/v2/service_instances/none/last_operation')).status, 410);
    });

    it('answers 500 when a handler reports a state the spec does not have', async () => {
      const original = broker.lastOperation.bind(broker);
      broker.lastOperation = () => Promise.resolve({ state: 'done' as never });
      try {
        assert.equal((await call('GET', '/v2/service_instances/lo/last_operation')).status, 500);
      } finally {
        broker.lastOperation = original;
      }
    });
  });

  describe('fetch', () => {
    it('answers GET instance with the handler body, and 404 for an unknown one', async () => {
      await call('PUT', '/v2/service_instances/g-1', { body: { ...provisionBody, parameters: { size: 1 } } });
      const res = await call('GET', '/v2/service_instances/g-1');
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, { service_id: 'svc', plan_id: 'plan-a', parameters: { size: 1 } });
      const missing = await call('GET', '/v2/service_instances/none');
      assert.equal(missing.status, 404);
      assert.deepEqual(missing.body, { description: 'no such instance' });
    });

    it('answers 404 for GET binding and binding last_operation when the broker has no such handler', async () => {
      assert.equal((await call('GET', '/v2/service_instances/g-1/service_bindings/b')).status, 404);
      assert.equal(
        (await call('GET', '/v2/service_instances/g-1/service_bindings/b/last_operation')).status,
        404,
      );
    });
  });

  describe('bind and unbind', () => {
    const path = '/v2/service_instances/bi/service_bindings/b-1';
    const body = { service_id: 'svc', plan_id: 'plan-a', parameters: { role: 'reader' } };

    it('answers 400 for missing ids, a plan that is not bindable, or parameters the schema (2020-12) refuses', async () => {
      assert.equal((await call('PUT', path, { body: { plan_id: 'plan-a' } })).status, 400);
      const unbindable = await call('PUT', path, { body: { ...body, plan_id: 'plan-c' } });
      assert.equal(unbindable.status, 400);
      assert.match(String(unbindable.body['description']), /not bindable/);
      const invalid = await call('PUT', path, { body: { ...body, parameters: {} } });
      assert.equal(invalid.status, 400);
      assert.match(String(invalid.body['description']), /required property 'role'/);
      assert.equal(broker.calls.length, 0);
    });

    it('answers 201, then 200 for the same PUT and 409 for a different one', async () => {
      const first = await call('PUT', path, { body });
      assert.equal(first.status, 201);
      assert.deepEqual(first.body, { credentials: { password: 'p' } });
      assert.equal((await call('PUT', path, { body })).status, 200);
      assert.equal(
        (await call('PUT', path, { body: { ...body, parameters: { role: 'writer' } } })).status,
        409,
      );
    });

    it('takes predecessor_binding_id only for a plan with binding_rotatable', async () => {
      const rotated = await call('PUT', '/v2/service_instances/bi/service_bindings/b-rotated', {
        body: { ...body, predecessor_binding_id: 'b-1' },
      });
      assert.equal(rotated.status, 201);
      assert.equal(
        (broker.calls.at(-1)?.request as { body: { predecessor_binding_id?: string } }).body
          .predecessor_binding_id,
        'b-1',
      );
      const refused = await call('PUT', '/v2/service_instances/bi/service_bindings/b-x', {
        body: { service_id: 'svc', plan_id: 'plan-b', predecessor_binding_id: 'b-1' },
      });
      assert.equal(refused.status, 400);
      assert.match(String(refused.body['description']), /does not rotate bindings/);
    });

    it('never sends credentials with a 202', async () => {
      const res = await call('PUT', '/v2/service_instances/bi/service_bindings/async', {
        body,
        query: { accepts_incomplete: 'true' },
      });
      assert.equal(res.status, 202);
      assert.deepEqual(res.body, { operation: 'bind-1' });
    });

    it('answers 422 AsyncRequired for an unbind of an async-only plan without accepts_incomplete', async () => {
      const res = await call('DELETE', path, { query: { service_id: 'svc', plan_id: 'plan-b' } });
      assert.equal(res.status, 422);
      assert.equal(res.body['error'], 'AsyncRequired');
    });

    it('passes RequiresApp from the broker as the spec writes it', async () => {
      const original = broker.bind.bind(broker);
      broker.bind = () => Promise.reject(BrokerError.requiresApp());
      try {
        const res = await call('PUT', '/v2/service_instances/bi/service_bindings/no-app', { body });
        assert.equal(res.status, 422);
        assert.equal(res.body['error'], 'RequiresApp');
      } finally {
        broker.bind = original;
      }
    });

    it('unbinds with 200 {}, then answers 410; 400 without service_id and plan_id', async () => {
      const query = { service_id: 'svc', plan_id: 'plan-a' };
      assert.equal((await call('DELETE', path, { query: { service_id: 'svc' } })).status, 400);
      const res = await call('DELETE', path, { query });
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, {});
      const again = await call('DELETE', path, { query });
      assert.equal(again.status, 410);
      assert.deepEqual(again.body, {});
    });
  });

  describe('failures', () => {
    it('passes a BrokerError through: ConcurrencyError as the spec writes it', async () => {
      const original = broker.update.bind(broker);
      broker.update = () => Promise.reject(BrokerError.concurrency());
      try {
        const res = await call('PATCH', '/v2/service_instances/x', { body: { service_id: 'svc' } });
        assert.equal(res.status, 422);
        assert.equal(res.body['error'], 'ConcurrencyError');
      } finally {
        broker.update = original;
      }
    });

    it('answers 500 without the error message when a handler throws something else', async () => {
      const original = broker.update.bind(broker);
      broker.update = () => Promise.reject(new Error('connection string postgres://admin:hunter2@db'));
      try {
        const res = await call('PATCH', '/v2/service_instances/x', { body: { service_id: 'svc' } });
        assert.equal(res.status, 500);
        assert.ok(!res.text.includes('hunter2'));
      } finally {
        broker.update = original;
      }
    });

    it('answers 503 when the authenticator cannot tell (its API server is down)', async () => {
      const s = await serve({
        auth: [{ scheme: 'Bearer', authenticate: () => Promise.reject(new Error('connect ECONNREFUSED')) }],
      });
      const res = await osb(s.url, 'GET', '/v2/catalog', { headers: { authorization: 'Bearer t' } });
      assert.equal(res.status, 503);
      assert.ok(!res.text.includes('ECONNREFUSED'));
    });

    it('answers 503 when a handler takes longer than requestTimeoutMs, and aborts its signal', async () => {
      let aborted: Promise<void> | undefined;
      const slow = memoryBroker();
      slow.update = (_req, ctx) => {
        aborted = new Promise((resolve) => ctx.signal.addEventListener('abort', () => resolve()));
        return sleep(5_000).then(() => ({ status: 200 }) as const);
      };
      const s = await serve({ broker: slow, requestTimeoutMs: 200 });
      const res = await osb(s.url, 'PATCH', '/v2/service_instances/x', {
        body: { service_id: 'svc' },
        headers: { authorization },
      });
      assert.equal(res.status, 503);
      await aborted;
    });
  });

  it("aborts a handler's signal when the platform hangs up", async () => {
    const started = Promise.withResolvers<void>();
    const aborted = Promise.withResolvers<unknown>();
    const held = memoryBroker();
    held.update = (_req, ctx) => {
      ctx.signal.addEventListener('abort', () => aborted.resolve(ctx.signal.reason));
      started.resolve();
      return new Promise(() => undefined);
    };
    const s = await serve({ broker: held });
    const client = new AbortController();
    const request = fetch(`${s.url}/v2/service_instances/x`, {
      method: 'PATCH',
      headers: { authorization, 'x-broker-api-version': '2.17', 'content-type': 'application/json' },
      body: JSON.stringify({ service_id: 'svc' }),
      signal: client.signal,
    }).catch(() => undefined);
    await started.promise;
    client.abort();
    await request;
    const reason = await aborted.promise;
    assert.ok(reason instanceof BrokerError);
    assert.equal(reason.status, 499, 'aborted for the hang-up, not at the request timeout');
  });

  it('finishes in-flight requests on stop, and refuses new connections', async () => {
    const gate = Promise.withResolvers<void>();
    const started = Promise.withResolvers<void>();
    const held = memoryBroker();
    held.update = async () => {
      started.resolve();
      await gate.promise;
      return { status: 200 };
    };
    const s = await serve({ broker: held });
    const url = s.url;
    const inFlight = osb(url, 'PATCH', '/v2/service_instances/x', {
      body: { service_id: 'svc' },
      headers: { authorization },
    });
    await started.promise;
    const stopped = s.stop();
    await sleep(50);
    await assert.rejects(osb(url, 'GET', '/healthz'));
    gate.resolve();
    assert.equal((await inFlight).status, 200);
    await stopped;
  });

  it('serves HTTPS with a key pair', async () => {
    const ca = await CertificateAuthority.create('osb-broker-test-ca');
    const pair = await ca.issueServing({ hosts: ['127.0.0.1'], commonName: 'broker' });
    const s = await serve({ tls: { cert: pair.cert, key: pair.key } });
    assert.match(s.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const res = await rawRequest({
      url: `${s.url}/v2/catalog`,
      method: 'GET',
      headers: { authorization, 'x-broker-api-version': '2.17' },
      ca: ca.cert,
    });
    assert.equal(res.status, 200);
    assert.deepEqual(JSON.parse(res.text), catalog);
  });
});
