import assert from 'node:assert/strict';
import { once } from 'node:events';
import { request } from 'node:https';
import { connect } from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import type { KubeObject } from '@bindery/kube';
import { applyJsonPatch } from '../json-patch.ts';
import type { JsonPatchOperation } from '../json-patch.ts';
import { deny, mutating, validating } from './handlers.ts';
import { generateSelfSigned } from './self-signed.ts';
import type { SelfSignedCertificates } from './self-signed.ts';
import { WebhookServer } from './server.ts';
import { capturedLogger, postJson, rawRequest, review } from './test-helpers.ts';
import type { AdmissionResponse } from './types.ts';

const SECRET_VALUE = 'c3VwZXItc2VjcmV0LXBhc3N3b3Jk'; // must never appear in an answer or a log line

function deployment(): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'default', labels: { app: 'web' } },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: {
          containers: [
            {
              name: 'web',
              image: 'nginx:1.27',
              env: [{ name: 'A', value: '1' }],
              ports: [{ containerPort: 80 }],
            },
            { name: 'sidecar', image: 'envoy:1.31' },
          ],
        },
      },
    },
  };
}

function responseOf(body: Record<string, unknown>): AdmissionResponse {
  assert.equal(body['apiVersion'], 'admission.k8s.io/v1');
  assert.equal(body['kind'], 'AdmissionReview');
  return body['response'] as AdmissionResponse;
}

function decodePatch(response: AdmissionResponse): JsonPatchOperation[] {
  assert.equal(response.patchType, 'JSONPatch');
  assert.ok(response.patch, 'a patch');
  return JSON.parse(Buffer.from(response.patch, 'base64').toString('utf8')) as JsonPatchOperation[];
}

