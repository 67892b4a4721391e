// The OSB client against a broker double on node:http(s): what goes on the wire for every endpoint,
// and how each kind of answer (success, OSB error, malformed, too large, none at all) comes back.
import assert from 'node:assert/strict';
import { createServer as createHttpServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { Server as HttpsServer, createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { generateSelfSigned } from '@bindery/runtime';
import type { OsbClientOptions } from './client.ts';
import { OsbClient } from './client.ts';
import {
  OsbHttpError,
  OsbMalformedResponseError,
  OsbTimeoutError,
  OsbUnreachableError,
  brokerOutcome,
} from './errors.ts';

interface Seen {
  method: string;
  url: URL;
  headers: IncomingMessage['headers'];
  body: string;
}

type Handler = (req: Seen, res: ServerResponse) => void;

/** A broker double: each test sets `handler`; every request is recorded in `seen`. */
class BrokerDouble {
  handler: Handler = (_req, res) => json(res, 200, {});
  readonly seen: Seen[] = [];
  readonly server: Server;
  readonly #sockets = new Set<Socket>();

  constructor(server: Server) {
    this.server = server;
    server.on('connection', (s: Socket) => {
      this.#sockets.add(s);
      s.on('close', () => this.#sockets.delete(s));
    });
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const seen = {
          method: req.method ?? '',
          url: new URL(req.url ?? '/', 'http://broker'),
          headers: req.headers,
          body: Buffer.concat(chunks).toString('utf8'),
        };
        this.seen.push(seen);
        this.handler(seen, res);
      });
    });
  }

  async listen(port = 0): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(port, '127.0.0.1', resolve));
    const address = this.server.address() as AddressInfo;
    return `${this.server instanceof HttpsServer ? 'https' : 'http'}://127.0.0.1:${address.port}`;
  }

  async close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

