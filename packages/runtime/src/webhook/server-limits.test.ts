// The webhook server's limits: what one slow or hostile client can hold, and what the API server
// can send. Each test runs its own server, so the limits are small and the timings short.

import assert from 'node:assert/strict';
import { once } from 'node:events';
import { Agent, request } from 'node:https';
import { connect } from 'node:tls';
import type { TLSSocket } from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import type { KubeObject } from '@bindery/kube';
import { validating } from './handlers.ts';
import { generateSelfSigned } from './self-signed.ts';
import type { SelfSignedCertificates } from './self-signed.ts';
import { WebhookServer } from './server.ts';
import type { WebhookServerOptions } from './server.ts';
import { postJson, review } from './test-helpers.ts';
import type { AdmissionResponse } from './types.ts';

const log = pino({ level: 'silent' });

/** A ConfigMap whose data is `bytes` long: the API server admits objects up to ~3 MiB. */
function bigConfigMap(bytes: number): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'big', namespace: 'default' },
    data: { blob: 'x'.repeat(bytes) },
  };
}

describe('WebhookServer limits', () => {
  let certs: SelfSignedCertificates;
  const servers: WebhookServer[] = [];

  before(async () => {
    certs = await generateSelfSigned({ service: 'webhook', namespace: 'test', extraHosts: ['127.0.0.1'] });
  });

  after(async () => {
    await Promise.all(servers.map((s) => s.stop()));
  });

  async function serve(
    options: Partial<WebhookServerOptions>,
    release?: Promise<void>,
  ): Promise<WebhookServer> {
    const server = new WebhookServer({
      port: 0,
      tls: certs.serving,
      log,
      shutdownTimeoutMs: 1_000,
      ...options,
    });
    server.register(
      '/validate',
      validating(async () => {
        if (release) await release;
        return { allowed: true };
      }),
    );
    servers.push(server);
    await server.listen();
    return server;
  }

  function tlsConnect(server: WebhookServer): TLSSocket {
    return connect({ host: '127.0.0.1', port: server.port, ca: certs.caBundle });
  }

  it('by default admits an UPDATE whose object and oldObject are each near the API server’s 3 MiB limit', async () => {
    const server = await serve({});
    const object = bigConfigMap(3 * 1024 * 1024 - 4096);
    const res = await postJson(
      server.url('/validate'),
      review({ operation: 'UPDATE', object, oldObject: object }),
      certs.caBundle,
    );
    assert.equal(res.status, 200, res.text.slice(0, 200));
    assert.equal((res.json['response'] as AdmissionResponse).allowed, true);
  });

  it('answers requests over the in-flight budget at once with 429, and serves again when it frees', async () => {
    let open!: () => void;
    const release = new Promise<void>((resolve) => (open = resolve));
    const server = await serve({ maxInFlight: 2 }, release);
    const url = server.url('/validate');
    const held = [postJson(url, review({}), certs.caBundle), postJson(url, review({}), certs.caBundle)];
    await sleep(200);
    const started = Date.now();
    const excess = await postJson(url, review({}), certs.caBundle);
    assert.ok(Date.now() - started < 1_000, 'answered at once, not queued');
    assert.equal(excess.status, 429);
    assert.equal(excess.headers['retry-after'], '1');
    assert.equal(excess.json['reason'], 'TooManyRequests');
    open();
    for (const r of await Promise.all(held)) assert.equal(r.status, 200);
    assert.equal((await postJson(url, review({}), certs.caBundle)).status, 200);
  });

  it('closes connections over the connection limit at once', async () => {
    const server = await serve({ maxConnections: 2 });
    const first = tlsConnect(server);
    const second = tlsConnect(server);
    await Promise.all([once(first, 'secureConnect'), once(second, 'secureConnect')]);
    const third = tlsConnect(server);
    third.on('error', () => undefined); // a reset, which is the point
    const outcome = await Promise.race([
      new Promise((resolve) => third.once('secureConnect', () => resolve('connected'))),
      new Promise((resolve) => third.once('close', () => resolve('closed'))),
      sleep(2_000).then(() => 'waiting'),
    ]);
    third.destroy();
    assert.equal(outcome, 'closed');
    first.destroy();
    second.destroy();
    await sleep(100);
    const res = await postJson(server.url('/validate'), review({}), certs.caBundle);
    assert.equal(res.status, 200, 'serves again once connections close');
  });

  it('answers headers that trickle in slower than headersTimeoutMs with 408, in seconds', async () => {
    const server = await serve({ headersTimeoutMs: 1_000 });
    const socket = tlsConnect(server);
    await once(socket, 'secureConnect');
    const received: Buffer[] = [];
    socket.on('data', (c: Buffer) => received.push(c));
    const closed = once(socket, 'close');
    socket.write('POST /validate HTTP/1.1\r\nhost: webhook\r\n');
    const started = Date.now();
    const trickle = setInterval(() => socket.write('x-slow: a\r\n'), 200);
    try {
      await Promise.race([closed, sleep(6_000)]);
    } finally {
      clearInterval(trickle);
      socket.destroy();
    }
    const elapsed = Date.now() - started;
    assert.ok(elapsed < 5_000, `the connection was held ${elapsed} ms`);
    assert.match(Buffer.concat(received).toString('utf8'), /^HTTP\/1\.1 408/);
  });

  it('still serves a kept-alive connection that idled longer than headersTimeoutMs', async () => {
    const server = await serve({ headersTimeoutMs: 1_000, keepAliveTimeoutMs: 10_000 });
    const agent = new Agent({ keepAlive: true, maxSockets: 1, ca: certs.caBundle });
    const ports = new Set<number>();
    try {
      for (let i = 0; i < 2; i++) {
        if (i > 0) await sleep(2_500);
        await new Promise<void>((resolve, reject) => {
          const req = request(
            server.url('/validate'),
            { method: 'POST', agent, headers: { 'content-type': 'application/json' } },
            (res) => {
              assert.equal(res.statusCode, 200);
              ports.add(res.socket.localPort ?? 0);
              res.resume();
              res.on('end', resolve);
            },
          );
          req.on('error', reject);
          req.end(JSON.stringify(review({})));
        });
      }
    } finally {
      agent.destroy();
    }
    assert.equal(ports.size, 1, 'one connection');
  });
});
