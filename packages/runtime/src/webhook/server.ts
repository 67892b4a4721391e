// The admission webhook server: HTTPS (HTTP/1.1 only), one handler per path, AdmissionReview v1 in
// and out. Every replica serves it (it needs no leadership); handlers answer from memory.
//
// Malformed input never crashes it and always gets a JSON answer that says what was wrong: a
// `metav1.Status` with a 4xx code for requests that are not admission reviews (the API server puts
// its message in the error it reports), and an AdmissionReview denial with code 500 when a handler
// fails (naming the path and the error, never the object: it may be a Secret).

import { once } from 'node:events';
import { createServer } from 'node:https';
import type { Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { errorMessage } from '@bindery/kube';
import { pino } from 'pino';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { CertWatcher, inspectKeyPair } from './cert-watcher.ts';
import type { CertificateInfo, KeyPair } from './cert-watcher.ts';
import type { AdmissionContext, AdmissionHandler, AdmissionResult } from './handlers.ts';
import { webhookMetrics } from './metrics.ts';
import type { WebhookMetrics } from './metrics.ts';
import { ADMISSION_API_VERSION } from './types.ts';
import {
  JSON_TYPE,
  encodeReview,
  jsonProblem,
  reviewProblem,
  statusBody,
  statusReason,
} from './review-codec.ts';
import type { AdmissionRequest, AdmissionResponse, AdmissionReview } from './types.ts';

/**
 * controller-runtime's limit. The API server accepts objects up to 3 MiB (`MaxRequestBodyBytes`), and
 * an UPDATE review carries the object and the old object, so 3 MiB would refuse the updates of
 * large objects; the in-flight budget bounds how many such bodies are held at once.
 */
export const DEFAULT_MAX_BODY_BYTES = 7 * 1024 * 1024;

/** A client gets this long to send a request's headers (a slow-headers client holds a connection). */
export const DEFAULT_HEADERS_TIMEOUT_MS = 10_000;

/**
 * Requests handled at once; more are answered 429 at once instead of queued. Handlers answer from
 * memory in milliseconds, so a replica rarely has more than a few in flight; this bounds the bodies
 * held (each up to `maxBodyBytes`) when something else is wrong.
 */
export const DEFAULT_MAX_IN_FLIGHT = 128;

/** Open connections; the API server needs about one per request in flight. More are closed at once. */
export const DEFAULT_MAX_CONNECTIONS = 512;

export const DEFAULT_KEEP_ALIVE_TIMEOUT_MS = 100_000;

export interface WebhookServerOptions {
  /** Default 9443 (controller-runtime's). 0 picks a free port; read it from `port` after `listen`. */
  port?: number;
  /** Default `127.0.0.1`. In a cluster the API server reaches the pod IP: set `0.0.0.0`. */
  host?: string;
  /** A directory with `tls.crt` and `tls.key` (cert-manager's Secret layout), reloaded when they change. */
  certDir?: string;
  /** Default `tls.crt`. */
  certName?: string;
  /** Default `tls.key`. */
  keyName?: string;
  /** A fixed serving certificate (for example from `generateSelfSigned`); replace it with `setCertificate`. */
  tls?: KeyPair;
  /** Default 7 MiB, controller-runtime's (see `DEFAULT_MAX_BODY_BYTES`). */
  maxBodyBytes?: number;
  /** Requests handled at once; the excess is answered 429 with `Retry-After`. Default 128. */
  maxInFlight?: number;
  /** Open connections; the excess is closed at once. Default 512. */
  maxConnections?: number;
  /** How long a client may take to send a request's headers; then 408. Default 10 s. */
  headersTimeoutMs?: number;
  /**
   * How long a request may take, from its first byte to the answer (reading the body and running the
   * handler). Default 30 s, the most `timeoutSeconds` a webhook configuration can ask the API server
   * to wait; a handler still running then is answered as failed and its `signal` aborts.
   */
  requestTimeoutMs?: number;
  /** Default 100 s (see `DEFAULT_KEEP_ALIVE_TIMEOUT_MS`). */
  keepAliveTimeoutMs?: number;
  /** How long `stop` waits for in-flight requests before closing their connections. Default 30 s. */
  shutdownTimeoutMs?: number;
  /** Debounce of certificate reloads in `certDir` mode. Default 200 ms. */
  certReloadDebounceMs?: number;
  log?: Logger;
  /** Registers `controller_runtime_webhook_*` metrics on it. */
  registry?: Registry;
}

const TLS_CONTEXT = { minVersion: 'TLSv1.2' } as const;
interface Exchange {
  path: string;
  label: string;
  started: number;
  req: IncomingMessage;
  res: ServerResponse;
}

/**
 * Serves admission webhooks over HTTPS. Register handlers (`mutating(...)`, `validating(...)`) by
 * path, then `listen()` (or `start(signal)`, which the manager runs on every replica).
 */
export class WebhookServer {
  readonly name = 'webhook-server';
  readonly #options: WebhookServerOptions;
  readonly #handlers = new Map<string, AdmissionHandler>();
  readonly #log: Logger;
  readonly #metrics: WebhookMetrics | undefined;
  readonly #maxBodyBytes: number;
  readonly #requestTimeoutMs: number;
  readonly #maxInFlight: number;
  #server: Server | undefined;
  #watcher: CertWatcher | undefined;
  #certificate: CertificateInfo | undefined;
  #port: number | undefined;
  #listening: Promise<void> | undefined;
  #stopping: Promise<void> | undefined;
  #inFlight = 0;
  #drained: (() => void) | undefined;

  constructor(options: WebhookServerOptions = {}) {
    if (options.certDir !== undefined && options.tls !== undefined) {
      throw new Error('WebhookServer: set certDir or tls, not both');
    }
    this.#options = options;
    this.#log = options.log ?? pino({ name: 'webhook-server' });
    this.#metrics = options.registry ? webhookMetrics(options.registry) : undefined;
    this.#maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
    this.#requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
    this.#maxInFlight = options.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT;
  }

  /** Serves `handler` at `path` (e.g. `/mutate-v1-configmap`); allowed before or after `listen`. */
  register(path: string, handler: AdmissionHandler): void {
    if (!path.startsWith('/') || path.includes('?') || path.includes('#')) {
      throw new Error(
        `webhook path ${JSON.stringify(path)} must start with "/" and have no query or fragment`,
      );
    }
    if (this.#handlers.has(path)) throw new Error(`a webhook handler is already registered at ${path}`);
    this.#handlers.set(path, handler);
  }

  /** The registered paths. */
  get paths(): string[] {
    return [...this.#handlers.keys()];
  }

  /** The port it listens on; throws before `listen`. */
  get port(): number {
    if (this.#port === undefined) throw new Error('the webhook server is not listening: call listen() first');
    return this.#port;
  }

  /** `https://<host>:<port><path>`, with 127.0.0.1 for a server on all interfaces. */
  url(path = '/'): string {
    const host = this.#options.host ?? '127.0.0.1';
    const shown = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
    return `https://${shown}:${this.port}${path}`;
  }

  /** The certificate being served (serial, subject, validity). */
  get certificate(): CertificateInfo | undefined {
    return this.#certificate;
  }

  /** For readiness probes: listening with a certificate, and not shutting down. */
  ready(): boolean {
    return this.#port !== undefined && this.#certificate !== undefined && this.#stopping === undefined;
  }

  /** Runs until `signal` aborts, then stops gracefully (the manager's Runnable contract). */
  async start(signal: AbortSignal): Promise<void> {
    await this.listen();
    if (!signal.aborted) await once(signal, 'abort').catch(() => undefined);
    await this.stop();
  }

  /** Loads the certificate and starts listening; resolves once connections are accepted. */
  listen(): Promise<void> {
    this.#listening ??= this.#listen().catch((err: unknown) => {
      this.#listening = undefined;
      throw err;
    });
    return this.#listening;
  }

  /**
   * Swaps the serving certificate; new TLS handshakes present it, established connections keep the
   * old one. Throws (and keeps the current one) if the pair cannot serve.
   */
  setCertificate(pair: KeyPair): CertificateInfo {
    const info = inspectKeyPair(pair);
    this.#server?.setSecureContext({ ...TLS_CONTEXT, cert: pair.cert, key: pair.key });
    const previous = this.#certificate?.serialNumber;
    this.#certificate = info;
    if (previous !== undefined) {
      this.#log.info(
        { serial: info.serialNumber, previous, validTo: info.validTo },
        'serving certificate replaced',
      );
    }
    return info;
  }

  /**
   * Stops accepting connections, lets in-flight requests finish (up to `shutdownTimeoutMs`), then
   * closes every connection. Idempotent.
   */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #listen(): Promise<void> {
    if (this.#stopping) throw new Error('the webhook server was stopped; create a new one');
    let pair: KeyPair;
    if (this.#options.tls) {
      pair = this.#options.tls;
    } else if (this.#options.certDir !== undefined) {
      this.#watcher = new CertWatcher({
        dir: this.#options.certDir,
        ...(this.#options.certName !== undefined && { certName: this.#options.certName }),
        ...(this.#options.keyName !== undefined && { keyName: this.#options.keyName }),
        ...(this.#options.certReloadDebounceMs !== undefined && {
          debounceMs: this.#options.certReloadDebounceMs,
        }),
        log: this.#log,
        onChange: (next) => {
          try {
            this.setCertificate(next);
          } catch (err) {
            this.#log.error({ reason: errorMessage(err) }, 'the new serving certificate was refused');
          }
        },
      });
      pair = (await this.#watcher.load()).pair;
    } else {
      throw new Error(
        'WebhookServer needs a serving certificate: set certDir (with tls.crt and tls.key) or tls',
      );
    }
    this.#certificate = inspectKeyPair(pair);

    const keepAliveTimeout = this.#options.keepAliveTimeoutMs ?? DEFAULT_KEEP_ALIVE_TIMEOUT_MS;
    // Node counts headersTimeout from a request's first byte, not from an idle connection's last
    // request, so it can be short. requestTimeout is a backstop: our own timer answers first.
    const headersTimeout = this.#options.headersTimeoutMs ?? DEFAULT_HEADERS_TIMEOUT_MS;
    const server = createServer({
      ...TLS_CONTEXT,
      cert: pair.cert,
      key: pair.key,
      // HTTP/1.1 only, as controller-runtime does by default since the HTTP/2 Rapid Reset CVE (CVE-2023-44487).
      ALPNProtocols: ['http/1.1'],
      keepAliveTimeout,
      headersTimeout,
      requestTimeout: Math.max(headersTimeout, this.#requestTimeoutMs + 1_000),
      // Node checks both timeouts this often (default 30 s, which would stretch them).
      connectionsCheckingInterval: Math.min(1_000, headersTimeout),
      noDelay: true,
    });
    server.maxConnections = this.#options.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
    server.on('drop', () =>
      this.#log.debug({ maxConnections: server.maxConnections }, 'connection refused: too many open'),
    );
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      try {
        this.#onRequest(req, res);
      } catch (err) {
        this.#internalError({ path: req.url ?? '', label: 'unmatched', started: 0, req, res }, err);
      }
    });
    server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) =>
      this.#onClientError(err, socket),
    );
    server.on('tlsClientError', (err: NodeJS.ErrnoException) => {
      // A client that does not trust us (a stale caBundle) shows up here, as "unknown ca".
      this.#log.warn({ code: err.code, reason: err.message }, 'TLS handshake failed');
    });
    await new Promise<void>((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException): void => {
        reject(
          new Error(
            `the webhook server cannot listen on ${this.#options.host ?? '127.0.0.1'}:${this.#options.port ?? 9443}: ${err.message}`,
            { cause: err },
          ),
        );
      };
      server.once('error', onError);
      server.listen(this.#options.port ?? 9443, this.#options.host ?? '127.0.0.1', () => {
        server.off('error', onError);
        resolve();
      });
    });
    server.on('error', (err) => this.#log.error({ err }, 'webhook server error'));
    this.#server = server;
    this.#port = (server.address() as { port: number }).port;
    this.#watcher?.start();
    this.#log.info(
      { port: this.#port, paths: this.paths, serial: this.#certificate.serialNumber },
      'webhook server listening',
    );
  }

  async #stop(): Promise<void> {
    this.#watcher?.stop();
    const server = this.#server;
    if (!server) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    if (this.#inFlight > 0) {
      const drained = new Promise<void>((resolve) => (this.#drained = resolve));
      const timeoutMs = this.#options.shutdownTimeoutMs ?? 30_000;
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<'timeout'>(
        (resolve) => (timer = setTimeout(resolve, timeoutMs, 'timeout')),
      );
      if ((await Promise.race([drained, timedOut])) === 'timeout') {
        this.#log.warn(
          { inFlight: this.#inFlight, timeoutMs },
          'shutdown timed out waiting for admission requests',
        );
      }
      clearTimeout(timer);
    }
    server.closeAllConnections();
    await closed;
    this.#port = undefined;
    this.#log.info('webhook server stopped');
  }

  #onClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
    // Malformed HTTP (or a request that never completed): answer if we still can, then hang up.
    if (err.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const code =
      err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
    const message =
      code === 431
        ? 'the request headers are too large'
        : code === 408
          ? 'the request did not arrive in time'
          : `the request is not valid HTTP/1.1 (${err.code ?? 'parse error'})`;
    const body = statusBody(code, message);
    socket.end(
      `HTTP/1.1 ${code} ${statusReason(code)}\r\ncontent-type: ${JSON_TYPE}\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
    );
  }

  #onRequest(req: IncomingMessage, res: ServerResponse): void {
    const rawUrl = req.url ?? '/';
    const q = rawUrl.indexOf('?');
    const path = q === -1 ? rawUrl : rawUrl.slice(0, q);
    const handler = this.#handlers.get(path);
    const ex: Exchange = { path, label: handler ? path : 'unmatched', started: performance.now(), req, res };

    const overBudget = this.#inFlight >= this.#maxInFlight;
    this.#inFlight++;
    this.#metrics?.inFlight.inc({ webhook: ex.label });
    res.once('close', () => {
      this.#metrics?.inFlight.dec({ webhook: ex.label });
      this.#metrics?.requestsTotal.inc({ webhook: ex.label, code: String(res.statusCode) });
      this.#metrics?.latency.observe({ webhook: ex.label }, (performance.now() - ex.started) / 1000);
      if (--this.#inFlight === 0 && this.#drained) this.#drained();
    });
    if (this.#stopping) res.setHeader('connection', 'close');

    if (overBudget) return this.#tooMany(ex);
    if (!handler) {
      const known = this.paths.length ? this.paths.join(', ') : 'none';
      return this.#reject(ex, 404, `no admission webhook is served at ${path} (served paths: ${known})`);
    }
    if (req.method !== 'POST') {
      res.setHeader('allow', 'POST');
      return this.#reject(ex, 405, `method ${req.method ?? ''} is not allowed: admission reviews are POSTed`);
    }
    const contentType = req.headers['content-type'];
    const mediaType = contentType?.split(';', 1)[0]?.trim().toLowerCase();
    if (mediaType !== JSON_TYPE) {
      return this.#reject(
        ex,
        415,
        contentType === undefined
          ? `the request has no Content-Type: expected ${JSON_TYPE}`
          : `Content-Type ${contentType} is not supported: expected ${JSON_TYPE}`,
      );
    }
    const declared = Number(req.headers['content-length'] ?? NaN);
    if (declared > this.#maxBodyBytes) return this.#tooLarge(ex);
    this.#readBody(ex, handler);
  }

  #readBody(ex: Exchange, handler: AdmissionHandler): void {
    const { req } = ex;
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const timer = setTimeout(() => {
      if (done) return;
      done = true;
      req.off('data', onData);
      ex.res.setHeader('connection', 'close');
      this.#reject(ex, 408, `the request body did not arrive within ${this.#requestTimeoutMs} ms`);
    }, this.#requestTimeoutMs);
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > this.#maxBodyBytes) {
        done = true;
        clearTimeout(timer);
        req.off('data', onData);
        chunks.length = 0;
        this.#tooLarge(ex);
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => {
      if (done) return;
      done = true;
      const body = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size);
      this.#review(ex, handler, body, timer).catch((err: unknown) => this.#internalError(ex, err));
    });
    req.once('error', () => {
      done = true;
      clearTimeout(timer);
    });
  }

  async #review(
    ex: Exchange,
    handler: AdmissionHandler,
    body: Buffer,
    bodyTimer: NodeJS.Timeout,
  ): Promise<void> {
    clearTimeout(bodyTimer);
    if (body.length === 0) {
      return this.#reject(
        ex,
        400,
        `the request body is empty: expected an AdmissionReview ${ADMISSION_API_VERSION}`,
      );
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch (err) {
      return this.#reject(
        ex,
        400,
        `${jsonProblem(err)}: expected an AdmissionReview ${ADMISSION_API_VERSION}`,
      );
    }
    const problem = reviewProblem(parsed);
    if (problem !== undefined) {
      return this.#reject(
        ex,
        400,
        `the request body is not an AdmissionReview ${ADMISSION_API_VERSION}: ${problem}`,
      );
    }
    const request = (parsed as AdmissionReview).request as AdmissionRequest;

    // What is left of the request's deadline bounds the handler: then it is answered as failed
    // and its signal aborts. So does the API server hanging up.
    const abort = new AbortController();
    let deadline: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      const remaining = this.#requestTimeoutMs - (performance.now() - ex.started);
      deadline = setTimeout(
        () => {
          abort.abort(new Error(`the admission request timed out after ${this.#requestTimeoutMs} ms`));
          resolve('timeout');
        },
        Math.max(0, remaining),
      );
    });
    ex.res.once('close', () => {
      clearTimeout(deadline);
      if (!ex.res.writableFinished) abort.abort(new Error('the API server closed the connection'));
    });

    const warnings: string[] = [];
    const auditAnnotations: Record<string, string> = {};
    const log = this.#log;
    let requestLog: Logger | undefined;
    const ctx: AdmissionContext = {
      request,
      path: ex.path,
      get log() {
        requestLog ??= log.child({
          uid: request.uid,
          webhook: ex.path,
          kind: request.kind?.kind,
          namespace: request.namespace,
          name: request.name,
          operation: request.operation,
        });
        return requestLog;
      },
      signal: abort.signal,
      warn: (message) => void warnings.push(message),
      auditAnnotation: (key, value) => void (auditAnnotations[key] = value),
    };

    let result: AdmissionResult;
    try {
      const outcome = await Promise.race([handler.handle(ctx), timedOut]);
      if (outcome === 'timeout') {
        result = this.#failed(ex.path, `did not answer within ${this.#requestTimeoutMs} ms`);
        ctx.log.error({ timeoutMs: this.#requestTimeoutMs }, 'admission handler timed out');
      } else {
        result = outcome;
      }
    } catch (err) {
      result = this.#failed(ex.path, `failed: ${errorMessage(err)}`);
      // The message and stack only: a thrown value's other properties may carry object content.
      ctx.log.error(
        { reason: errorMessage(err), stack: err instanceof Error ? err.stack : undefined },
        'admission handler failed',
      );
    } finally {
      clearTimeout(deadline);
    }
    if (ex.res.destroyed) return;

    let answer: { text: string; response: AdmissionResponse };
    try {
      answer = encodeReview(request.uid, result, warnings, auditAnnotations);
    } catch (err) {
      // A patch or warning that JSON cannot carry (a BigInt, a cycle) is the handler's failure.
      result = this.#failed(ex.path, `returned a result that is not JSON: ${errorMessage(err)}`);
      ctx.log.error({ reason: errorMessage(err) }, 'admission handler result cannot be encoded');
      answer = encodeReview(request.uid, result, [], {});
    }
    const { response } = answer;
    this.#send(ex, 200, answer.text);
    if (log.isLevelEnabled('debug')) {
      ctx.log.debug(
        {
          allowed: response.allowed,
          code: response.status?.code,
          patched: response.patch !== undefined,
          ms: Math.round((performance.now() - ex.started) * 100) / 100,
        },
        'admission request answered',
      );
    }
  }

  /** A bug of ours: log it, answer 500 if nothing was sent yet, and keep serving. */
  #internalError(ex: Exchange, err: unknown): void {
    this.#log.error(
      { webhook: ex.path, reason: errorMessage(err), stack: err instanceof Error ? err.stack : undefined },
      'webhook server error',
    );
    const { res } = ex;
    if (res.headersSent || res.destroyed) return;
    const body = JSON.stringify({
      apiVersion: 'v1',
      kind: 'Status',
      status: 'Failure',
      code: 500,
      reason: 'InternalError',
      message: `the webhook server failed to answer: ${errorMessage(err)}`,
    });
    res.writeHead(500, { 'content-type': JSON_TYPE, 'content-length': Buffer.byteLength(body) });
    res.end(body);
  }

  #failed(path: string, what: string): AdmissionResult {
    return {
      allowed: false,
      status: { code: 500, reason: 'InternalError', message: `admission webhook handler ${path} ${what}` },
    };
  }

  /** 429 before reading the body: the API server counts it a failed call (its failurePolicy decides). */
  #tooMany(ex: Exchange): void {
    ex.res.setHeader('retry-after', '1');
    ex.res.setHeader('connection', 'close');
    this.#log.debug(
      { webhook: ex.path, maxInFlight: this.#maxInFlight },
      'admission request refused: too many in flight',
    );
    this.#reject(ex, 429, `more than ${this.#maxInFlight} admission requests are in flight: retry`);
    ex.req.resume();
  }

  /** 413 without reading the rest: close the connection once the answer is out. */
  #tooLarge(ex: Exchange): void {
    const { req, res } = ex;
    res.setHeader('connection', 'close');
    this.#reject(ex, 413, `the request body is larger than ${this.#maxBodyBytes} bytes`);
    // Discard what is still in flight instead of buffering it, then hang up: a client that keeps
    // sending after the answer would otherwise hold the connection open.
    req.resume();
    res.once('finish', () => setTimeout(() => req.socket.destroy(), 1_000).unref());
  }

  #reject(ex: Exchange, code: number, message: string): void {
    this.#log.debug(
      { webhook: ex.path, method: ex.req.method, code, reason: message },
      'admission request refused',
    );
    this.#send(ex, code, statusBody(code, message));
  }

  #send(ex: Exchange, code: number, body: string): void {
    const { res } = ex;
    if (res.headersSent || res.destroyed) return;
    res.writeHead(code, { 'content-type': JSON_TYPE, 'content-length': Buffer.byteLength(body) });
    res.end(body);
  }
}
