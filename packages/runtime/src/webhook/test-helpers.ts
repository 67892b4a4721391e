// Shared by the webhook tests: raw HTTPS requests, TLS handshakes, and a log sink.
import { request } from 'node:https';
import type { IncomingHttpHeaders } from 'node:http';
import { Writable } from 'node:stream';
import { connect } from 'node:tls';
import { pino } from 'pino';
import type { Logger } from 'pino';

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  json: Record<string, unknown>;
}

export interface RawRequestOptions {
  method?: string;
  headers?: Record<string, string | number>;
  /** A string or Buffer body, or chunks sent one by one (chunked transfer encoding). */
  body?: string | Buffer | Buffer[];
  ca: string;
}

/** One request on a fresh connection; resolves with the status, headers and parsed JSON body. */
export function rawRequest(url: string, options: RawRequestOptions): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = request(url, {
      method: options.method ?? 'POST',
      ca: options.ca,
      agent: false,
      headers: options.headers,
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: Record<string, unknown> = {};
        try {
          json = JSON.parse(text) as Record<string, unknown>;
        } catch {
          // asserted by the caller
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
      res.on('error', reject);
    });
    // A server that answers before reading the whole body may reset the connection after answering.
    req.on('error', reject);
    const { body } = options;
    if (Array.isArray(body)) {
      for (const chunk of body) req.write(chunk);
      req.end();
    } else {
      req.end(body);
    }
  });
}

/** POSTs `review` as JSON. */
export function postJson(url: string, review: unknown, ca: string): Promise<RawResponse> {
  const body = JSON.stringify(review);
  return rawRequest(url, { ca, body, headers: { 'content-type': 'application/json' } });
}

/** The serial number of the certificate a fresh TLS handshake presents. */
export function servedSerial(port: number, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, ca }, () => {
      const serial = socket.getPeerCertificate().serialNumber;
      socket.end();
      resolve(serial);
    });
    socket.on('error', reject);
  });
}

/** A logger whose lines are kept, parsed, for assertions. */
export function capturedLogger(): { log: Logger; lines: Array<Record<string, unknown>>; text: () => string } {
  const raw: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      raw.push(chunk.toString('utf8'));
      callback();
    },
  });
  const log = pino({ level: 'debug' }, stream);
  return {
    log,
    get lines() {
      return raw
        .join('')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>);
    },
    text: () => raw.join(''),
  };
}

export function review(request: Record<string, unknown>): Record<string, unknown> {
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: '705ab4f5-6393-11e8-b7cc-42010a800002',
      kind: { group: 'apps', version: 'v1', kind: 'Deployment' },
      resource: { group: 'apps', version: 'v1', resource: 'deployments' },
      requestKind: { group: 'apps', version: 'v1', kind: 'Deployment' },
      name: 'web',
      namespace: 'default',
      operation: 'CREATE',
      userInfo: { username: 'admin', groups: ['system:masters'] },
      dryRun: false,
      ...request,
    },
  };
}
