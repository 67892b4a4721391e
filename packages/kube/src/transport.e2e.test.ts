import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { getEventListeners } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { stringify } from 'yaml';
import { ControlPlane, eventually, skipE2E } from '@bindery/controlplane';
import type { User } from '@bindery/controlplane';
import { StatusError, isNetworkError } from './errors.ts';
import { KubeConfig } from './kubeconfig.ts';
import { Transport } from './transport.ts';
import type { TransportOptions } from './transport.ts';

const ns = 'transport-e2e';
const configMaps = `/api/v1/namespaces/${ns}/configmaps`;

/** What the proxy does with one request; `pass` forwards it, `dribble` forwards the answer a byte at a time. */
type Fault =
  'pass' | 'dribble' | 'hang' | 'reset' | { status: number; headers?: Record<string, string>; body?: string };

/**
 * A plain-HTTP proxy in front of the real API server that fails requests on cue: each request takes
 * the next fault from `faults` (none left: `pass`). Upstream it authenticates as a system:masters
 * user, so whatever it passes is the API server's own answer.
 */
class FaultProxy {
  readonly faults: Fault[] = [];
  /** `METHOD path?query` of every request, in order. */
  readonly seen: string[] = [];
  /** Connections accepted so far, and those still open. */
  accepted = 0;
  readonly open = new Set<Socket>();
  readonly #server: Server;
  readonly #upstream: URL;
  readonly #tls: { ca: string; cert: string; key: string };

  constructor(upstream: string, tls: { ca: string; cert: string; key: string }) {
    this.#upstream = new URL(upstream);
    this.#tls = tls;
    this.#server = createServer((req, res) => this.#handle(req, res));
    this.#server.on('connection', (socket) => {
      this.accepted++;
      this.open.add(socket);
      socket.once('close', () => this.open.delete(socket));
    });
  }

  async listen(port = 0): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, '127.0.0.1', resolve);
    });
    const address = this.#server.address();
    assert.ok(address !== null && typeof address === 'object');
    return `http://127.0.0.1:${address.port}`;
  }

  async stop(): Promise<void> {
    for (const socket of this.open) socket.destroy();
    await new Promise((resolve) => this.#server.close(resolve));
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    this.seen.push(`${req.method} ${req.url}`);
    const fault = this.faults.shift() ?? 'pass';
    if (fault === 'hang') return;
    if (fault === 'reset') {
      req.socket.resetAndDestroy();
      return;
    }
    if (typeof fault === 'object') {
      res.writeHead(fault.status, fault.headers).end(fault.body);
      return;
    }
    const headers = { ...req.headers };
    delete headers.host;
    delete headers.connection;
    const upstream = httpsRequest(
      new URL(req.url ?? '/', this.#upstream),
      { method: req.method, headers, agent: false, ...this.#tls },
      (answer) => {
        // Hop-by-hop: the upstream connection is not kept alive, the client's is.
        const { connection: _c, 'keep-alive': _k, ...answerHeaders } = answer.headers;
        res.writeHead(answer.statusCode ?? 502, answerHeaders);
        res.flushHeaders();
        if (fault === 'pass') {
          answer.pipe(res);
          return;
        }
        void (async () => {
          for await (const chunk of answer as AsyncIterable<Buffer>) {
            for (const byte of chunk) {
              res.write(Buffer.of(byte));
              await sleep(1);
            }
          }
          res.end();
        })().catch(() => res.destroy());
      },
    );
    upstream.on('error', () => res.destroy());
    res.on('close', () => upstream.destroy());
    req.pipe(upstream);
  }
}

const configMap = (name: string, data: Record<string, string> = {}): unknown => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace: ns, labels: { suite: 'transport' } },
  data,
});

