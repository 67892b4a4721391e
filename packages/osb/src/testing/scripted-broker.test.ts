// The scripted broker is what the platform's e2e tests measure against, so its default behaviour is
// itself checked against the spec's status codes here, through raw HTTP.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ScriptedBroker } from './scripted-broker.ts';

const headers = { 'x-broker-api-version': '2.17', 'content-type': 'application/json' };
const provision = { service_id: 's', plan_id: 'p', context: { platform: 'kubernetes' } };

describe('scripted broker', () => {
  let broker: ScriptedBroker;
  before(async () => {
    broker = await ScriptedBroker.start({
      services: [{ id: 's', name: 'svc' }],
      asyncOperations: ['deprovision'],
    });
  });
  after(async () => broker.close());

  async function call(method: string, path: string, body?: unknown, extra: Record<string, string> = {}) {
    const res = await fetch(broker.url + path, {
      method,
      headers: { ...headers, ...extra },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown>, headers: res.headers };
  }

  it('requires the version header (412)', async () => {
    const res = await fetch(`${broker.url}/v2/catalog`);
    assert.equal(res.status, 412);
  });

  it('serves the catalog', async () => {
    assert.deepEqual((await call('GET', '/v2/catalog')).body, { services: [{ id: 's', name: 'svc' }] });
  });

  it('provisions: 201, 200 for the same body, 409 for another', async () => {
    assert.equal(
      (await call('PUT', '/v2/service_instances/i1?accepts_incomplete=true', provision)).status,
      201,
    );
    assert.equal(
      (await call('PUT', '/v2/service_instances/i1?accepts_incomplete=true', provision)).status,
      200,
    );
    assert.equal((await call('PUT', '/v2/service_instances/i1', { ...provision, plan_id: 'q' })).status, 409);
  });

  it('binds with credentials, and unbinds: 200 then 410', async () => {
    const bind = await call('PUT', '/v2/service_instances/i1/service_bindings/b1', {
      service_id: 's',
      plan_id: 'p',
    });
    assert.equal(bind.status, 201);
    assert.equal(typeof (bind.body['credentials'] as Record<string, unknown>)['password'], 'string');
    assert.equal(
      (await call('DELETE', '/v2/service_instances/i1/service_bindings/b1?service_id=s&plan_id=p')).status,
      200,
    );
    assert.equal(
      (await call('DELETE', '/v2/service_instances/i1/service_bindings/b1?service_id=s&plan_id=p')).status,
      410,
    );
  });

  it('deprovisions asynchronously when asked to, then answers 410', async () => {
    const del = await call(
      'DELETE',
      '/v2/service_instances/i1?service_id=s&plan_id=p&accepts_incomplete=true',
    );
    assert.equal(del.status, 202);
    assert.equal(del.body['operation'], 'deprovision');
    const states: unknown[] = [];
    for (let i = 0; i < 3; i++) {
      states.push(
        (await call('GET', '/v2/service_instances/i1/last_operation?operation=deprovision')).body['state'],
      );
    }
    assert.deepEqual(states.slice(0, 2), ['in progress', 'succeeded']);
    assert.equal((await call('DELETE', '/v2/service_instances/i1?service_id=s&plan_id=p')).status, 410);
  });

  it('answers with what the test scripted, in order, and records every request', async () => {
    broker.clearRequests();
    broker.script('provision', { status: 500, body: { description: 'boom' } });
    broker.script('provision', { status: 201, raw: '{"dashboard_url": ' });
    const first = await fetch(`${broker.url}/v2/service_instances/i2`, {
      method: 'PUT',
      headers,
      body: '{}',
    });
    assert.equal(first.status, 500);
    const second = await fetch(`${broker.url}/v2/service_instances/i2`, {
      method: 'PUT',
      headers,
      body: '{}',
    });
    assert.equal(second.status, 201);
    assert.equal(await second.text(), '{"dashboard_url": ');
    const third = await call('PUT', '/v2/service_instances/i2', provision);
    assert.equal(third.status, 201, 'back to the default behaviour');
    assert.deepEqual(
      broker.requests('provision').map((r) => r.instanceId),
      ['i2', 'i2', 'i2'],
    );
    assert.deepEqual(broker.requests('provision')[2]?.body, provision);
  });

  it('can delay an answer or never give one', async () => {
    broker.script('catalog', { hang: true });
    await assert.rejects(
      fetch(`${broker.url}/v2/catalog`, { headers, signal: AbortSignal.timeout(200) }),
      (err: Error) => err.name === 'TimeoutError',
    );
    broker.script('catalog', { delayMs: 50 });
    const started = Date.now();
    assert.equal((await call('GET', '/v2/catalog')).status, 200);
    assert.ok(Date.now() - started >= 45);
  });
});
