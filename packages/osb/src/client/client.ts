// An OSB 2.17 client on undici (loaded at the first request): one connection pool per broker, every endpoint, the headers the
// spec asks for on every request, a timeout per request and a bound on what a broker can make us
// read. It never retries a request that changes anything: whether to send it again, or a DELETE to
// mitigate an orphan, is the controller's decision from the table. Only reads (GET) are tried again,
// and only when the connection was never made.
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type * as Undici from 'undici';
import type { Agent, Dispatcher } from 'undici';
import { errorMessage, isObject } from '@bindery/kube';
import { parseRetryAfter } from '../operations/polling.ts';
import {
  OsbHttpError,
  OsbMalformedResponseError,
  OsbTimeoutError,
  OsbUnreachableError,
  isConnectFailure,
} from './errors.ts';
import type {
  AsyncOperationResponse,
  BindRequest,
  BindResponse,
  BindingLastOperationRequest,
  Catalog,
  DeprovisionRequest,
  GetBindingRequest,
  GetBindingResponse,
  GetInstanceRequest,
  GetInstanceResponse,
  InstanceLastOperationRequest,
  LastOperationResponse,
  ProvisionRequest,
  ProvisionResponse,
  UnbindRequest,
  UpdateRequest,
  UpdateResponse,
} from './types.ts';
import {
  apiVersionHeader,
  originatingIdentityHeader,
  osbApiVersion,
  requestIdentityHeader,
} from './types.ts';
import type { Check } from './validate.ts';
import * as check from './validate.ts';

export type BrokerAuth = { basic: { username: string; password: string } } | { bearer: { token: string } };

// undici is loaded with the first request to a broker, so a manager without the OSB platform
// (`bindery manager` without `--osb`) never pays for it: 28 MiB of RSS (docs/benchmarks.md).
let undici: Promise<typeof Undici> | undefined;
const loadUndici = (): Promise<typeof Undici> => (undici ??= import('undici'));

export interface OsbClientOptions {
  /** The broker's base URL; requests go to `<url>/v2/...`. */
  url: string;
  auth?: BrokerAuth;
  /** PEM certificates that verify the broker (instead of the system's roots). */
  caBundle?: string;
  /** Accept any broker certificate. Mutually exclusive with `caBundle`. */
  insecureSkipTLSVerify?: boolean;
  /** Per request, headers and body together. Default 60 s (Service Catalog's `--osb-api-request-timeout`). */
  timeoutMs?: number;
  /** The largest response body read. Default 4 MiB (a large catalog with plan schemas fits). */
  maxResponseBytes?: number;
  /** `X-Broker-API-Version`. Default 2.17. */
  apiVersion?: string;
  userAgent?: string;
  /** Attempts of a GET whose connection could not be made. Default 3. */
  maxGetAttempts?: number;
}

export interface OsbRequestOptions {
  signal?: AbortSignal;
  /** The `X-Broker-API-Originating-Identity` value (`kubernetes <base64 JSON>`); omitted when absent. */
  originatingIdentity?: string | undefined;
  /** The `X-Broker-API-Request-Identity`; a new UUID when absent. */
  requestIdentity?: string;
  /** Overrides the client's timeout for this request. */
  timeoutMs?: number;
}

export interface OsbResponse<T> {
  /** One of the success statuses the endpoint defines. */
  status: number;
  body: T;
  /** From `Retry-After` (delta-seconds or HTTP-date), in ms from when the answer arrived. */
  retryAfterMs?: number;
  /** The `X-Broker-API-Request-Identity` sent. */
  requestIdentity: string;
}

interface Call {
  method: 'GET' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  query?: Record<string, string | undefined>;
  body?: unknown;
  /** Success statuses and the check of their bodies; `undefined` accepts any body (read as `{}`). */
  ok: Record<number, Check | undefined>;
}

const defaultTimeoutMs = 60_000;
const defaultMaxResponseBytes = 4 * 1024 * 1024;

const instancePath = (id: string): string => `/v2/service_instances/${encodeURIComponent(id)}`;
const bindingPath = (instanceId: string, bindingId: string): string =>
  `${instancePath(instanceId)}/service_bindings/${encodeURIComponent(bindingId)}`;

