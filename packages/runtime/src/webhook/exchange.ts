// One HTTP request to the webhook server and the ways it is answered: a JSON body once (never twice,
// never after the connection is gone), a `metav1.Status` refusal, a 500 for a bug of ours, and a raw
// answer to a request that is not even HTTP.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { errorMessage } from '@bindery/kube';
import type { Logger } from 'pino';
import { JSON_TYPE, statusBody, statusReason } from './review-codec.ts';

export interface Exchange {
  path: string;
  /** The path for metrics: a registered one, or `unmatched`. */
  label: string;
  started: number;
  req: IncomingMessage;
  res: ServerResponse;
}

/** Sends `body` as JSON with `code`, unless an answer was already sent or the connection is gone. */
export function send(ex: Exchange, code: number, body: string): void {
  const { res } = ex;
  if (res.headersSent || res.destroyed) return;
  res.writeHead(code, { 'content-type': JSON_TYPE, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/** A 4xx `metav1.Status` whose message says what was wrong (the API server reports it). */
export function reject(log: Logger, ex: Exchange, code: number, message: string): void {
  log.debug({ webhook: ex.path, method: ex.req.method, code, reason: message }, 'admission request refused');
  send(ex, code, statusBody(code, message));
}

/** A bug of ours: log it, answer 500 if nothing was sent yet, and keep serving. */
export function internalError(log: Logger, ex: Exchange, err: unknown): void {
  log.error(
    { webhook: ex.path, reason: errorMessage(err), stack: err instanceof Error ? err.stack : undefined },
    'webhook server error',
  );
  const body = JSON.stringify({
    apiVersion: 'v1',
    kind: 'Status',
    status: 'Failure',
    code: 500,
    reason: 'InternalError',
    message: `the webhook server failed to answer: ${errorMessage(err)}`,
  });
  send(ex, 500, body);
}

/** Malformed HTTP (or a request that never completed): answer if we still can, then hang up. */
export function answerClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const code = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
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