describe('WebhookServer', () => {
  let certs: SelfSignedCertificates;
  let server: WebhookServer;
  let ca: string;
  const registry = new Registry();
  const logs = capturedLogger();
  let sawSignal: AbortSignal | undefined;

  before(async () => {
    certs = await generateSelfSigned({ service: 'webhook', namespace: 'test', extraHosts: ['127.0.0.1'] });
    ca = certs.caBundle;
    server = new WebhookServer({
      port: 0,
      tls: certs.serving,
      maxBodyBytes: 64 * 1024,
      requestTimeoutMs: 500,
      log: logs.log,
      registry,
    });
    server.register(
      '/mutate',
      mutating<KubeObject>((obj, ctx) => {
        if (obj.metadata.name === 'denied')
          return deny('metadata.name "denied" is reserved', { code: 422, reason: 'Invalid' });
        if (obj.metadata.labels?.['leave'] === 'alone') return;
        const spec = obj['spec'] as {
          template: { spec: { containers: Array<{ env?: Array<{ name: string; value: string }> }> } };
        };
        for (const c of spec.template.spec.containers)
          (c.env ??= []).push({ name: 'INJECTED', value: 'yes' });
        obj.metadata.labels = { ...obj.metadata.labels, 'bindery.dev/mutated': 'true' };
        obj.metadata.annotations = { 'example.com/path~with/slashes': 'ok' };
        ctx.warn('mutated by the test');
        return obj;
      }),
    );
    server.register(
      '/validate',
      validating<KubeObject>((ctx) => {
        const name = ctx.request.object?.metadata.name;
        if (name === 'forbidden')
          return {
            allowed: false,
            message: 'the name "forbidden" is not allowed',
            warnings: ['pick another name'],
          };
        if (name === 'denied') return deny('denied by deny()');
        ctx.auditAnnotation('checked', 'true');
        return { allowed: true, warnings: ['validated by the test'] };
      }),
    );
    server.register(
      '/throws',
      mutating<KubeObject>(() => {
        throw new Error('cannot default this object');
      }),
    );
    server.register(
      '/not-json',
      mutating<KubeObject>((obj) => {
        if (obj.metadata.name === 'cycle') obj['self'] = obj;
        else obj['count'] = 10n;
      }),
    );
    server.register(
      '/slow',
      validating(async (ctx) => {
        sawSignal = ctx.signal;
        await sleep(10_000, undefined, { signal: ctx.signal }).catch(() => undefined);
        return { allowed: true };
      }),
    );
    assert.equal(server.ready(), false, 'not ready before listening');
    await server.listen();
  });

  after(async () => {
    await server.stop();
    assert.ok(!logs.text().includes(SECRET_VALUE), 'no log line carries object content');
  });

  describe('answers malformed input with a 4xx Status, never a crash', () => {
    const assertStatus = (
      res: { status: number; json: Record<string, unknown> },
      code: number,
      message: RegExp,
    ): void => {
      assert.equal(res.status, code);
      assert.equal(res.json['kind'], 'Status');
      assert.equal(res.json['code'], code);
      assert.match(String(res.json['message']), message);
    };

    it('404 for an unknown path, naming the served paths', async () => {
      const res = await postJson(server.url('/nope?timeout=10s'), review({}), ca);
      assertStatus(res, 404, /no admission webhook is served at \/nope \(served paths: \/mutate, \/validate/);
      assert.equal(res.json['reason'], 'NotFound');
    });

    it('405 for a method other than POST', async () => {
      for (const method of ['GET', 'PUT', 'DELETE']) {
        const res = await rawRequest(server.url('/mutate'), { method, ca });
        assertStatus(res, 405, new RegExp(`method ${method} is not allowed`));
        assert.equal(res.headers['allow'], 'POST');
      }
    });

    it('415 for a missing or wrong content type, and accepts parameters on application/json', async () => {
      const body = JSON.stringify(review({ object: deployment() }));
      assertStatus(
        await rawRequest(server.url('/validate'), { ca, body, headers: { 'content-type': 'text/plain' } }),
        415,
        /Content-Type text\/plain is not supported: expected application\/json/,
      );
      assertStatus(await rawRequest(server.url('/validate'), { ca, body }), 415, /no Content-Type/);
      const ok = await rawRequest(server.url('/validate'), {
        ca,
        body,
        headers: { 'content-type': 'Application/JSON; charset=utf-8' },
      });
      assert.equal(ok.status, 200);
    });

    it('413 for a body over the limit, declared by Content-Length, without reading it', async () => {
      const big = Buffer.alloc(1024 * 1024, 'a');
      const res = await rawRequest(server.url('/mutate'), {
        ca,
        body: big,
        headers: { 'content-type': 'application/json' },
      });
      assertStatus(res, 413, /larger than 65536 bytes$/);
      assert.equal(res.headers['connection'], 'close');
    });

    it('413 for a chunked body that grows over the limit', async () => {
      const chunks = Array.from({ length: 40 }, () => Buffer.alloc(4096, 'b'));
      const res = await rawRequest(server.url('/mutate'), {
        ca,
        body: chunks,
        headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
      });
      assertStatus(res, 413, /larger than 65536 bytes/);
    });

    it('400 for an empty body', async () => {
      const res = await rawRequest(server.url('/mutate'), {
        ca,
        body: '',
        headers: { 'content-type': 'application/json' },
      });
      assertStatus(res, 400, /the request body is empty: expected an AdmissionReview admission.k8s.io\/v1/);
    });

    it('400 for a body that is not JSON, without echoing it', async () => {
      for (const body of [`{"data": ${SECRET_VALUE}}`, `not json ${SECRET_VALUE}`, '{"truncated": ']) {
        const res = await rawRequest(server.url('/mutate'), {
          ca,
          body,
          headers: { 'content-type': 'application/json' },
        });
        assertStatus(
          res,
          400,
          /(not valid JSON|ends before the JSON value does).*: expected an AdmissionReview/,
        );
        assert.ok(!res.text.includes(SECRET_VALUE), res.text);
      }
    });

    it('400 naming the missing or wrong field for JSON that is not an AdmissionReview v1', async () => {
      const valid = review({ object: deployment() });
      const cases: Array<[unknown, RegExp]> = [
        [[1, 2], /the body is JSON array, not an object/],
        ['"text"', /the body is JSON string, not an object/],
        [{ ...valid, apiVersion: undefined }, /apiVersion is missing/],
        [
          { ...valid, apiVersion: 'admission.k8s.io/v1beta1' },
          /apiVersion is "admission.k8s.io\/v1beta1", expected "admission.k8s.io\/v1" \(set admissionReviewVersions/,
        ],
        [{ ...valid, kind: undefined }, /kind is missing/],
        [{ ...valid, kind: 'ConversionReview' }, /kind is "ConversionReview", expected "AdmissionReview"/],
        [{ ...valid, request: undefined }, /request is missing/],
        [{ ...valid, request: 'x' }, /request is not an object/],
        [
          { ...valid, request: { ...(valid['request'] as object), uid: undefined } },
          /request.uid is missing/,
        ],
        [{ ...valid, request: { ...(valid['request'] as object), uid: 7 } }, /request.uid is not a string/],
      ];
      for (const [body, message] of cases) {
        const text = typeof body === 'string' ? body : JSON.stringify(body);
        const res = await rawRequest(server.url('/validate'), {
          ca,
          body: text,
          headers: { 'content-type': 'application/json' },
        });
        assertStatus(res, 400, /the request body is not an AdmissionReview admission.k8s.io\/v1: /);
        assert.match(String(res.json['message']), message);
      }
    });

    it('400 as JSON for bytes that are not HTTP at all', async () => {
      const socket = connect({ host: '127.0.0.1', port: server.port, ca });
      await once(socket, 'secureConnect');
      socket.write('BLAH /mutate HTTP/1.1\r\nHost: x\r\n\r\n');
      const chunks: Buffer[] = [];
      socket.on('data', (c: Buffer) => chunks.push(c));
      await once(socket, 'end');
      const text = Buffer.concat(chunks).toString('utf8');
      assert.match(text, /^HTTP\/1.1 400 BadRequest\r\n/);
      const body = JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)) as { kind: string; message: string };
      assert.equal(body.kind, 'Status');
      assert.match(body.message, /not valid HTTP\/1.1/);
      socket.destroy();
    });

    it('keeps serving after all of the above', async () => {
      const res = await postJson(server.url('/validate'), review({ object: deployment() }), ca);
      assert.equal(res.status, 200);
      assert.equal(responseOf(res.json).allowed, true);
    });
  });

  describe('mutating handlers', () => {
    it('answer with the base64 JSON Patch from the original to the mutated object', async () => {
      const original = deployment();
      const res = await postJson(server.url('/mutate'), review({ object: original }), ca);
      assert.equal(res.status, 200);
      assert.equal(res.headers['content-type'], 'application/json');
      const response = responseOf(res.json);
      assert.equal(response.uid, '705ab4f5-6393-11e8-b7cc-42010a800002');
      assert.equal(response.allowed, true);
      assert.deepEqual(response.warnings, ['mutated by the test']);
      const ops = decodePatch(response);
      const mutated = applyJsonPatch<KubeObject>(original, ops);
      const expected = deployment();
      const spec = expected['spec'] as { template: { spec: { containers: Array<{ env?: unknown[] }> } } };
      for (const c of spec.template.spec.containers) (c.env ??= []).push({ name: 'INJECTED', value: 'yes' });
      expected.metadata.labels = { app: 'web', 'bindery.dev/mutated': 'true' };
      expected.metadata.annotations = { 'example.com/path~with/slashes': 'ok' };
      assert.deepEqual(mutated, expected);
      // Small edits make small patches: nothing but the changed parts travels.
      assert.ok(
        ops.every((op) => op.op === 'add'),
        JSON.stringify(ops),
      );
      assert.ok(ops.some((op) => op.path === '/spec/template/spec/containers/0/env/1'));
    });

    it('send no patch when nothing changed', async () => {
      const obj = deployment();
      obj.metadata.labels = { leave: 'alone' };
      const response = responseOf((await postJson(server.url('/mutate'), review({ object: obj }), ca)).json);
      assert.equal(response.allowed, true);
      assert.equal(response.patch, undefined);
      assert.equal(response.patchType, undefined);
    });

    it('deny with the code and reason of deny()', async () => {
      const obj = deployment();
      obj.metadata.name = 'denied';
      const response = responseOf((await postJson(server.url('/mutate'), review({ object: obj }), ca)).json);
      assert.equal(response.allowed, false);
      assert.deepEqual(response.status, {
        code: 422,
        reason: 'Invalid',
        message: 'metadata.name "denied" is reserved',
      });
      assert.equal(response.patch, undefined);
    });

    it('allow requests without an object (DELETE) without calling the handler', async () => {
      const response = responseOf(
        (
          await postJson(
            server.url('/mutate'),
            review({ operation: 'DELETE', object: null, oldObject: deployment() }),
            ca,
          )
        ).json,
      );
      assert.deepEqual(response, { uid: '705ab4f5-6393-11e8-b7cc-42010a800002', allowed: true });
    });

    it('answer a throwing handler with HTTP 200, allowed false, code 500 naming the path, never the object', async () => {
      const secret = {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'db', namespace: 'default' },
        data: { password: SECRET_VALUE },
      };
      const res = await postJson(
        server.url('/throws'),
        review({ kind: { group: '', version: 'v1', kind: 'Secret' }, object: secret }),
        ca,
      );
      assert.equal(res.status, 200);
      const response = responseOf(res.json);
      assert.equal(response.allowed, false);
      assert.deepEqual(response.status, {
        code: 500,
        reason: 'InternalError',
        message: 'admission webhook handler /throws failed: cannot default this object',
      });
      assert.ok(!res.text.includes(SECRET_VALUE));
      assert.ok(!/\bat .*\.ts:\d+/.test(res.text), 'no stack trace');
      const logged = logs.lines.find((l) => l['msg'] === 'admission handler failed');
      assert.ok(logged, 'the failure is logged');
      assert.equal(logged['webhook'], '/throws');
      assert.equal(logged['name'], 'web');
    });
  });

  it('answer a result JSON cannot carry (a BigInt, a cycle) as the handler failing', async () => {
    const big = responseOf(
      (await postJson(server.url('/not-json'), review({ object: deployment() }), ca)).json,
    );
    assert.equal(big.allowed, false);
    assert.equal(big.status?.code, 500);
    assert.match(
      String(big.status?.message),
      /^admission webhook handler \/not-json returned a result that is not JSON: /,
    );
    const obj = deployment();
    obj.metadata.name = 'cycle';
    const cycle = responseOf((await postJson(server.url('/not-json'), review({ object: obj }), ca)).json);
    assert.equal(cycle.allowed, false);
    assert.match(String(cycle.status?.message), /^admission webhook handler \/not-json failed: /);
  });

  describe('validating handlers', () => {
    it('allow with warnings and audit annotations', async () => {
      const response = responseOf(
        (await postJson(server.url('/validate'), review({ object: deployment() }), ca)).json,
      );
      assert.deepEqual(response, {
        uid: '705ab4f5-6393-11e8-b7cc-42010a800002',
        allowed: true,
        warnings: ['validated by the test'],
        auditAnnotations: { checked: 'true' },
      });
    });

    it('deny with the message and warnings, code 403 Forbidden by default', async () => {
      const obj = deployment();
      obj.metadata.name = 'forbidden';
      const response = responseOf(
        (await postJson(server.url('/validate'), review({ object: obj }), ca)).json,
      );
      assert.deepEqual(response, {
        uid: '705ab4f5-6393-11e8-b7cc-42010a800002',
        allowed: false,
        status: { code: 403, reason: 'Forbidden', message: 'the name "forbidden" is not allowed' },
        warnings: ['pick another name'],
      });
      obj.metadata.name = 'denied';
      const denied = responseOf((await postJson(server.url('/validate'), review({ object: obj }), ca)).json);
      assert.deepEqual(denied.status, { code: 403, reason: 'Forbidden', message: 'denied by deny()' });
    });

    it('answer a handler that outlives requestTimeoutMs as failed, and abort its signal', async () => {
      const started = Date.now();
      const res = await postJson(server.url('/slow'), review({ object: deployment() }), ca);
      const response = responseOf(res.json);
      assert.equal(response.allowed, false);
      assert.deepEqual(response.status, {
        code: 500,
        reason: 'InternalError',
        message: 'admission webhook handler /slow did not answer within 500 ms',
      });
      assert.ok(Date.now() - started < 3_000);
      assert.equal(sawSignal?.aborted, true);
    });
  });

  describe('the connection', () => {
    it('is HTTP/1.1 only: no HTTP/2 by ALPN', async () => {
      const socket = connect({ host: '127.0.0.1', port: server.port, ca, ALPNProtocols: ['h2', 'http/1.1'] });
      await once(socket, 'secureConnect');
      assert.equal(socket.alpnProtocol, 'http/1.1');
      socket.destroy();
    });

    it('serves several requests on one connection, kept alive longer than the API server idles (90 s)', async () => {
      const { Agent } = await import('node:https');
      const agent = new Agent({ keepAlive: true, maxSockets: 1, ca });
      const ports = new Set<number>();
      let keepAlive = '';
      for (let i = 0; i < 3; i++) {
        await new Promise<void>((resolve, reject) => {
          const req = request(
            server.url('/validate'),
            { method: 'POST', agent, headers: { 'content-type': 'application/json' } },
            (res) => {
              ports.add(res.socket.localPort ?? 0);
              keepAlive = String(res.headers['keep-alive']);
              res.resume();
              res.on('end', resolve);
            },
          );
          req.on('error', reject);
          req.end(JSON.stringify(review({ object: deployment() })));
        });
      }
      agent.destroy();
      assert.equal(ports.size, 1);
      const timeout = Number(/timeout=(\d+)/.exec(keepAlive)?.[1]);
      assert.ok(timeout > 90, `keep-alive timeout ${timeout} s`);
    });
  });

  it('counts requests and latency by path on the registry', async () => {
    const text = await registry.metrics();
    assert.match(text, /controller_runtime_webhook_requests_total\{webhook="\/mutate",code="200"\} \d+/);
    assert.match(text, /controller_runtime_webhook_requests_total\{webhook="\/mutate",code="413"\} 2/);
    assert.match(text, /controller_runtime_webhook_requests_total\{webhook="unmatched",code="404"\} 1/);
    assert.match(text, /controller_runtime_webhook_latency_seconds_count\{webhook="\/validate"\} \d+/);
    assert.match(text, /controller_runtime_webhook_requests_in_flight\{webhook="\/mutate"\} 0/);
  });

  it('is ready while listening', () => {
    assert.equal(server.ready(), true);
  });
});