function json(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('OsbClient', () => {
  const broker = new BrokerDouble(createHttpServer());
  let url: string;
  const clients: OsbClient[] = [];
  const client = (options: Partial<OsbClientOptions> = {}): OsbClient => {
    const c = new OsbClient({ url, auth: { basic: { username: 'admin', password: 'p:w' } }, ...options });
    clients.push(c);
    return c;
  };

  before(async () => {
    url = `${await broker.listen()}/prefix`;
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await broker.close();
  });

  const body = { service_id: 's', plan_id: 'p', context: { platform: 'kubernetes' } };
  const endpoints: Array<{
    name: string;
    call: (c: OsbClient) => Promise<{ status: number }>;
    method: string;
    path: string;
    query: Record<string, string>;
    sends?: unknown;
  }> = [
    { name: 'catalog', call: (c) => c.catalog(), method: 'GET', path: '/v2/catalog', query: {} },
    {
      name: 'provision',
      call: (c) => c.provision({ instanceId: 'i 1', body }),
      method: 'PUT',
      path: '/v2/service_instances/i%201',
      query: { accepts_incomplete: 'true' },
      sends: body,
    },
    {
      name: 'update',
      call: (c) => c.update({ instanceId: 'i1', body: { service_id: 's', parameters: { a: 1 } } }),
      method: 'PATCH',
      path: '/v2/service_instances/i1',
      query: { accepts_incomplete: 'true' },
      sends: { service_id: 's', parameters: { a: 1 } },
    },
    {
      name: 'deprovision',
      call: (c) => c.deprovision({ instanceId: 'i1', serviceId: 's', planId: 'p' }),
      method: 'DELETE',
      path: '/v2/service_instances/i1',
      query: { service_id: 's', plan_id: 'p', accepts_incomplete: 'true' },
    },
    {
      name: 'instance last_operation',
      call: (c) =>
        c.instanceLastOperation({ instanceId: 'i1', operation: 'op 1', serviceId: 's', planId: 'p' }),
      method: 'GET',
      path: '/v2/service_instances/i1/last_operation',
      query: { operation: 'op 1', service_id: 's', plan_id: 'p' },
    },
    {
      name: 'get instance',
      call: (c) => c.getInstance({ instanceId: 'i1', serviceId: 's' }),
      method: 'GET',
      path: '/v2/service_instances/i1',
      query: { service_id: 's' },
    },
    {
      name: 'bind',
      call: (c) => c.bind({ instanceId: 'i1', bindingId: 'b1', body }),
      method: 'PUT',
      path: '/v2/service_instances/i1/service_bindings/b1',
      query: {},
      sends: body,
    },
    {
      name: 'async bind',
      call: (c) => c.bind({ instanceId: 'i1', bindingId: 'b1', body, acceptsIncomplete: true }),
      method: 'PUT',
      path: '/v2/service_instances/i1/service_bindings/b1',
      query: { accepts_incomplete: 'true' },
      sends: body,
    },
    {
      name: 'unbind',
      call: (c) => c.unbind({ instanceId: 'i1', bindingId: 'b1', serviceId: 's', planId: 'p' }),
      method: 'DELETE',
      path: '/v2/service_instances/i1/service_bindings/b1',
      query: { service_id: 's', plan_id: 'p' },
    },
    {
      name: 'binding last_operation',
      call: (c) => c.bindingLastOperation({ instanceId: 'i1', bindingId: 'b1', operation: 'x' }),
      method: 'GET',
      path: '/v2/service_instances/i1/service_bindings/b1/last_operation',
      query: { operation: 'x' },
    },
    {
      name: 'get binding',
      call: (c) => c.getBinding({ instanceId: 'i1', bindingId: 'b1' }),
      method: 'GET',
      path: '/v2/service_instances/i1/service_bindings/b1',
      query: {},
    },
  ];

  for (const e of endpoints) {
    it(`${e.name}: ${e.method} ${e.path} with the version, request identity and auth headers`, async () => {
      broker.handler = (req, res) =>
        json(
          res,
          200,
          req.url.pathname.endsWith('last_operation')
            ? { state: 'succeeded' }
            : req.url.pathname.endsWith('catalog')
              ? { services: [] }
              : {},
        );
      broker.seen.length = 0;
      const c = client();
      await e.call(c);
      await e.call(c);
      assert.equal(broker.seen.length, 2);
      const [first, second] = broker.seen as [Seen, Seen];
      assert.equal(first.method, e.method);
      assert.equal(first.url.pathname, `/prefix${e.path}`);
      assert.deepEqual(Object.fromEntries(first.url.searchParams), e.query);
      assert.equal(first.headers['x-broker-api-version'], '2.17');
      assert.match(String(first.headers['x-broker-api-request-identity']), uuid);
      assert.notEqual(
        first.headers['x-broker-api-request-identity'],
        second.headers['x-broker-api-request-identity'],
      );
      assert.equal(first.headers['x-broker-api-originating-identity'], undefined);
      assert.equal(first.headers['authorization'], `Basic ${Buffer.from('admin:p:w').toString('base64')}`);
      if (e.sends === undefined) {
        assert.equal(first.body, '');
      } else {
        assert.deepEqual(JSON.parse(first.body), e.sends);
        assert.equal(first.headers['content-type'], 'application/json');
      }
    });
  }

  it('sends the originating identity and request identity it is given, and bearer auth', async () => {
    broker.handler = (_req, res) => json(res, 201, { dashboard_url: 'https://dash' });
    broker.seen.length = 0;
    const c = client({ auth: { bearer: { token: 'tok' } } });
    const identity = `kubernetes ${Buffer.from('{"username":"alice"}').toString('base64')}`;
    const res = await c.provision(
      { instanceId: 'i', body },
      { originatingIdentity: identity, requestIdentity: 'req-1' },
    );
    assert.deepEqual(res, { status: 201, body: { dashboard_url: 'https://dash' }, requestIdentity: 'req-1' });
    assert.equal(broker.seen[0]?.headers['x-broker-api-originating-identity'], identity);
    assert.equal(broker.seen[0]?.headers['x-broker-api-request-identity'], 'req-1');
    assert.equal(broker.seen[0]?.headers['authorization'], 'Bearer tok');
  });

  it('an OSB error carries its code, description, instance_usable and status, and maps to its table row', async () => {
    broker.handler = (_req, res) =>
      json(
        res,
        422,
        { error: 'ConcurrencyError', description: 'busy', instance_usable: true },
        { 'retry-after': '7' },
      );
    const err = await client()
      .update({ instanceId: 'i', body: { service_id: 's' } })
      .then(
        () => assert.fail('resolved'),
        (e: unknown) => e,
      );
    assert.ok(err instanceof OsbHttpError);
    assert.equal(err.status, 422);
    assert.equal(err.error, 'ConcurrencyError');
    assert.equal(err.description, 'busy');
    assert.equal(err.instanceUsable, true);
    assert.equal(err.updateRepeatable, undefined);
    assert.equal(err.retryAfterMs, 7000);
    assert.equal(
      err.message,
      'PATCH /prefix/v2/service_instances/i: broker answered 422 (ConcurrencyError: busy)',
    );
    assert.deepEqual(brokerOutcome(err), { kind: 'response', status: 422, error: 'ConcurrencyError' });
  });

  it('a 2xx the endpoint does not define (204) is an error of that status, and a non-JSON error body is no obstacle', async () => {
    broker.handler = (_req, res) => {
      res.writeHead(204);
      res.end();
    };
    const err = await client()
      .provision({ instanceId: 'i', body })
      .catch((e: unknown) => e);
    assert.ok(err instanceof OsbHttpError);
    assert.deepEqual(brokerOutcome(err), { kind: 'response', status: 204 });
    broker.handler = (_req, res) => {
      res.writeHead(500, { 'content-type': 'text/html' });
      res.end('<h1>oops</h1>');
    };
    const err500 = await client()
      .provision({ instanceId: 'i', body })
      .catch((e: unknown) => e);
    assert.ok(err500 instanceof OsbHttpError);
    assert.equal(err500.status, 500);
    assert.equal(err500.error, undefined);
  });

  it('a malformed success body is an OsbMalformedResponseError naming the field, never echoing the body', async () => {
    const canary = 'canary-7f1c2e-secret';
    broker.handler = (_req, res) => json(res, 201, { credentials: canary });
    const err = await client()
      .bind({ instanceId: 'i', bindingId: 'b', body })
      .catch((e: unknown) => e);
    assert.ok(err instanceof OsbMalformedResponseError);
    assert.equal(err.status, 201);
    assert.match(err.message, /credentials is not an object/);
    assert.doesNotMatch(err.message, new RegExp(canary));
    assert.deepEqual(brokerOutcome(err), { kind: 'response', status: 201, malformed: true });

    broker.handler = (_req, res) => {
      res.writeHead(202, { 'content-type': 'application/json' });
      res.end(`{"operation": "${canary}`);
    };
    const notJson = await client()
      .provision({ instanceId: 'i', body })
      .catch((e: unknown) => e);
    assert.ok(notJson instanceof OsbMalformedResponseError);
    assert.match(notJson.message, /broker answered 202 with a malformed body: the body is not JSON/);
    assert.doesNotMatch(notJson.message, new RegExp(canary));

    broker.handler = (_req, res) => json(res, 200, { state: 'done' });
    const badState = await client()
      .instanceLastOperation({ instanceId: 'i' })
      .catch((e: unknown) => e);
    assert.ok(badState instanceof OsbMalformedResponseError);
    assert.match(badState.message, /state is not one of/);

    broker.handler = (_req, res) =>
      json(res, 200, { services: [{ id: 's', name: 'db', plans: [{ id: 'p' }] }] });
    const badCatalog = await client()
      .catalog()
      .catch((e: unknown) => e);
    assert.ok(badCatalog instanceof OsbMalformedResponseError);
    assert.match(badCatalog.message, /services\[0\]\.plans\[0\]\.name is missing/);
  });

  it('deprovision and unbind return 410 (gone) and accept an empty 200; last_operation throws 410', async () => {
    broker.handler = (_req, res) => json(res, 410, {});
    const c = client();
    assert.equal((await c.deprovision({ instanceId: 'i', serviceId: 's', planId: 'p' })).status, 410);
    assert.equal(
      (await c.unbind({ instanceId: 'i', bindingId: 'b', serviceId: 's', planId: 'p' })).status,
      410,
    );
    const gone = await c.instanceLastOperation({ instanceId: 'i' }).catch((e: unknown) => e);
    assert.ok(gone instanceof OsbHttpError);
    assert.equal(gone.status, 410);
    broker.handler = (_req, res) => {
      res.writeHead(200);
      res.end();
    };
    assert.equal((await c.deprovision({ instanceId: 'i', serviceId: 's', planId: 'p' })).status, 200);
  });

  it('Retry-After on last_operation is read as delta-seconds and as an HTTP-date', async () => {
    const c = client();
    broker.handler = (_req, res) => json(res, 200, { state: 'in progress' }, { 'retry-after': '3' });
    assert.equal((await c.instanceLastOperation({ instanceId: 'i' })).retryAfterMs, 3000);
    const at = new Date(Date.now() + 120_000).toUTCString();
    broker.handler = (_req, res) => json(res, 200, { state: 'in progress' }, { 'retry-after': at });
    const ms = (await c.bindingLastOperation({ instanceId: 'i', bindingId: 'b' })).retryAfterMs ?? 0;
    assert.ok(ms > 115_000 && ms <= 120_000, `${ms}`);
    broker.handler = (_req, res) => json(res, 200, { state: 'in progress' }, { 'retry-after': 'soon' });
    assert.equal((await c.instanceLastOperation({ instanceId: 'i' })).retryAfterMs, undefined);
  });

  it('a response larger than maxResponseBytes is not read to the end', async () => {
    const big = 'x'.repeat(64 * 1024);
    broker.handler = (_req, res) => json(res, 200, { services: [], padding: big });
    const c = client({ maxResponseBytes: 16 * 1024 });
    const err = await c.catalog().catch((e: unknown) => e);
    assert.ok(err instanceof OsbMalformedResponseError);
    assert.match(err.message, /larger than 16384 bytes/);
    broker.handler = (_req, res) => json(res, 500, { description: big });
    const err500 = await c.provision({ instanceId: 'i', body }).catch((e: unknown) => e);
    assert.ok(err500 instanceof OsbHttpError);
    assert.equal(err500.description, undefined);
  });

  it('no answer within the timeout is an OsbTimeoutError, and a PUT is sent once', async () => {
    broker.handler = () => {
      /* never answers */
    };
    broker.seen.length = 0;
    const started = Date.now();
    const err = await client({ timeoutMs: 300 })
      .provision({ instanceId: 'i', body })
      .catch((e: unknown) => e);
    assert.ok(err instanceof OsbTimeoutError, String(err));
    assert.ok(Date.now() - started < 5_000);
    assert.match(err.message, /no answer within 300 ms/);
    assert.deepEqual(brokerOutcome(err), { kind: 'timeout' });
    assert.equal(broker.seen.length, 1);
  });

  it('a connection cut after the request was sent is a timeout (outcome unknown), never retried, even for a GET', async () => {
    broker.handler = (_req, res) => res.socket?.destroy();
    broker.seen.length = 0;
    const put = await client()
      .bind({ instanceId: 'i', bindingId: 'b', body })
      .catch((e: unknown) => e);
    assert.ok(put instanceof OsbTimeoutError, String(put));
    const get = await client()
      .catalog()
      .catch((e: unknown) => e);
    assert.ok(get instanceof OsbTimeoutError, String(get));
    assert.equal(broker.seen.length, 2);
  });

  it('the caller aborting is not a timeout: the abort reason is thrown', async () => {
    broker.handler = () => {
      /* never answers */
    };
    const controller = new AbortController();
    const pending = client().catalog({ signal: controller.signal });
    setTimeout(() => controller.abort(new Error('stopping')), 50);
    await assert.rejects(pending, /stopping/);
  });

  it('a broker nobody listens on is unreachable; a GET is tried again, a PUT is not', async () => {
    const closed = new BrokerDouble(createHttpServer());
    const closedUrl = await closed.listen();
    await closed.close();
    const c = new OsbClient({ url: closedUrl, maxGetAttempts: 2 });
    clients.push(c);
    const err = await c.provision({ instanceId: 'i', body }).catch((e: unknown) => e);
    assert.ok(err instanceof OsbUnreachableError, String(err));
    assert.match(err.message, /ECONNREFUSED/);
    assert.deepEqual(brokerOutcome(err), { kind: 'unreachable' });

    const once = new OsbClient({ url: closedUrl, maxGetAttempts: 1 });
    clients.push(once);
    assert.ok((await once.catalog().catch((e: unknown) => e)) instanceof OsbUnreachableError);

    // The broker comes up while the GET waits (100 ms) for its second attempt.
    const late = new BrokerDouble(createHttpServer());
    late.handler = (_req, res) => json(res, 200, { services: [] });
    const pending = c.catalog();
    await sleep(30);
    await late.listen(Number(new URL(closedUrl).port));
    try {
      assert.deepEqual((await pending).body, { services: [] });
    } finally {
      await late.close();
    }
  });

  it('refuses options that contradict each other', () => {
    assert.throws(
      () => new OsbClient({ url, caBundle: 'x', insecureSkipTLSVerify: true }),
      /mutually exclusive/,
    );
    assert.throws(() => new OsbClient({ url: 'ftp://x' }), /http or https/);
    assert.throws(
      () => new OsbClient({ url, auth: { basic: { username: 'a:b', password: 'c' } } }),
      /username must not contain/,
    );
  });
});

describe('OsbClient over TLS', () => {
  let ca: string;
  let broker: BrokerDouble;
  let url: string;

  before(async () => {
    const certs = await generateSelfSigned({
      service: 'broker',
      namespace: 'test',
      extraHosts: ['127.0.0.1'],
    });
    ca = certs.caBundle;
    broker = new BrokerDouble(createHttpsServer({ cert: certs.serving.cert, key: certs.serving.key }));
    broker.handler = (_req, res) => json(res, 200, { services: [] });
    url = await broker.listen();
  });
  after(async () => {
    await broker.close();
  });

  it('verifies the broker with caBundle, refuses an unknown CA, and skips verification only when told', async () => {
    const withCA = new OsbClient({ url, caBundle: ca });
    const withoutCA = new OsbClient({ url, maxGetAttempts: 1 });
    const insecure = new OsbClient({ url, insecureSkipTLSVerify: true });
    try {
      assert.equal((await withCA.catalog()).status, 200);
      const err = await withoutCA.catalog().catch((e: unknown) => e);
      assert.ok(err instanceof OsbUnreachableError, String(err));
      assert.equal((await insecure.catalog()).status, 200);
    } finally {
      await Promise.all([withCA.close(), withoutCA.close(), insecure.close()]);
    }
  });
});
