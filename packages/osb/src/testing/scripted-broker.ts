// A scripted OSB 2.17 broker for tests, written on node:http straight from the spec and independent
// of the broker SDK, so that the platform's tests do not share a misreading with the broker they run
// against. By default it behaves as a correct in-memory broker; each test scripts the replies it
// wants instead (status, body, malformed body, delay, no answer at all) per operation, and reads back
// every request it received.

import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** The OSB operation a request is for, from its method and route. */
export type BrokerOperation =
  | 'catalog'
  | 'provision'
  | 'update'
  | 'deprovision'
  | 'getInstance'
  | 'instanceLastOperation'
  | 'bind'
  | 'unbind'
  | 'getBinding'
  | 'bindingLastOperation';

export interface RecordedRequest {
  operation: BrokerOperation | 'unknown';
  method: string;
  /** The path without the query, e.g. `/v2/service_instances/abc`. */
  path: string;
  query: Record<string, string>;
  headers: Record<string, string>;
  instanceId?: string;
  bindingId?: string;
  /** The parsed JSON body; `undefined` when there was none or it was not JSON (see `rawBody`). */
  body?: unknown;
  rawBody: string;
}

/**
 * What the broker answers to one request. `status` absent: the default behaviour, after `delayMs`.
 * `raw` is sent verbatim (a malformed body); `hang` never answers (the client times out).
 */
export interface ScriptedReply {
  status?: number;
  body?: unknown;
  raw?: string;
  headers?: Record<string, string>;
  delayMs?: number;
  hang?: boolean;
}

export type ReplyScript = ScriptedReply | ((request: RecordedRequest) => ScriptedReply);

export interface ScriptedBrokerOptions {
  /** `/v2/catalog`'s `services`. */
  services?: unknown[];
  /** Basic auth the broker demands; none when absent. */
  basicAuth?: { username: string; password: string };
  /** Operations the default behaviour answers with 202 when `accepts_incomplete=true`. */
  asyncOperations?: ('provision' | 'update' | 'deprovision' | 'bind' | 'unbind')[];
  /** How many `in progress` polls an async operation answers before `succeeded` (default 1). */
  pollsUntilDone?: number;
  /** A `Retry-After` header for `last_operation` answers of the default behaviour. */
  retryAfter?: string;
  /** The credentials of a new binding (default: a username and a password). */
  credentials?: (instanceId: string, bindingId: string) => unknown;
  /** `dashboard_url` of a provisioned instance. */
  dashboardUrl?: (instanceId: string) => string;
}

interface Operation {
  kind: 'provision' | 'update' | 'deprovision' | 'bind' | 'unbind';
  polls: number;
  state: 'in progress' | 'succeeded' | 'failed';
}

interface StoredInstance {
  body: unknown;
  operation?: Operation;
}

interface StoredBinding {
  instanceId: string;
  body: unknown;
  credentials: unknown;
  operation?: Operation;
}

const instancePath = /^\/v2\/service_instances\/([^/]+)$/;
const instanceLastOperationPath = /^\/v2\/service_instances\/([^/]+)\/last_operation$/;
const bindingPath = /^\/v2\/service_instances\/([^/]+)\/service_bindings\/([^/]+)$/;
const bindingLastOperationPath =
  /^\/v2\/service_instances\/([^/]+)\/service_bindings\/([^/]+)\/last_operation$/;

export class ScriptedBroker {
  readonly #server: Server;
  readonly #options: ScriptedBrokerOptions;
  readonly #scripts = new Map<
    BrokerOperation,
    { reply: ReplyScript; times: number; match?: (request: RecordedRequest) => boolean }[]
  >();
  readonly #requests: RecordedRequest[] = [];
  readonly #sockets = new Set<Socket>();
  readonly instances = new Map<string, StoredInstance>();
  readonly bindings = new Map<string, StoredBinding>();
  #url = '';

