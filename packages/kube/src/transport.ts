import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Agent, IncomingHttpHeaders } from 'node:http';
import { Authenticator } from './credentials.ts';
import type { Credentials } from './credentials.ts';
import { StatusError, asStatus } from './errors.ts';
import { exchange, newAgent, readText, retireAgent, splitLines } from './http-exchange.ts';
import type { ExchangeResponse } from './http-exchange.ts';
import { retryDelay } from './retry-policy.ts';
import type { ClusterConfig, KubeConfig } from './kubeconfig.ts';
import type { Status } from './errors.ts';

export type QueryValue = string | number | boolean | undefined;

export interface RequestOptions {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Absolute API path, e.g. `/api/v1/namespaces/default/configmaps`. */
  path: string;
  query?: Record<string, QueryValue>;
  /** Sent as JSON. */
  body?: unknown;
  contentType?: string;
  accept?: string;
  signal?: AbortSignal | undefined;
}

export interface Response {
  status: number;
  body: unknown;
}

export interface TransportOptions {
  kubeConfig: KubeConfig;
  userAgent?: string;
  /** Attempts for a request answered 429/5xx or lost to a connection error (default 5). */
  maxAttempts?: number;
  /** First retry delay in ms, doubled per attempt up to 5 s (default 100). */
  retryBaseDelayMs?: number;
  /** Token and certificate files are read again after this long (default 10 s), and at once on a 401. */
  credentialsRefreshMs?: number;
  /** A request whose response headers have not come after this long fails (default 60 s). A watch's body has no timeout. */
  headersTimeoutMs?: number;
  /** A connection not established after this long fails, before anything was sent (default 10 s). */
  connectTimeoutMs?: number;
}

interface Pool {
  agent: Promise<Agent>;
  /** The client certificate it connects with. */
  identity: string;
}

/**
 * Raw JSON over one keep-alive `node:https` Agent per cluster and user. Objects are never run through a
 * typed serializer, so unknown fields and timestamps arrive exactly as the server sent them.
 */
export class Transport {
  readonly server: URL;
  readonly #cluster: ClusterConfig;
  readonly #auth: Authenticator;
  readonly #userAgent: string;
  readonly #maxAttempts: number;
  readonly #retryBaseDelayMs: number;
  readonly #headersTimeoutMs: number;
  readonly #connectTimeoutMs: number;
  #pool: Pool | undefined;
  /** Pools replaced after a certificate rotation, still draining their requests (watches). */
  readonly #retired = new Set<Promise<Agent>>();