describe('WebhookServer lifecycle', () => {
  const log = pino({ level: 'silent' });

  it('refuses to start without a certificate, and with two', async () => {
    await assert.rejects(
      new WebhookServer({ port: 0, log }).listen(),
      /needs a serving certificate: set certDir/,
    );
    assert.throws(
      () => new WebhookServer({ certDir: '/x', tls: { cert: '', key: '' } }),
      /certDir or tls, not both/,
    );
  });

  it('refuses a path registered twice or without a leading slash', () => {
    const server = new WebhookServer({ log });
    server.register(
      '/a',
      validating(() => ({ allowed: true })),
    );
    assert.throws(
      () =>
        server.register(
          '/a',
          validating(() => ({ allowed: true })),
        ),
      /already registered at \/a/,
    );
    assert.throws(
      () =>
        server.register(
          'a',
          validating(() => ({ allowed: true })),
        ),
      /must start with "\/"/,
    );
  });

  it('stops gracefully: in-flight requests finish, then no new connection is accepted', async () => {
    const certs = await generateSelfSigned({ service: 'w', namespace: 'n', extraHosts: ['127.0.0.1'] });
    const server = new WebhookServer({ port: 0, tls: certs.serving, log });
    let entered!: () => void;
    const inHandler = new Promise<void>((resolve) => (entered = resolve));
    server.register(
      '/slow',
      validating(async () => {
        entered();
        await sleep(300);
        return { allowed: true, warnings: ['finished'] };
      }),
    );
    const stop = new AbortController();
    const running = server.start(stop.signal);
    while (!server.ready()) await sleep(5);
    const port = server.port;
    const pending = postJson(server.url('/slow'), review({ object: deployment() }), certs.caBundle);
    await inHandler;
    stop.abort();
    await sleep(20);
    assert.equal(server.ready(), false, 'not ready while shutting down');
    const res = await pending;
    assert.equal(res.status, 200);
    assert.deepEqual(responseOf(res.json).warnings, ['finished']);
    await running;
    await assert.rejects(
      postJson(`https://127.0.0.1:${port}/slow`, review({}), certs.caBundle),
      /ECONNREFUSED/,
    );
  });

  it('can bind all interfaces and reports a loopback URL', async () => {
    const certs = await generateSelfSigned({ service: 'w', namespace: 'n', extraHosts: ['127.0.0.1'] });
    const server = new WebhookServer({ port: 0, host: '0.0.0.0', tls: certs.serving, log });
    await server.listen();
    try {
      assert.match(server.url('/x'), /^https:\/\/127\.0\.0\.1:\d+\/x$/);
    } finally {
      await server.stop();
    }
  });
});