export class OsbClient {
  readonly url: URL;
  readonly #headers: Record<string, string>;
  readonly #timeoutMs: number;
  readonly #maxResponseBytes: number;
  readonly #maxGetAttempts: number;
  readonly #agentOptions: Agent.Options;
  #agent: Promise<Agent> | undefined;

  constructor(options: OsbClientOptions) {
    this.url = new URL(options.url);
    if (this.url.protocol !== 'https:' && this.url.protocol !== 'http:') {
      throw new Error(`broker url must be http or https, not ${this.url.protocol}`);
    }
    if (options.caBundle !== undefined && options.insecureSkipTLSVerify === true) {
      throw new Error('caBundle and insecureSkipTLSVerify are mutually exclusive');
    }
    this.#timeoutMs = options.timeoutMs ?? defaultTimeoutMs;
    this.#maxResponseBytes = options.maxResponseBytes ?? defaultMaxResponseBytes;
    this.#maxGetAttempts = Math.max(1, options.maxGetAttempts ?? 3);
    this.#headers = {
      accept: 'application/json',
      'user-agent': options.userAgent ?? `bindery-osb/0.1.0 node/${process.versions.node}`,
      [apiVersionHeader]: options.apiVersion ?? osbApiVersion,
      ...authHeader(options.auth),
    };
    this.#agentOptions = {
      connect: {
        ...(options.caBundle !== undefined && { ca: options.caBundle }),
        ...(options.insecureSkipTLSVerify === true && { rejectUnauthorized: false }),
      },
      allowH2: false,
      keepAliveTimeout: 30_000,
      headersTimeout: this.#timeoutMs,
      bodyTimeout: this.#timeoutMs,
    };
  }

  /** Closes the connections once the requests in flight have their answers (or time out). */
  async close(): Promise<void> {
    await (await this.#agent)?.close();
  }

  /** Closes the connections now, aborting requests in flight. */
  async destroy(): Promise<void> {
    await (await this.#agent)?.destroy();
  }

  /** The pool, made at the first request. */
  #dispatcher(): Promise<Agent> {
    return (this.#agent ??= loadUndici().then(({ Agent }) => new Agent(this.#agentOptions)));
  }

  catalog(options?: OsbRequestOptions): Promise<OsbResponse<Catalog>> {
    return this.#call<Catalog>(
      { method: 'GET', path: '/v2/catalog', ok: { 200: check.checkCatalog } },
      options,
    );
  }

  /** `accepts_incomplete=true` unless `acceptsIncomplete` is false: the platform can poll. */
  provision(
    req: ProvisionRequest & { acceptsIncomplete?: boolean },
    options?: OsbRequestOptions,
  ): Promise<OsbResponse<ProvisionResponse>> {
    const c = check.checkInstanceResponse;
    return this.#call(
      {
        method: 'PUT',
        path: instancePath(req.instanceId),
        query: { accepts_incomplete: String(req.acceptsIncomplete ?? true) },
        body: req.body,
        ok: { 200: c, 201: c, 202: c },
      },
      options,
    );
  }

  update(
    req: UpdateRequest & { acceptsIncomplete?: boolean },
    options?: OsbRequestOptions,
  ): Promise<OsbResponse<UpdateResponse>> {
    const c = check.checkInstanceResponse;
    return this.#call(
      {
        method: 'PATCH',
        path: instancePath(req.instanceId),
        query: { accepts_incomplete: String(req.acceptsIncomplete ?? true) },
        body: req.body,
        ok: { 200: c, 202: c },
      },
      options,
    );
  }

  /** 410 (the instance does not exist) is returned, not thrown: for a delete it means done. */
  deprovision(
    req: DeprovisionRequest & { acceptsIncomplete?: boolean },
    options?: OsbRequestOptions,
  ): Promise<OsbResponse<AsyncOperationResponse>> {
    return this.#call(
      {
        method: 'DELETE',
        path: instancePath(req.instanceId),
        query: {
          service_id: req.serviceId,
          plan_id: req.planId,
          accepts_incomplete: String(req.acceptsIncomplete ?? true),
        },
        ok: { 200: undefined, 202: check.checkAsyncOperation, 410: undefined },
      },
      options,
    );
  }

  /** A 410 is thrown (`OsbHttpError`): after an async deprovision it means the instance is gone. */
  instanceLastOperation(
    req: InstanceLastOperationRequest,
    options?: OsbRequestOptions,
  ): Promise<OsbResponse<LastOperationResponse>> {
    return this.#call(
      {
        method: 'GET',
        path: `${instancePath(req.instanceId)}/last_operation`,
        query: { operation: req.operation, service_id: req.serviceId, plan_id: req.planId },
        ok: { 200: check.checkLastOperation },
      },
      options,
    );
  }

  getInstance(
    req: GetInstanceRequest,
    options?: OsbRequestOptions,
  ): Promise<OsbResponse<GetInstanceResponse>> {
    return this.#call(
      {
        method: 'GET',
        path: instancePath(req.instanceId),
        query: { service_id: req.serviceId, plan_id: req.planId },
        ok: { 200: check.checkGetInstance },
      },
      options,
    );
  }

  /** `accepts_incomplete` is sent only when asked for: an async bind needs `bindings_retrievable`. */
  bind(
    req: BindRequest & { acceptsIncomplete?: boolean },
    options?: OsbRequestOptions,
  ): Promise<OsbResponse<BindResponse>> {
    const c = check.checkBindResponse;
    return this.#call(
      {
        method: 'PUT',
        path: bindingPath(req.instanceId, req.bindingId),
        query: { accepts_incomplete: req.acceptsIncomplete === true ? 'true' : undefined },
        body: req.body,
        ok: { 200: c, 201: c, 202: c },
      },
      options,
    );
  }

  /** 410 (the binding does not exist) is returned, not thrown. */
  unbind(
    req: UnbindRequest & { acceptsIncomplete?: boolean },
    options?: OsbRequestOptions,
  ): Promise<OsbResponse<AsyncOperationResponse>> {
    return this.#call(
      {
        method: 'DELETE',
        path: bindingPath(req.instanceId, req.bindingId),
        query: {
          service_id: req.serviceId,
          plan_id: req.planId,
          accepts_incomplete: req.acceptsIncomplete === true ? 'true' : undefined,
        },
        ok: { 200: undefined, 202: check.checkAsyncOperation, 410: undefined },
      },
      options,
    );
  }

  bindingLastOperation(
    req: BindingLastOperationRequest,
    options?: OsbRequestOptions,
  ): Promise<OsbResponse<LastOperationResponse>> {
    return this.#call(
      {
        method: 'GET',
        path: `${bindingPath(req.instanceId, req.bindingId)}/last_operation`,
        query: { operation: req.operation, service_id: req.serviceId, plan_id: req.planId },
        ok: { 200: check.checkLastOperation },
      },
      options,
    );
  }

  getBinding(req: GetBindingRequest, options?: OsbRequestOptions): Promise<OsbResponse<GetBindingResponse>> {
    return this.#call(
      {
        method: 'GET',
        path: bindingPath(req.instanceId, req.bindingId),
        query: { service_id: req.serviceId, plan_id: req.planId },
        ok: { 200: check.checkGetBinding },
      },
      options,
    );
  }

  async #call<T>(call: Call, options: OsbRequestOptions = {}): Promise<OsbResponse<T>> {
    const attempts = call.method === 'GET' ? this.#maxGetAttempts : 1;
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#send<T>(call, options);
      } catch (err) {
        if (!(err instanceof OsbUnreachableError) || attempt >= attempts || options.signal?.aborted)
          throw err;
        await sleep(100 * 2 ** (attempt - 1), undefined, options.signal ? { signal: options.signal } : {});
      }
    }
  }

  async #send<T>(call: Call, options: OsbRequestOptions): Promise<OsbResponse<T>> {
    const url = this.#urlOf(call);
    const request = `${call.method} ${url.pathname}`;
    const requestIdentity = options.requestIdentity ?? randomUUID();
    const headers: Record<string, string> = { ...this.#headers, [requestIdentityHeader]: requestIdentity };
    if (options.originatingIdentity !== undefined)
      headers[originatingIdentityHeader] = options.originatingIdentity;
    let body: string | undefined;
    if (call.body !== undefined) {
      body = JSON.stringify(call.body);
      headers['content-type'] = 'application/json';
    }
    const timeout = AbortSignal.timeout(options.timeoutMs ?? this.#timeoutMs);
    const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;

    let res: Dispatcher.ResponseData;
    let text: string | undefined;
    try {
      const dispatcher = await this.#dispatcher();
      const { request: undiciRequest } = await loadUndici();
      res = await undiciRequest(url, {
        dispatcher,
        method: call.method,
        headers,
        ...(body !== undefined && { body }),
        signal,
      });
      text = await readLimited(res.body, this.#maxResponseBytes);
    } catch (err) {
      if (options.signal?.aborted) throw options.signal.reason ?? err;
      if (timeout.aborted) {
        throw new OsbTimeoutError(request, `no answer within ${options.timeoutMs ?? this.#timeoutMs} ms`, {
          cause: err,
        });
      }
      if (isConnectFailure(err))
        throw new OsbUnreachableError(request, `broker unreachable: ${describe(err)}`, { cause: err });
      throw new OsbTimeoutError(request, `connection lost before a complete answer: ${describe(err)}`, {
        cause: err,
      });
    }

    const status = res.statusCode;
    const retryAfterMs = parseRetryAfter(header(res.headers['retry-after']), Date.now());
    if (!(status in call.ok)) {
      throw new OsbHttpError({ request, status, retryAfterMs, ...errorFields(text) });
    }
    const checkBody = call.ok[status];
    if (text === undefined) {
      throw new OsbMalformedResponseError(request, status, `larger than ${this.#maxResponseBytes} bytes`);
    }
    let parsed: unknown = {};
    if (checkBody !== undefined) {
      try {
        parsed = JSON.parse(text);
      } catch {
        throw new OsbMalformedResponseError(request, status, 'the body is not JSON');
      }
      const problem = checkBody(parsed);
      if (problem !== undefined) throw new OsbMalformedResponseError(request, status, problem);
    }
    return {
      status,
      body: parsed as T,
      requestIdentity,
      ...(retryAfterMs !== undefined && { retryAfterMs }),
    };
  }

  #urlOf(call: Call): URL {
    const url = new URL(this.url.pathname.replace(/\/$/, '') + call.path, this.url);
    for (const [key, value] of Object.entries(call.query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, value);
    }
    return url;
  }
}

