// The broker's HTTP(S) server. Per request, before the broker sees it: authentication (401/403, no
// detail), `X-Broker-API-Version` (412), the originating identity (decoded, 400 when malformed), the
// body (Content-Type, size, JSON object), the catalog checks and parameter schemas. After: the answer
// in the spec's shape, the request identity echoed, metrics per operation and status code.
// Also `/healthz` and (with a registry) `/metrics`, outside `/v2` and without authentication.

import { once } from 'node:events';
import { createServer as createHttpServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { InFlightRequests, closeGracefully } from '@bindery/kube';
import { pino } from 'pino';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { authenticate } from './auth.ts';
import type { AuthResult, Authenticator } from './auth.ts';
import * as bindings from './binding-operations.ts';
import { DEFAULT_MAX_BODY_BYTES, readJsonObject } from './body.ts';
import type { Broker, RequestContext } from './broker.ts';
import type { Call, Reply } from './dispatch.ts';
import { BrokerError } from './errors.ts';
import {
  ORIGINATING_IDENTITY_HEADER,
  REQUEST_IDENTITY_HEADER,
  VERSION_HEADER,
  checkApiVersion,
  parseApiVersion,
  parseOriginatingIdentity,
  requestIdentity,
} from './headers.ts';
import * as instances from './instance-operations.ts';
import { brokerMetrics } from './metrics.ts';
import type { BrokerMetrics, OperationName } from './metrics.ts';
import { matchRoute } from './routes.ts';
import type { Route } from './routes.ts';

export interface BrokerServerOptions {
  broker: Broker;
  /**
   * Who may call `/v2`: the request's `Authorization` scheme picks one (`basicAuth`, `tokenReviewAuth`).
   * An empty list lets everyone in: say so explicitly, there is no default.
   */
  auth: readonly Authenticator[];
  /** Default 8080; 0 picks a free port (read `port` after `listen`). */
  port?: number;
  /** Default 127.0.0.1. In a cluster: 0.0.0.0. */
  host?: string;
  /** Serve HTTPS with this key pair (PEM); plain HTTP without. */
  tls?: { cert: string; key: string };
  /** Oldest `X-Broker-API-Version` accepted (412 below it). Default `2.13`. */
  minApiVersion?: string;
  /** Refuse a provision without `organization_guid` and `space_guid` (REQUIRED, deprecated). Default true. */
  requireOrganizationGuids?: boolean;
  /** Default 1 MiB. */
  maxBodyBytes?: number;
  /** Longest a request may take; then it is answered 503 and its `signal` aborts. Default 60 s. */
  requestTimeoutMs?: number;
  /** How long `stop` waits for in-flight requests. Default 30 s. */
  shutdownTimeoutMs?: number;
  /** Idle keep-alive connections are closed after this. Default 65 s. */
  keepAliveTimeoutMs?: number;
  /** Registers the `osb_broker_*` metrics and serves them at `/metrics`. */
  registry?: Registry;
  log?: Logger;
}

const handlers: Record<Route['operation'], (call: Call) => Promise<Reply>> = {
  catalog: async (call) => ({ status: 200, body: await call.broker.catalog(call.ctx) }),
  provision: instances.provision,
  update: instances.update,
  deprovision: instances.deprovision,
  get_instance: instances.getInstance,
  last_operation: instances.lastOperation,
  bind: bindings.bind,
  unbind: bindings.unbind,
  get_binding: bindings.getBinding,
  binding_last_operation: bindings.bindingLastOperation,
};

/** Where "it does not exist" is 410 Gone rather than 404. */
const goneWhenMissing = new Set<OperationName>([
  'deprovision',
  'unbind',
  'last_operation',
  'binding_last_operation',
]);

class RequestTimeout extends BrokerError {
  constructor() {
    super(503, { description: 'The broker did not finish the request in time.' });
  }
}

/** Serves a `Broker` over OSB 2.17. `listen()`, then `stop()`; or `start(signal)`. */
export class BrokerServer {
  readonly #options: BrokerServerOptions;
  readonly #log: Logger;
  readonly #metrics: BrokerMetrics | undefined;
  readonly #minVersion: { major: number; minor: number };
  #server: Server | undefined;
  #port: number | undefined;
  #stopping: Promise<void> | undefined;
  readonly #inFlight = new InFlightRequests();

  constructor(options: BrokerServerOptions) {
    const min = parseApiVersion(options.minApiVersion ?? '2.13');
    if (!min) throw new Error(`minApiVersion ${JSON.stringify(options.minApiVersion)} is not MAJOR.MINOR`);
    this.#minVersion = min;
    this.#options = options;
    this.#log = options.log ?? pino({ name: 'osb-broker' });
    this.#metrics = options.registry ? brokerMetrics(options.registry) : undefined;
  }

  get port(): number {
    if (this.#port === undefined) throw new Error('the broker server is not listening: call listen() first');
    return this.#port;
  }

  /** `http(s)://host:port`, with 127.0.0.1 for a server on all interfaces. */
  get url(): string {
    const host = this.#options.host ?? '127.0.0.1';
    const shown = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
    return `${this.#options.tls ? 'https' : 'http'}://${shown}:${this.port}`;
  }

  async listen(): Promise<void> {
    if (this.#server) return;
    if (this.#stopping) throw new Error('the broker server was stopped; create a new one');
    const keepAliveTimeout = this.#options.keepAliveTimeoutMs ?? 65_000;
    const serverOptions = { keepAliveTimeout, headersTimeout: keepAliveTimeout + 5_000, noDelay: true };
    const server = this.#options.tls
      ? createHttpsServer({ ...serverOptions, ...this.#options.tls, minVersion: 'TLSv1.2' })
      : createHttpServer(serverOptions);
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      // Nothing a request does may take the process down: a failure here is logged and answered.
      this.#onRequest(req, res).catch((err: unknown) => {
        this.#log.error({ err }, 'OSB request failed outside its handler');
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' }).end('{}');
        else res.destroy();
      });
    });
    server.on('clientError', (_err, socket) => {
      if (socket.writable)
        socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
      else socket.destroy();
    });
    const host = this.#options.host ?? '127.0.0.1';
    const port = this.#options.port ?? 8080;
    server.listen(port, host);
    await once(server, 'listening').catch((err: unknown) => {
      throw new Error(`the broker server cannot listen on ${host}:${port}: ${(err as Error).message}`, {
        cause: err,
      });
    });
    server.on('error', (err) => this.#log.error({ err }, 'broker server error'));
    this.#server = server;
    this.#port = (server.address() as { port: number }).port;
    this.#log.info({ url: this.url }, 'OSB broker listening');
  }

  /** Listens until `signal` aborts, then stops gracefully. */
  async start(signal: AbortSignal): Promise<void> {
    await this.listen();
    if (!signal.aborted) await once(signal, 'abort').catch(() => undefined);
    await this.stop();
  }

  /** Stops accepting, lets in-flight requests finish (up to `shutdownTimeoutMs`), closes connections. */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    const server = this.#server;
    if (!server) return;
    await closeGracefully(server, {
      inFlight: this.#inFlight,
      timeoutMs: this.#options.shutdownTimeoutMs,
      onTimeout: (left) => this.#log.warn(left, 'shutdown timed out waiting for OSB requests'),
    });
    this.#server = undefined;
    this.#log.info('OSB broker stopped');
  }

  async #onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const rawUrl = req.url ?? '/';
    const q = rawUrl.indexOf('?');
    const path = q === -1 ? rawUrl : rawUrl.slice(0, q);
    const query = new URLSearchParams(q === -1 ? '' : rawUrl.slice(q + 1));
    const method = req.method ?? 'GET';

    if (path === '/healthz' && (method === 'GET' || method === 'HEAD')) {
      res.writeHead(200, { 'content-type': 'text/plain' }).end(this.#stopping ? 'stopping' : 'ok');
      return;
    }
    if (path === '/metrics' && method === 'GET' && this.#options.registry) {
      const text = await this.#options.registry.metrics();
      res.writeHead(200, { 'content-type': this.#options.registry.contentType }).end(text);
      return;
    }

    const route = matchRoute(method, path);
    const operation: OperationName = typeof route === 'object' ? route.operation : 'unmatched';
    const started = performance.now();
    this.#inFlight.enter();
    this.#metrics?.inFlight.inc({ operation });
    const echo = requestIdentity(header(req, REQUEST_IDENTITY_HEADER));
    try {
      let reply: Reply;
      try {
        reply = await this.#handle(req, res, path, method, query, route, echo);
      } catch (err) {
        reply = this.#errorReply(err, operation, method, path);
      }
      this.#send(res, reply, echo, reply.status === 413);
      this.#metrics?.requests.inc({ operation, code: String(reply.status) });
      this.#metrics?.duration.observe({ operation }, (performance.now() - started) / 1000);
    } finally {
      this.#metrics?.inFlight.dec({ operation });
      this.#inFlight.leave();
    }
  }

  async #handle(
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    method: string,
    query: URLSearchParams,
    route: Route | 'method' | undefined,
    echo: string | undefined,
  ): Promise<Reply> {
    if (path !== '/v2' && !path.startsWith('/v2/')) {
      return { status: 404, body: { description: 'Not found.' } };
    }
    const timeout = new AbortController();
    const timer = setTimeout(
      () => timeout.abort(new RequestTimeout()),
      this.#options.requestTimeoutMs ?? 60_000,
    );
    // The platform hung up before the answer: the handler may stop working for nobody.
    const hungUp = (): void => {
      if (!res.writableFinished)
        timeout.abort(new BrokerError(499, { description: 'The client closed the request.' }));
    };
    res.once('close', hungUp);
    try {
      const signal = timeout.signal;
      let auth: AuthResult;
      try {
        auth = await authenticate(this.#options.auth, header(req, 'authorization'), { method, path, signal });
      } catch (err) {
        // The API server (TokenReview) cannot answer now: not the caller's fault, and worth a retry.
        this.#log.warn({ err }, 'authentication is unavailable');
        return { status: 503, body: { description: 'Authentication is unavailable; try again later.' } };
      }
      if (this.#options.auth.length > 0 && !auth.allowed) return this.#refusal(auth.status);
      if (route === undefined) return { status: 404, body: { description: 'Not found.' } };
      if (route === 'method') return { status: 405, body: { description: `${method} is not allowed here.` } };
      const apiVersion = checkApiVersion(header(req, VERSION_HEADER), this.#minVersion);
      const identity = parseOriginatingIdentity(header(req, ORIGINATING_IDENTITY_HEADER));
      const ctx: RequestContext = { apiVersion, signal };
      if (identity) ctx.originatingIdentity = identity;
      if (echo !== undefined) ctx.requestIdentity = echo;
      if (auth.allowed) ctx.user = auth.user;
      const maxBodyBytes = this.#options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
      const call: Call = {
        route,
        query,
        body: () => readJsonObject(req, maxBodyBytes),
        ctx,
        broker: this.#options.broker,
        requireOrganizationGuids: this.#options.requireOrganizationGuids ?? true,
      };
      const aborted = new Promise<never>((_, reject) => {
        if (signal.aborted) reject(signal.reason as Error);
        signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true });
      });
      return await Promise.race([handlers[route.operation](call), aborted]);
    } finally {
      clearTimeout(timer);
      res.off('close', hungUp);
    }
  }

  #refusal(status: 401 | 403): Reply {
    const basic = this.#options.auth.some((a) => a.scheme.toLowerCase() === 'basic');
    return status === 401
      ? {
          status,
          body: { description: 'Unauthorized.' },
          ...(basic && { headers: { 'www-authenticate': 'Basic realm="osb-broker"' } }),
        }
      : { status, body: { description: 'Forbidden.' } };
  }

  #errorReply(err: unknown, operation: OperationName, method: string, path: string): Reply {
    if (err instanceof BrokerError) {
      if (err.missing) {
        return goneWhenMissing.has(operation) ? { status: 410, body: {} } : { status: 404, body: err.body };
      }
      if (err.status >= 500) this.#log.warn({ operation, status: err.status }, err.message);
      return { status: err.status, body: err.body };
    }
    // A bug or an outage behind the broker: logged, and answered without its message, which may say
    // more than a platform should learn.
    this.#log.error({ err, operation, method, path }, 'OSB request failed');
    return { status: 500, body: { description: 'The broker failed to handle the request.' } };
  }

  #send(res: ServerResponse, reply: Reply, echo: string | undefined, close: boolean): void {
    if (res.headersSent) return;
    const text = JSON.stringify(reply.body ?? {});
    const headers: Record<string, string | number> = {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(text),
      ...reply.headers,
    };
    if (echo !== undefined) headers[REQUEST_IDENTITY_HEADER] = echo;
    if (close || this.#stopping) headers['connection'] = 'close';
    res.writeHead(reply.status, headers).end(text);
  }
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}
