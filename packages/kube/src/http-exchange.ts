// One HTTP/1.1 request and its response over a pooled `node:http`/`node:https` Agent, with the
// timeouts and cancellation Node's client leaves to its caller. Node's own client rather than
// undici: importing undici (its bundle and its WebAssembly HTTP parser) costs a process 28 MiB of
// RSS, `node:https` 8 MiB (docs/benchmarks.md).
import type {
  Agent as HttpAgent,
  IncomingHttpHeaders,
  IncomingMessage,
  OutgoingHttpHeaders,
} from 'node:http';

// Not `import { … } from 'node:http'`: an ES module import of node:http evaluates every export,
// and its WebSocket/EventSource getters load Node's internal copy of undici (9 MiB of RSS).
const http = process.getBuiltinModule('node:http');
const https = process.getBuiltinModule('node:https');

export interface ExchangeOptions {
  agent: HttpAgent;
  method: string;
  headers: OutgoingHttpHeaders;
  body?: string | undefined;
  signal?: AbortSignal | undefined;
  /** No TCP (and TLS) connection within this long fails the request before it was sent. */
  connectTimeoutMs: number;
  /** No response headers within this long fails the request; a body (a watch) has no timeout. */
  headersTimeoutMs: number;
}

export interface ExchangeResponse {
  statusCode: number;
  headers: IncomingHttpHeaders;
  /** Read it to the end, or destroy it; the signal's abort destroys it too. */
  body: IncomingMessage;
}

/** A timeout of this transport's own, classified by `isNetworkError`. */
export class TransportTimeoutError extends Error {
  override name = 'TransportTimeoutError';
  readonly code: 'ERR_CONNECT_TIMEOUT' | 'ERR_HEADERS_TIMEOUT';

  constructor(code: 'ERR_CONNECT_TIMEOUT' | 'ERR_HEADERS_TIMEOUT', message: string) {
    super(message);
    this.code = code;
  }
}

/** Errors raised before the connection was established: the server cannot have seen the request. */
const unsent = new WeakSet<object>();

/** Whether `err` came from a request that never reached a connected socket. */
export function wasNotSent(err: unknown): boolean {
  return typeof err === 'object' && err !== null && unsent.has(err);
}

/** A keep-alive pool; TLS options apply to an https pool. */
export function newAgent(protocol: string, tls: Record<string, unknown>): HttpAgent {
  // No socket cap: watches hold a connection each for minutes and must not queue requests
  // behind them. Idle sockets close after 30 s, before the API server closes them.
  const options = { keepAlive: true, timeout: 30_000, maxSockets: Infinity };
  return protocol === 'https:' ? new https.Agent({ ...options, ...tls }) : new http.Agent(options);
}

/**
 * Stops reusing a pool's connections: idle ones close now, busy ones (watches) when their request
 * ends. `drained` runs once no connection is left.
 */
export function retireAgent(agent: HttpAgent, drained: () => void): void {
  // Falsy: the Agent destroys the socket once its request is done instead of keeping it.
  agent.keepSocketAlive = (): boolean => false;
  for (const sockets of Object.values(agent.freeSockets)) for (const s of sockets ?? []) s.destroy();
  const busy = Object.values(agent.sockets).flatMap((sockets) => sockets ?? []);
  let left = busy.length;
  if (left === 0) drained();
  for (const socket of busy) socket.once('close', () => --left === 0 && drained());
}

/** Sends one request; resolves with the response once its headers arrive. */
export function exchange(url: URL, options: ExchangeOptions): Promise<ExchangeResponse> {
  const { signal } = options;
  if (signal?.aborted) return Promise.reject(signal.reason as Error);
  const send = url.protocol === 'https:' ? https.request : http.request;
  return new Promise((resolve, reject) => {
    const req = send(url, { agent: options.agent, method: options.method, headers: options.headers });
    let res: IncomingMessage | undefined;
    let connected = false;
    let connectTimer: NodeJS.Timeout | undefined;
    const fail = (err: Error): void => {
      cleanupHeaders();
      if (!connected && !signal?.aborted) unsent.add(err);
      reject(err);
    };
    const onAbort = (): void => {
      const reason = signal?.reason as Error;
      if (res) res.destroy(reason);
      else req.destroy(reason);
    };
    const headersTimer = setTimeout(() => {
      req.destroy(
        new TransportTimeoutError(
          'ERR_HEADERS_TIMEOUT',
          `${options.method} ${url.pathname}: no response headers within ${options.headersTimeoutMs} ms`,
        ),
      );
    }, options.headersTimeoutMs);
    const cleanupHeaders = (): void => {
      clearTimeout(headersTimer);
      clearTimeout(connectTimer);
    };
    // Until the response ends or is destroyed: the signal's listener, nothing else.
    signal?.addEventListener('abort', onAbort, { once: true });
    req.once('close', () => {
      cleanupHeaders();
      if (!res) signal?.removeEventListener('abort', onAbort);
    });
    req.once('socket', (socket) => {
      if (req.reusedSocket || !(socket as { connecting?: boolean }).connecting) {
        connected = true;
        return;
      }
      const established = url.protocol === 'https:' ? 'secureConnect' : 'connect';
      connectTimer = setTimeout(() => {
        req.destroy(
          new TransportTimeoutError(
            'ERR_CONNECT_TIMEOUT',
            `${url.host}: no connection within ${options.connectTimeoutMs} ms`,
          ),
        );
      }, options.connectTimeoutMs);
      socket.once(established, () => {
        connected = true;
        clearTimeout(connectTimer);
      });
    });
    req.once('error', fail);
    req.once('response', (response) => {
      cleanupHeaders();
      res = response;
      req.off('error', fail);
      // Errors after the headers surface on the body; keep the request's from going unhandled.
      req.on('error', (err) => response.destroy(err));
      response.once('close', () => signal?.removeEventListener('abort', onAbort));
      resolve({ statusCode: response.statusCode ?? 0, headers: response.headers, body: response });
    });
    req.end(options.body);
  });
}

/** The whole body as text. */
export async function readText(body: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Newline-delimited JSON, as the watch endpoint sends it; multi-byte characters may span chunks. */
export async function* splitLines(body: AsyncIterable<Buffer>): AsyncGenerator<string> {
  let rest = '';
  const decoder = new TextDecoder();
  for await (const chunk of body) {
    rest += decoder.decode(chunk, { stream: true });
    let newline: number;
    while ((newline = rest.indexOf('\n')) >= 0) {
      const line = rest.slice(0, newline);
      rest = rest.slice(newline + 1);
      if (line.trim() !== '') yield line;
    }
  }
  rest += decoder.decode();
  if (rest.trim() !== '') yield rest;
}
