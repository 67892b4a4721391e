// The greeting broker, through raw HTTP as a platform calls it: docs/osb-broker.md quotes this test.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BrokerServer, basicAuth } from '@bindery/osb-broker';
import { pino } from 'pino';
import { GreetingBroker, catalog } from './broker.ts';

const service = catalog.services[0]!;
const plan = service.plans[0]!;

describe('the greeting broker', () => {
  let server: BrokerServer;
  const headers = {
    authorization: `Basic ${Buffer.from('platform:s3cret').toString('base64')}`,
    'x-broker-api-version': '2.17',
    'content-type': 'application/json',
  };
  const put = (path: string, body: unknown): Promise<Response> =>
    fetch(`${server.url}${path}`, { method: 'PUT', headers, body: JSON.stringify(body) });

  before(async () => {
    server = new BrokerServer({
      broker: new GreetingBroker(),
      auth: [basicAuth({ username: 'platform', password: 's3cret' })],
      port: 0,
      log: pino({ level: 'silent' }),
    });
    await server.listen();
  });
  after(() => server.stop());

  it('provisions, binds with a key per binding, and answers repeated PUTs', async () => {
    const instance = {
      service_id: service.id,
      plan_id: plan.id,
      organization_guid: 'org',
      space_guid: 'space',
      parameters: { language: 'fr' },
    };
    assert.equal((await put('/v2/service_instances/t-1', instance)).status, 201);
    assert.equal((await put('/v2/service_instances/t-1', instance)).status, 200);
    const other = { ...instance, parameters: { language: 'de' } };
    assert.equal((await put('/v2/service_instances/t-1', other)).status, 409);

    const binding = { service_id: service.id, plan_id: plan.id };
    const bound = await put('/v2/service_instances/t-1/service_bindings/b-1', binding);
    assert.equal(bound.status, 201);
    const { credentials } = (await bound.json()) as { credentials: Record<string, string> };
    assert.equal(credentials['language'], 'fr');
    assert.ok(credentials['apiKey']);
  });

  it('refuses parameters the plan schema does not allow, before the broker sees them', async () => {
    const res = await put('/v2/service_instances/t-2', {
      service_id: service.id,
      plan_id: plan.id,
      organization_guid: 'org',
      space_guid: 'space',
      parameters: { language: 'tlh' },
    });
    assert.equal(res.status, 400);
  });

  it('answers 410 Gone to a delete of what does not exist', async () => {
    const query = `service_id=${service.id}&plan_id=${plan.id}`;
    const res = await fetch(`${server.url}/v2/service_instances/nothing?${query}`, {
      method: 'DELETE',
      headers,
    });
    assert.equal(res.status, 410);
  });
});