function authHeader(auth: BrokerAuth | undefined): Record<string, string> {
  if (auth === undefined) return {};
  if ('basic' in auth) {
    // RFC 7617: the user-id cannot contain a colon; the password can.
    if (auth.basic.username.includes(':')) throw new Error('basic auth username must not contain ":"');
    const token = Buffer.from(`${auth.basic.username}:${auth.basic.password}`).toString('base64');
    return { authorization: `Basic ${token}` };
  }
  return { authorization: `Bearer ${auth.bearer.token}` };
}

/** The body as text, or `undefined` when it is longer than `limit` bytes (the rest is not read). */
async function readLimited(
  body: Dispatcher.ResponseData['body'],
  limit: number,
): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      body.destroy();
      return undefined;
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** The OSB error fields of an error body, when it is one; nothing else of the body is kept. */
function errorFields(
  text: string | undefined,
): Partial<Pick<OsbHttpError, 'error' | 'description' | 'instanceUsable' | 'updateRepeatable'>> {
  if (text === undefined || text === '') return {};
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return {};
  }
  if (!isObject(body)) return {};
  const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
  const bool = (v: unknown): boolean | undefined => (typeof v === 'boolean' ? v : undefined);
  return {
    error: str(body['error']),
    description: str(body['description']),
    instanceUsable: bool(body['instance_usable']),
    updateRepeatable: bool(body['update_repeatable']),
  };
}

function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function describe(err: unknown): string {
  const code = (err as { code?: unknown }).code;
  const cause = err instanceof Error ? err.cause : undefined;
  const causeCode = (cause as { code?: unknown } | undefined)?.code;
  const message = errorMessage(err);
  return [typeof code === 'string' ? code : typeof causeCode === 'string' ? causeCode : undefined, message]
    .filter((s) => s !== undefined)
    .join(': ');
}