describe('Transport against a real API server', { skip: skipE2E }, () => {
  let cp: ControlPlane;
  let proxy: FaultProxy;
  let proxyUrl: string;
  let alice: User;
  let bob: User;
  let dir: string;
  const transports: Transport[] = [];

  /** A transport to `server` (default the fault proxy) as admin, with `cluster` fields and options on top. */
  function transport(
    options: Omit<TransportOptions, 'kubeConfig'> & {
      server?: string;
      cluster?: Record<string, unknown>;
    } = {},
  ): Transport {
    const { server, cluster, ...rest } = options;
    const kubeConfig = cp.kubeConfig();
    for (const c of kubeConfig.clusters) {
      c.cluster.server = server ?? proxyUrl;
      Object.assign(c.cluster, cluster);
    }
    const t = new Transport({ kubeConfig, retryBaseDelayMs: 20, ...rest });
    transports.push(t);
    return t;
  }

  before(async () => {
    cp = new ControlPlane();
    await cp.start();
    alice = await cp.addUser({ name: 'alice', groups: ['system:masters'] });
    bob = await cp.addUser({ name: 'bob', groups: ['system:masters'] });
    proxy = new FaultProxy(cp.server, { ca: cp.caCert, ...alice.credentials });
    proxyUrl = await proxy.listen();
    dir = await mkdtemp(join(tmpdir(), 'bindery-transport-e2e-'));
    await cp.client().create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  });

  after(async () => {
    await Promise.all(transports.map((t) => t.close()));
    await proxy?.stop();
    await cp?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('keeps one connection alive for requests in turn, speaks HTTP/1.1, and caps no sockets: a GET passes 20 open watches', async () => {
    const t = transport();
    const before = proxy.accepted;
    for (let i = 0; i < 5; i++)
      assert.equal((await t.request({ method: 'GET', path: '/version' })).status, 200);
    assert.equal(proxy.accepted - before, 1);

    const watches = await Promise.all(
      Array.from({ length: 20 }, () =>
        t.stream({ method: 'GET', path: configMaps, query: { watch: true, timeoutSeconds: 120 } }),
      ),
    );
    const res = await t.request({ method: 'GET', path: '/version', signal: AbortSignal.timeout(5_000) });
    assert.equal(res.status, 200);
    assert.ok(proxy.accepted - before >= 21, `${proxy.accepted - before} connections`);
    // close() ends every watch, and every connection goes.
    const ends = watches.map(async (w) => {
      try {
        for await (const line of w) void line;
      } catch {
        // A destroyed connection may end the body with an error; ending is what matters.
      }
    });
    await t.close();
    await Promise.race([
      Promise.all(ends),
      sleep(5_000).then(() => assert.fail('close() left watches running')),
    ]);
    await eventually(() => assert.equal(proxy.open.size, 0), 5_000);

    // Direct to the API server, which offers h2 too: the answer still comes over HTTP/1.1.
    const versions: string[] = [];
    const onFinish = (message: unknown): void => {
      versions.push((message as { response: IncomingMessage }).response.httpVersion);
    };
    subscribe('http.client.response.finish', onFinish);
    try {
      await transport({ server: cp.server }).request({ method: 'GET', path: '/version' });
    } finally {
      unsubscribe('http.client.response.finish', onFinish);
    }
    assert.deepEqual(versions, ['1.1']);
  });

  it('retries 429 and 503 for a POST, waiting what Retry-After asks', async () => {
    const t = transport();
    proxy.faults.push({ status: 429, headers: { 'retry-after': '1' } }, { status: 503 });
    const from = proxy.seen.length;
    const started = performance.now();
    const res = await t.request({ method: 'POST', path: configMaps, body: configMap('throttled') });
    assert.equal(res.status, 201);
    assert.ok(performance.now() - started >= 1_000, 'waited for Retry-After');
    assert.deepEqual(proxy.seen.slice(from), Array(3).fill(`POST ${configMaps}`));
  });

  it('retries other 5xx for GET only', async () => {
    const t = transport();
    proxy.faults.push({ status: 500 });
    const from = proxy.seen.length;
    assert.equal((await t.request({ method: 'GET', path: '/version' })).status, 200);
    assert.equal(proxy.seen.length - from, 2);

    proxy.faults.push({ status: 500, body: 'boom' });
    await assert.rejects(
      t.request({ method: 'POST', path: configMaps, body: configMap('not-retried') }),
      (err) => err instanceof StatusError && err.code === 500,
    );
    assert.equal(proxy.seen.length - from, 3);
  });

  it('gives up after maxAttempts with a StatusError naming the request, its Retry-After, and the body text capped', async () => {
    const t = transport({ maxAttempts: 3 });
    const text = 'x'.repeat(2_000);
    for (let i = 0; i < 3; i++)
      proxy.faults.push({ status: 503, headers: { 'retry-after': '1' }, body: text });
    const from = proxy.seen.length;
    const err = await t
      .request({ method: 'GET', path: configMaps, query: { limit: 1, labelSelector: undefined } })
      .catch((e: unknown) => e);
    assert.ok(err instanceof StatusError, String(err));
    assert.equal(err.code, 503);
    assert.equal(err.request, `GET ${configMaps}?limit=1`);
    assert.equal(err.retryAfterSeconds, 1);
    assert.equal(err.status.message?.length, 500);
    assert.equal(proxy.seen.length - from, 3);
  });

  it('retries a POST whose connection was refused', async () => {
    // A port nothing listens on yet; the proxy starts listening there while the transport backs off.
    const probe = new FaultProxy(cp.server, { ca: cp.caCert, ...alice.credentials });
    const port = Number(new URL(await probe.listen()).port);
    await probe.stop();
    const late = new FaultProxy(cp.server, { ca: cp.caCert, ...alice.credentials });
    const t = transport({ server: `http://127.0.0.1:${port}`, retryBaseDelayMs: 300 });
    try {
      const sent = t.request({ method: 'POST', path: configMaps, body: configMap('refused-then-created') });
      await sleep(100);
      await late.listen(port);
      assert.equal((await sent).status, 201);
      assert.deepEqual(late.seen, [`POST ${configMaps}`]);
    } finally {
      await t.close();
      await late.stop();
    }
  });

  it('retries a reset mid-request for GET, not for a POST', async () => {
    const t = transport();
    proxy.faults.push('reset');
    const from = proxy.seen.length;
    assert.equal((await t.request({ method: 'GET', path: '/version' })).status, 200);
    assert.equal(proxy.seen.length - from, 2);

    proxy.faults.push('reset');
    await assert.rejects(t.request({ method: 'POST', path: configMaps, body: configMap('reset') }), (err) =>
      isNetworkError(err),
    );
    assert.equal(proxy.seen.length - from, 3);
  });

  it('an abort ends the wait before a retry at once', async () => {
    const t = transport();
    proxy.faults.push({ status: 429, headers: { 'retry-after': '20' } });
    const abort = new AbortController();
    const started = performance.now();
    setTimeout(() => abort.abort(new Error('stopped')), 200);
    await assert.rejects(t.request({ method: 'GET', path: '/version', signal: abort.signal }), /stopped/);
    assert.ok(performance.now() - started < 2_000);
    assert.equal(getEventListeners(abort.signal, 'abort').length, 0);
  });

  it('fails a request whose answer headers do not come in time, but never cuts a silent watch', async () => {
    const t = transport({ headersTimeoutMs: 500, maxAttempts: 1 });
    proxy.faults.push('hang');
    const started = performance.now();
    await assert.rejects(
      t.request({ method: 'GET', path: '/version' }),
      (err) => (err as { code?: unknown }).code === 'ERR_HEADERS_TIMEOUT',
    );
    assert.ok(performance.now() - started < 5_000);

    const list = (await t.request({ method: 'GET', path: configMaps })).body as {
      metadata: { resourceVersion: string };
    };
    const watch = await t.stream({
      method: 'GET',
      path: configMaps,
      query: {
        watch: true,
        resourceVersion: list.metadata.resourceVersion,
        fieldSelector: 'metadata.name=late',
      },
    });
    await sleep(1_500);
    await cp.client().create(configMap('late') as never);
    for await (const line of watch) {
      assert.equal((JSON.parse(line) as { type: string }).type, 'ADDED');
      break;
    }
  });

  it('an aborted request or watch ends at once, and leaves no socket or listener behind', async () => {
    const t = transport();
    // A request that never gets an answer.
    proxy.faults.push('hang');
    const hung = new AbortController();
    const pending = t.request({ method: 'GET', path: '/version', signal: hung.signal });
    await eventually(() => assert.equal(proxy.faults.length, 0), 5_000);
    hung.abort(new Error('gave up'));
    await assert.rejects(pending, /gave up/);
    assert.equal(getEventListeners(hung.signal, 'abort').length, 0);

    // A watch in the middle of its body.
    await cp.client().create(configMap('watched') as never);
    const stop = new AbortController();
    const watch = await t.stream({
      method: 'GET',
      path: configMaps,
      query: { watch: true, fieldSelector: 'metadata.name=watched' },
      signal: stop.signal,
    });
    const lines = watch[Symbol.asyncIterator]();
    assert.equal((await lines.next()).done, false);
    const started = performance.now();
    setTimeout(() => stop.abort(new Error('stopped watching')), 100);
    await assert.rejects(lines.next(), /stopped watching/);
    assert.ok(performance.now() - started < 2_000);
    assert.equal(getEventListeners(stop.signal, 'abort').length, 0);

    // A request that completed keeps no listener either.
    const done = new AbortController();
    await t.request({ method: 'GET', path: '/version', signal: done.signal });
    assert.equal(getEventListeners(done.signal, 'abort').length, 0);
    // The aborted ones' connections are gone; the completed request's is kept alive.
    await eventually(() => assert.equal(proxy.open.size, 1), 5_000);
    await t.close();
    await eventually(() => assert.equal(proxy.open.size, 0), 5_000);
  });

  it('yields watch lines whole, with multi-byte characters split across chunks', async () => {
    const t = transport();
    const value = 'grüße ✓ 🚀 日本';
    await cp.client().create(configMap('utf8', { value }) as never);
    proxy.faults.push('dribble');
    const watch = await t.stream({
      method: 'GET',
      path: configMaps,
      query: { watch: true, fieldSelector: 'metadata.name=utf8' },
      signal: AbortSignal.timeout(30_000),
    });
    for await (const line of watch) {
      const event = JSON.parse(line) as { object: { data: { value: string } } };
      assert.equal(event.object.data.value, value);
      break;
    }
  });

  it('a rotated client certificate gets new connections while a watch on the old one runs on, until close()', async () => {
    await writeFile(join(dir, 'client.crt'), alice.credentials.cert);
    await writeFile(join(dir, 'client.key'), alice.credentials.key, { mode: 0o600 });
    const path = join(dir, 'kubeconfig');
    await writeFile(
      path,
      stringify({
        clusters: [
          {
            name: 'cp',
            cluster: {
              server: cp.server,
              'certificate-authority-data': Buffer.from(cp.caCert).toString('base64'),
            },
          },
        ],
        users: [{ name: 'u', user: { 'client-certificate': 'client.crt', 'client-key': 'client.key' } }],
        contexts: [{ name: 'cp', context: { cluster: 'cp', user: 'u' } }],
        'current-context': 'cp',
      }),
    );
    const t = new Transport({ kubeConfig: KubeConfig.fromFile(path), credentialsRefreshMs: 100 });
    transports.push(t);
    const whoami = async (): Promise<string> => {
      const res = await t.request({
        method: 'POST',
        path: '/apis/authentication.k8s.io/v1/selfsubjectreviews',
        body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' },
      });
      return (res.body as { status: { userInfo: { username: string } } }).status.userInfo.username;
    };
    assert.equal(await whoami(), 'alice');
    const watch = await t.stream({
      method: 'GET',
      path: configMaps,
      query: { watch: true, fieldSelector: 'metadata.name=after-rotation' },
    });
    await writeFile(join(dir, 'client.crt'), bob.credentials.cert);
    await writeFile(join(dir, 'client.key'), bob.credentials.key);
    await eventually(async () => assert.equal(await whoami(), 'bob'), 10_000);

    await cp.client().create(configMap('after-rotation') as never);
    const lines = watch[Symbol.asyncIterator]();
    const first = await lines.next();
    assert.equal(first.done, false);
    assert.equal((JSON.parse(first.value) as { type: string }).type, 'ADDED');
    await t.close();
    await Promise.race([
      lines.next().catch(() => ({ done: true })),
      sleep(5_000).then(() => assert.fail('close() left the old pool’s watch running')),
    ]);
  });

  it('verifies the server as tls-server-name; insecure-skip-tls-verify skips it; proxy-url is refused', async () => {
    const version = { method: 'GET', path: '/version' } as const;
    // The serving certificate is for 127.0.0.1 and localhost.
    const named = transport({ server: cp.server, cluster: { 'tls-server-name': 'localhost' } });
    assert.equal((await named.request(version)).status, 200);
    const misnamed = transport({ server: cp.server, cluster: { 'tls-server-name': 'elsewhere.example' } });
    await assert.rejects(
      misnamed.request(version),
      (err) => (err as { code?: unknown }).code === 'ERR_TLS_CERT_ALTNAME_INVALID',
    );

    const noCa = { 'certificate-authority-data': undefined };
    const unverified = transport({ server: cp.server, cluster: noCa });
    await assert.rejects(unverified.request(version), (err) => !isNetworkError(err));
    const insecure = transport({ server: cp.server, cluster: { ...noCa, 'insecure-skip-tls-verify': true } });
    assert.equal((await insecure.request(version)).status, 200);

    assert.throws(
      () => transport({ cluster: { 'proxy-url': 'http://proxy.example:3128' } }),
      /proxy-url is not supported/,
    );
  });
});