  constructor(options: TransportOptions) {
    const { cluster, user } = options.kubeConfig.resolve();
    if (cluster['proxy-url']) {
      throw new Error(
        `${options.kubeConfig.source}: proxy-url is not supported (connect to ${cluster.server} directly)`,
      );
    }
    try {
      this.server = new URL(cluster.server);
    } catch {
      throw new Error(`${options.kubeConfig.source}: server "${cluster.server}" is not a URL`);
    }
    this.#cluster = cluster;
    this.#auth = new Authenticator({
      user,
      cluster,
      ...(options.credentialsRefreshMs !== undefined && { refreshMs: options.credentialsRefreshMs }),
    });
    this.#userAgent = options.userAgent ?? `bindery/0.1.0 node/${process.versions.node}`;
    this.#maxAttempts = options.maxAttempts ?? 5;
    this.#retryBaseDelayMs = options.retryBaseDelayMs ?? 100;
    this.#headersTimeoutMs = options.headersTimeoutMs ?? 60_000;
    this.#connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
    if (this.server.protocol !== 'https:' && this.server.protocol !== 'http:') {
      throw new Error(
        `${options.kubeConfig.source}: server "${cluster.server}" is neither https:// nor http://`,
      );
    }
  }

  /** One request, retried on throttling, server errors, and connection failures. */
  async request(options: RequestOptions): Promise<Response> {
    for (let attempt = 1; ; attempt++) {
      try {
        const res = await this.#send(options);
        const body = parseBody(await readText(res.body));
        if (res.statusCode < 400) return { status: res.statusCode, body };
        throw statusError(options, res.statusCode, body, res.headers);
      } catch (err) {
        const delay = options.signal?.aborted
          ? undefined
          : retryDelay({
              method: options.method,
              err,
              attempt,
              maxAttempts: this.#maxAttempts,
              baseDelayMs: this.#retryBaseDelayMs,
            });
        if (delay === undefined) throw err;
        await sleep(delay, undefined, { signal: options.signal }).catch(() => {
          throw options.signal?.reason ?? err;
        });
      }
    }
  }

  /**
   * Opens a streaming response (a watch) and yields its lines. Errors before the
   * stream starts are thrown as StatusError; the stream ends when the server closes
   * it or the signal aborts.
   */
  async stream(options: RequestOptions): Promise<AsyncIterable<string>> {
    const res = await this.#send(options);
    if (res.statusCode >= 400) {
      throw statusError(options, res.statusCode, parseBody(await readText(res.body)), res.headers);
    }
    return splitLines(res.body);
  }

  /** Closes every connection, aborting requests in flight (watches would otherwise hold it open for minutes). */
  async close(): Promise<void> {
    const agents = [...this.#retired, ...(this.#pool ? [this.#pool.agent] : [])];
    this.#pool = undefined;
    this.#retired.clear();
    await Promise.all(agents.map(async (a) => (await a.catch(() => undefined))?.destroy()));
  }

  async #send(options: RequestOptions, reauthenticated = false): Promise<ExchangeResponse> {
    const credentials = await this.#auth.credentials();
    const agent = await this.#agentFor(credentials);
    const headers: Record<string, string | string[] | number> = {
      ...credentials.headers,
      'user-agent': this.#userAgent,
      accept: options.accept ?? 'application/json',
    };
    let body: string | undefined;
    if (options.body !== undefined) {
      body = JSON.stringify(options.body);
      headers['content-type'] = options.contentType ?? 'application/json';
      headers['content-length'] = Buffer.byteLength(body);
    }
    const res = await exchange(this.url(options.path, options.query), {
      agent,
      method: options.method,
      headers,
      body,
      signal: options.signal,
      connectTimeoutMs: this.#connectTimeoutMs,
      headersTimeoutMs: this.#headersTimeoutMs,
    });
    if (res.statusCode === 401 && !reauthenticated) {
      // A rotated token: read credentials again once before giving up.
      await readText(res.body);
      this.#auth.invalidate();
      return this.#send(options, true);
    }
    return res;
  }

  url(path: string, query?: Record<string, QueryValue>): URL {
    const url = new URL(this.server.pathname.replace(/\/$/, '') + path, this.server);
    for (const [key, value] of Object.entries(query ?? {})) {
      if (value !== undefined && value !== '') url.searchParams.set(key, String(value));
    }
    return url;
  }

  /** The pool for the current client certificate; a rotated one gets a new pool, the old one drains. */
  #agentFor(credentials: Credentials): Promise<Agent> {
    const identity = `${credentials.cert ?? ''}\n${credentials.key ?? ''}`;
    const pool = this.#pool;
    if (pool?.identity === identity) return pool.agent;
    if (pool) {
      this.#retired.add(pool.agent);
      pool.agent.then(
        (a) => retireAgent(a, () => this.#retired.delete(pool.agent)),
        () => this.#retired.delete(pool.agent),
      );
    }
    const agent = this.#newAgent(credentials);
    this.#pool = { agent, identity };
    agent.catch(() => {
      if (this.#pool?.agent === agent) this.#pool = undefined;
    });
    return agent;
  }

  async #newAgent(credentials: Credentials): Promise<Agent> {
    const c = this.#cluster;
    const caFile = c['certificate-authority'];
    let ca: string | undefined;
    try {
      ca = caFile ? await readFile(caFile, 'utf8') : undefined;
    } catch (err) {
      throw new Error(`kubeconfig: certificate-authority ${caFile}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    const caData = c['certificate-authority-data'];
    if (ca === undefined && caData) ca = Buffer.from(caData, 'base64').toString('utf8');
    // HTTP/1.1 only (node:https speaks nothing else): with h2 every request shares one
    // connection, and a half-open one (no RST ever comes) hangs them all. Here a stuck
    // connection holds one request, and aborting it (the watch idle timer, a caller's signal,
    // the headers timeout) replaces it.
    return newAgent(this.server.protocol, {
      ...(ca !== undefined && { ca }),
      ...(credentials.cert !== undefined && { cert: credentials.cert, key: credentials.key }),
      ...(c['tls-server-name'] && { servername: c['tls-server-name'] }),
      ...(c['insecure-skip-tls-verify'] && { rejectUnauthorized: false }),
    });
  }
}

function statusError(
  options: RequestOptions,
  code: number,
  body: unknown,
  headers: IncomingHttpHeaders,
): StatusError {
  const status: Status = asStatus(body) ?? (typeof body === 'string' ? { message: body.slice(0, 500) } : {});
  const retryAfter = Number(headers['retry-after']);
  if (status.details?.retryAfterSeconds === undefined && Number.isFinite(retryAfter) && retryAfter > 0) {
    status.details = { ...status.details, retryAfterSeconds: retryAfter };
  }
  const query = new URLSearchParams(
    Object.entries(options.query ?? {}).flatMap(([k, v]): Array<[string, string]> =>
      v === undefined || v === '' ? [] : [[k, String(v)]],
    ),
  ).toString();
  return new StatusError({
    code,
    status,
    request: `${options.method} ${options.path}${query ? `?${query}` : ''}`,
  });
}

function parseBody(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
