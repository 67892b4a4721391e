import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

export interface RawRequest {
  url: string;
  method?: string;
  /** Sent as JSON. */
  body?: unknown;
  /** PEMs: the server's CA, and a client certificate to authenticate with. */
  tls?: { ca: string; cert?: string; key?: string };
  signal?: AbortSignal;
  timeoutMs?: number;
}

export interface RawResponse {
  status: number;
  body: string;
}

/**
 * One plain request with no client library: for readiness probes and etcd's JSON gateway, which
 * must work before (and independently of) anything built on the API server. No connection is
 * pooled, so nothing keeps the event loop alive afterwards.
 */
export function rawRequest(options: RawRequest): Promise<RawResponse> {
  const url = new URL(options.url);
  const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(
      url,
      {
        method: options.method ?? (payload === undefined ? 'GET' : 'POST'),
        agent: false,
        timeout: options.timeoutMs ?? 10_000,
        headers: {
          accept: 'application/json',
          ...(payload !== undefined && { 'content-type': 'application/json' }),
        },
        ...(options.tls && { ca: options.tls.ca, cert: options.tls.cert, key: options.tls.key }),
        ...(options.signal && { signal: options.signal }),
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${req.method} ${options.url}: timed out`)));
    req.on('error', reject);
    req.end(payload);
  });
}