  private constructor(options: ScriptedBrokerOptions) {
    this.#options = options;
    this.#server = createServer((req, res) => {
      this.#handle(req, res).catch((err: unknown) => {
        res.destroy(err instanceof Error ? err : undefined);
      });
    });
    this.#server.on('connection', (socket) => {
      this.#sockets.add(socket);
      socket.on('close', () => this.#sockets.delete(socket));
    });
  }

  /** Starts a broker on a free port of 127.0.0.1. */
  static async start(options: ScriptedBrokerOptions = {}): Promise<ScriptedBroker> {
    const broker = new ScriptedBroker(options);
    await new Promise<void>((resolve, reject) => {
      broker.#server.once('error', reject);
      broker.#server.listen(0, '127.0.0.1', () => resolve());
    });
    const address = broker.#server.address();
    if (address === null || typeof address === 'string')
      throw new Error('scripted broker has no TCP address');
    broker.#url = `http://127.0.0.1:${address.port}`;
    return broker;
  }

  get url(): string {
    return this.#url;
  }

  /**
   * Answers the next `times` requests for `operation` with `reply` (scripts queue in order); with
   * `match`, only requests it accepts use the script (e.g. one instance id).
   */
  script(
    operation: BrokerOperation,
    reply: ReplyScript,
    times = 1,
    match?: (request: RecordedRequest) => boolean,
  ): void {
    const queue = this.#scripts.get(operation) ?? [];
    queue.push({ reply, times, ...(match ? { match } : {}) });
    this.#scripts.set(operation, queue);
  }

  /** Which operations the default behaviour answers with 202 (when `accepts_incomplete=true`). */
  setAsyncOperations(operations: NonNullable<ScriptedBrokerOptions['asyncOperations']>): void {
    this.#options.asyncOperations = [...operations];
  }

  /** Drops every scripted reply not used yet. */
  clearScripts(): void {
    this.#scripts.clear();
  }

  /** Every request received, oldest first; only those for `operation` when given. */
  requests(operation?: BrokerOperation): RecordedRequest[] {
    return this.#requests.filter((r) => operation === undefined || r.operation === operation);
  }

  /** Forgets the recorded requests (not the instances and bindings). */
  clearRequests(): void {
    this.#requests.length = 0;
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const rawBody = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', 'http://broker');
    const request = recordOf(req, url, rawBody);
    this.#requests.push(request);

    const reply = this.#nextScript(request);
    if (reply?.delayMs) await sleep(reply.delayMs);
    if (reply?.hang) return; // never answered; close() destroys the socket
    if (reply?.status !== undefined) {
      send(
        res,
        reply.status,
        reply.raw ?? (reply.body === undefined ? '{}' : JSON.stringify(reply.body)),
        reply,
      );
      return;
    }
    const answer = this.#default(request);
    send(res, answer.status ?? 500, JSON.stringify(answer.body ?? {}), answer);
  }

  #nextScript(request: RecordedRequest): ScriptedReply | undefined {
    if (request.operation === 'unknown') return undefined;
    const queue = this.#scripts.get(request.operation);
    const index = queue?.findIndex((entry) => entry.match === undefined || entry.match(request)) ?? -1;
    const head = queue?.[index];
    if (!queue || !head) return undefined;
    head.times--;
    if (head.times <= 0) queue.splice(index, 1);
    return typeof head.reply === 'function' ? head.reply(request) : head.reply;
  }

  /** The spec's behaviour for a well-formed request, on the in-memory state. */
  #default(r: RecordedRequest): ScriptedReply {
    if (!r.headers['x-broker-api-version'])
      return error(412, 'MissingVersion', 'X-Broker-API-Version is required');
    const auth = this.#options.basicAuth;
    if (auth) {
      const expected = `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;
      if (r.headers['authorization'] !== expected) return { status: 401, body: {} };
    }
    const incomplete = r.query['accepts_incomplete'] === 'true';
    const asyncOp = (kind: Operation['kind']): boolean =>
      incomplete && (this.#options.asyncOperations ?? []).includes(kind);
    const id = r.instanceId ?? '';
    const bid = r.bindingId ?? '';
    const instance = this.instances.get(id);
    const binding = this.bindings.get(bid);
    switch (r.operation) {
      case 'catalog':
        return { status: 200, body: { services: this.#options.services ?? [] } };
      case 'provision': {
        if (instance) {
          if (JSON.stringify(instance.body) !== JSON.stringify(r.body))
            return error(409, undefined, 'conflict');
          if (instance.operation?.state === 'in progress')
            return { status: 202, body: { operation: 'provision' } };
          return { status: 200, body: this.#dashboard(id) };
        }
        if (asyncOp('provision')) {
          this.instances.set(id, { body: r.body, operation: this.#operation('provision') });
          return { status: 202, body: { ...this.#dashboard(id), operation: 'provision' } };
        }
        this.instances.set(id, { body: r.body });
        return { status: 201, body: this.#dashboard(id) };
      }
      case 'update':
        if (!instance) return error(404, undefined, 'no such instance');
        if (asyncOp('update')) {
          instance.operation = this.#operation('update');
          return { status: 202, body: { operation: 'update' } };
        }
        return { status: 200, body: {} };
      case 'deprovision':
        if (!instance) return { status: 410, body: {} };
        if (asyncOp('deprovision')) {
          instance.operation = this.#operation('deprovision');
          return { status: 202, body: { operation: 'deprovision' } };
        }
        this.instances.delete(id);
        return { status: 200, body: {} };
      case 'instanceLastOperation':
        return this.#lastOperation(instance?.operation, () => this.instances.delete(id));
      case 'getInstance':
        if (!instance || instance.operation?.state === 'in progress')
          return error(404, undefined, 'not found');
        return { status: 200, body: instance.body };
      case 'bind': {
        if (!instance) return error(404, undefined, 'no such instance');
        if (binding) {
          if (JSON.stringify(binding.body) !== JSON.stringify(r.body))
            return error(409, undefined, 'conflict');
          if (binding.operation?.state === 'in progress') return { status: 202, body: { operation: 'bind' } };
          return { status: 200, body: { credentials: binding.credentials } };
        }
        const credentials = this.#options.credentials?.(id, bid) ?? {
          username: `user-${bid}`,
          password: randomUUID(),
        };
        if (asyncOp('bind')) {
          this.bindings.set(bid, {
            instanceId: id,
            body: r.body,
            credentials,
            operation: this.#operation('bind'),
          });
          return { status: 202, body: { operation: 'bind' } };
        }
        this.bindings.set(bid, { instanceId: id, body: r.body, credentials });
        return { status: 201, body: { credentials } };
      }
      case 'unbind':
        if (!binding) return { status: 410, body: {} };
        if (asyncOp('unbind')) {
          binding.operation = this.#operation('unbind');
          return { status: 202, body: { operation: 'unbind' } };
        }
        this.bindings.delete(bid);
        return { status: 200, body: {} };
      case 'bindingLastOperation':
        return this.#lastOperation(binding?.operation, () => this.bindings.delete(bid));
      case 'getBinding':
        if (!binding || binding.operation?.state === 'in progress') return error(404, undefined, 'not found');
        return { status: 200, body: { credentials: binding.credentials } };
      default:
        return error(404, undefined, `no route ${r.method} ${r.path}`);
    }
  }

  #operation(kind: Operation['kind']): Operation {
    return { kind, polls: 0, state: 'in progress' };
  }

  #dashboard(instanceId: string): { dashboard_url?: string } {
    const url = this.#options.dashboardUrl?.(instanceId);
    return url === undefined ? {} : { dashboard_url: url };
  }

  #lastOperation(operation: Operation | undefined, forget: () => void): ScriptedReply {
    const headers: Record<string, string> = this.#options.retryAfter
      ? { 'retry-after': this.#options.retryAfter }
      : {};
    if (!operation) return error(404, undefined, 'no operation');
    if (operation.state === 'in progress' && ++operation.polls > (this.#options.pollsUntilDone ?? 1)) {
      operation.state = 'succeeded';
    }
    if (
      operation.state === 'succeeded' &&
      (operation.kind === 'deprovision' || operation.kind === 'unbind')
    ) {
      forget();
    }
    return { status: 200, body: { state: operation.state }, headers };
  }
}

function recordOf(req: IncomingMessage, url: URL, rawBody: string): RecordedRequest {
  const method = req.method ?? 'GET';
  const path = url.pathname;
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (typeof value === 'string') headers[name] = value;
    else if (Array.isArray(value)) headers[name] = value.join(', ');
  }
  let body: unknown;
  try {
    body = rawBody === '' ? undefined : JSON.parse(rawBody);
  } catch {
    body = undefined;
  }
  const record: RecordedRequest = {
    operation: 'unknown',
    method,
    path,
    query: Object.fromEntries(url.searchParams),
    headers,
    body,
    rawBody,
  };
  let m: RegExpExecArray | null;
  if (path === '/v2/catalog' && method === 'GET') record.operation = 'catalog';
  else if ((m = bindingLastOperationPath.exec(path)) && method === 'GET') {
    Object.assign(record, ids(m), { operation: 'bindingLastOperation' });
  } else if ((m = bindingPath.exec(path))) {
    const op = ({ PUT: 'bind', DELETE: 'unbind', GET: 'getBinding' } as const)[
      method as 'PUT' | 'DELETE' | 'GET'
    ];
    if (op) Object.assign(record, ids(m), { operation: op });
  } else if ((m = instanceLastOperationPath.exec(path)) && method === 'GET') {
    Object.assign(record, ids(m), { operation: 'instanceLastOperation' });
  } else if ((m = instancePath.exec(path))) {
    const op = ({ PUT: 'provision', PATCH: 'update', DELETE: 'deprovision', GET: 'getInstance' } as const)[
      method as 'PUT' | 'PATCH' | 'DELETE' | 'GET'
    ];
    if (op) Object.assign(record, ids(m), { operation: op });
  }
  return record;
}

function ids(m: RegExpExecArray): { instanceId?: string; bindingId?: string } {
  const out: { instanceId?: string; bindingId?: string } = {};
  if (m[1] !== undefined) out.instanceId = decodeURIComponent(m[1]);
  if (m[2] !== undefined) out.bindingId = decodeURIComponent(m[2]);
  return out;
}

function error(status: number, code: string | undefined, description: string): ScriptedReply {
  return { status, body: code === undefined ? { description } : { error: code, description } };
}

function send(res: ServerResponse, status: number, body: string, reply: ScriptedReply): void {
  res.writeHead(status, { 'content-type': 'application/json', ...reply.headers });
  res.end(body);
}
