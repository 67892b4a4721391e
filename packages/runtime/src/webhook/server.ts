// The admission webhook server: HTTPS (HTTP/1.1 only), one handler per path, AdmissionReview v1 in
// and out. Every replica serves it (it needs no leadership); handlers answer from memory.
//
// Malformed input never crashes it and always gets a JSON answer that says what was wrong: a
// `metav1.Status` with a 4xx code for requests that are not admission reviews (the API server puts
// its message in the error it reports), and an AdmissionReview denial with code 500 when a handler
// fails (naming the path and the error, never the object: it may be a Secret).
//
// The parts: request limits and the checks before a body is read (request-limits.ts), the review
// through its handler (review.ts), answers (exchange.ts), the wire format (review-codec.ts). This
// file routes, counts what is in flight, serves TLS (a certificate that may be swapped or reloaded)
// and stops gracefully.

import { once } from 'node:events';
import { createServer } from 'node:https';
import type { Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { InFlightRequests, closeGracefully, errorMessage } from '@bindery/kube';
import { pino } from 'pino';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { CertWatcher, inspectKeyPair } from './cert-watcher.ts';
import type { CertificateInfo, KeyPair } from './cert-watcher.ts';
import { answerClientError, internalError, reject } from './exchange.ts';
import type { Exchange } from './exchange.ts';
import type { AdmissionHandler } from './handlers.ts';
import { webhookMetrics } from './metrics.ts';
import type { WebhookMetrics } from './metrics.ts';
import {
  DEFAULT_HEADERS_TIMEOUT_MS,
  DEFAULT_KEEP_ALIVE_TIMEOUT_MS,
  DEFAULT_MAX_BODY_BYTES,
  DEFAULT_MAX_CONNECTIONS,
  DEFAULT_MAX_IN_FLIGHT,
  readReviewBody,
  tooMany,
} from './request-limits.ts';
import type { RequestLimits } from './request-limits.ts';
import { serveReview } from './review.ts';

export {
  DEFAULT_HEADERS_TIMEOUT_MS,
  DEFAULT_KEEP_ALIVE_TIMEOUT_MS,
  DEFAULT_MAX_BODY_BYTES,
  DEFAULT_MAX_CONNECTIONS,
  DEFAULT_MAX_IN_FLIGHT,
} from './request-limits.ts';

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
  readonly #limits: RequestLimits;
  readonly #maxInFlight: number;
  readonly #inFlight = new InFlightRequests();
  #server: Server | undefined;
  #watcher: CertWatcher | undefined;
  #certificate: CertificateInfo | undefined;
  #port: number | undefined;
  #listening: Promise<void> | undefined;
  #stopping: Promise<void> | undefined;

  constructor(options: WebhookServerOptions = {}) {
    if (options.certDir !== undefined && options.tls !== undefined) {
      throw new Error('WebhookServer: set certDir or tls, not both');
    }
    this.#options = options;
    this.#log = options.log ?? pino({ name: 'webhook-server' });
    this.#metrics = options.registry ? webhookMetrics(options.registry) : undefined;
    this.#limits = {
      maxBodyBytes: options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
      requestTimeoutMs: options.requestTimeoutMs ?? 30_000,
    };
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
      requestTimeout: Math.max(headersTimeout, this.#limits.requestTimeoutMs + 1_000),
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
        internalError(this.#log, { path: req.url ?? '', label: 'unmatched', started: 0, req, res }, err);
      }
    });
    server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => answerClientError(err, socket));
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
    await closeGracefully(server, {
      inFlight: this.#inFlight,
      timeoutMs: this.#options.shutdownTimeoutMs,
      onTimeout: (left) => this.#log.warn(left, 'shutdown timed out waiting for admission requests'),
    });
    this.#port = undefined;
    this.#log.info('webhook server stopped');
  }

  #onRequest(req: IncomingMessage, res: ServerResponse): void {
    const rawUrl = req.url ?? '/';
    const q = rawUrl.indexOf('?');
    const path = q === -1 ? rawUrl : rawUrl.slice(0, q);
    const handler = this.#handlers.get(path);
    const ex: Exchange = { path, label: handler ? path : 'unmatched', started: performance.now(), req, res };

    const overBudget = this.#inFlight.count >= this.#maxInFlight;
    this.#inFlight.enter();
    this.#metrics?.inFlight.inc({ webhook: ex.label });
    res.once('close', () => {
      this.#metrics?.inFlight.dec({ webhook: ex.label });
      this.#metrics?.requestsTotal.inc({ webhook: ex.label, code: String(res.statusCode) });
      this.#metrics?.latency.observe({ webhook: ex.label }, (performance.now() - ex.started) / 1000);
      this.#inFlight.leave();
    });
    if (this.#stopping) res.setHeader('connection', 'close');

    if (overBudget) return tooMany(this.#log, ex, this.#maxInFlight);
    if (!handler) {
      const known = this.paths.length ? this.paths.join(', ') : 'none';
      return reject(this.#log, ex, 404, `no admission webhook is served at ${path} (served paths: ${known})`);
    }
    const review = { log: this.#log, requestTimeoutMs: this.#limits.requestTimeoutMs };
    readReviewBody(this.#log, ex, this.#limits, (body) => {
      serveReview(ex, handler, body, review).catch((err: unknown) => internalError(this.#log, ex, err));
    });
  }
}
