// BrokerClients: one client per broker object, its credentials read again after refreshMs, a new
// client when they (or the spec) changed, bounded in number; a missing broker or Secret is a
// BrokerUnavailableError with the condition reason the controllers use.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { FakeClock } from '@bindery/kube';
import type { KubeObject } from '@bindery/kube';
import { testConfig } from '@bindery/runtime/testing';
import { apiVersion } from '../apis/group.ts';
import { BrokerUnavailableError } from '../platform/broker-api.ts';
import { BrokerClients } from './clients.ts';

describe('BrokerClients', () => {
  const auth: string[] = [];
  const server = createServer((req, res) => {
    auth.push(req.headers['authorization'] ?? '');
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ state: 'succeeded' }));
  });
  let url = '';
  before(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const broker = (name: string): KubeObject => ({
    apiVersion,
    kind: 'ClusterServiceBroker',
    metadata: { name },
    spec: {
      url,
      insecureAllowHTTP: true,
      authInfo: { bearer: { secretRef: { namespace: 'ops', name: 'tok' } } },
    },
  });
  const secret = (token: string): KubeObject => ({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { namespace: 'ops', name: 'tok' },
    data: { token: Buffer.from(token).toString('base64') },
  });
  const signal = new AbortController().signal;
  const poll = (api: Awaited<ReturnType<BrokerClients['get']>>) =>
    api.instanceLastOperation('i', {}, { signal });

  it('reuses a client until refreshMs passes, then picks up a rotated token with a new client', async () => {
    const clock = new FakeClock(0);
    const config = testConfig({ givenObjects: [broker('a'), secret('one')], clock });
    const clients = new BrokerClients({
      reader: config.client,
      secretReader: config.apiReader,
      refreshMs: 1000,
      clock,
    });
    try {
      const ref = { kind: 'ClusterServiceBroker', name: 'a' } as const;
      const first = await clients.get(ref, signal);
      assert.equal(await clients.get(ref, signal), first);
      const secretReads = () =>
        config.client.actions.filter((a) => a.verb === 'get' && a.ref.kind === 'Secret').length;
      assert.equal(secretReads(), 1);

      clock.advance(1000);
      assert.equal(await clients.get(ref, signal), first, 'same options: same client');
      assert.equal(secretReads(), 2);

      const current = await config.client.get({
        apiVersion: 'v1',
        kind: 'Secret',
        namespace: 'ops',
        name: 'tok',
      });
      await config.client.update({
        ...current,
        data: { token: Buffer.from('two').toString('base64') },
      });
      clock.advance(1000);
      const second = await clients.get(ref, signal);
      assert.notEqual(second, first);
      auth.length = 0;
      await poll(second);
      assert.deepEqual(auth, ['Bearer two']);
      assert.equal(clients.size, 1);
    } finally {
      await clients.close();
    }
  });

  it('keeps at most maxClients, the least recently used going first', async () => {
    const config = testConfig({ givenObjects: [broker('a'), broker('b'), broker('c'), secret('one')] });
    const clients = new BrokerClients({
      reader: config.client,
      secretReader: config.apiReader,
      maxClients: 2,
    });
    try {
      for (const name of ['a', 'b', 'c']) await clients.get({ kind: 'ClusterServiceBroker', name }, signal);
      assert.equal(clients.size, 2);
    } finally {
      await clients.close();
    }
  });

  it('a missing broker or Secret is BrokerUnavailableError with its reason, never a secret value', async () => {
    const config = testConfig({ givenObjects: [broker('a')] });
    const clients = new BrokerClients({ reader: config.client, secretReader: config.apiReader });
    try {
      await assert.rejects(
        clients.get({ kind: 'ClusterServiceBroker', name: 'gone' }, signal),
        (err: unknown) => err instanceof BrokerUnavailableError && err.reason === 'BrokerNotFound',
      );
      await assert.rejects(
        clients.get({ kind: 'ClusterServiceBroker', name: 'a' }, signal),
        (err: unknown) =>
          err instanceof BrokerUnavailableError &&
          err.reason === 'ErrorGettingAuthCredentials' &&
          err.message === 'ClusterServiceBroker a: Secret ops/tok not found',
      );
    } finally {
      await clients.close();
    }
  });
});
