// What bounds the webhook server's work: requests in flight, body size, and the time a request may
// take; and the checks a request passes before its body is read (method, Content-Type, declared
// length). A request over a limit is refused at once and never buffered.

import type { Logger } from 'pino';
import { reject } from './exchange.ts';
import type { Exchange } from './exchange.ts';
import { JSON_TYPE } from './review-codec.ts';

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

export interface RequestLimits {
  maxBodyBytes: number;
  /** From a request's first byte to its answer. */
  requestTimeoutMs: number;
}

/** 429 before reading the body: the API server counts it a failed call (its failurePolicy decides). */
export function tooMany(log: Logger, ex: Exchange, maxInFlight: number): void {
  ex.res.setHeader('retry-after', '1');
  ex.res.setHeader('connection', 'close');
  log.debug({ webhook: ex.path, maxInFlight }, 'admission request refused: too many in flight');
  reject(log, ex, 429, `more than ${maxInFlight} admission requests are in flight: retry`);
  ex.req.resume();
}

/**
 * Checks that the request is a POST of JSON no larger than the limit, then reads its body within the
 * limits and hands it to `onBody`; whatever fails is answered here.
 */
export function readReviewBody(
  log: Logger,
  ex: Exchange,
  limits: RequestLimits,
  onBody: (body: Buffer) => void,
): void {
  const { req, res } = ex;
  if (req.method !== 'POST') {
    res.setHeader('allow', 'POST');
    return reject(log, ex, 405, `method ${req.method ?? ''} is not allowed: admission reviews are POSTed`);
  }
  const contentType = req.headers['content-type'];
  const mediaType = contentType?.split(';', 1)[0]?.trim().toLowerCase();
  if (mediaType !== JSON_TYPE) {
    return reject(
      log,
      ex,
      415,
      contentType === undefined
        ? `the request has no Content-Type: expected ${JSON_TYPE}`
        : `Content-Type ${contentType} is not supported: expected ${JSON_TYPE}`,
    );
  }
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (declared > limits.maxBodyBytes) return tooLarge(log, ex, limits.maxBodyBytes);

  const chunks: Buffer[] = [];
  let size = 0;
  let done = false;
  const timer = setTimeout(() => {
    if (done) return;
    done = true;
    req.off('data', onData);
    res.setHeader('connection', 'close');
    reject(log, ex, 408, `the request body did not arrive within ${limits.requestTimeoutMs} ms`);
  }, limits.requestTimeoutMs);
  const onData = (chunk: Buffer): void => {
    size += chunk.length;
    if (size > limits.maxBodyBytes) {
      done = true;
      clearTimeout(timer);
      req.off('data', onData);
      chunks.length = 0;
      tooLarge(log, ex, limits.maxBodyBytes);
      return;
    }
    chunks.push(chunk);
  };
  req.on('data', onData);
  req.once('end', () => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    onBody(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size));
  });
  req.once('error', () => {
    done = true;
    clearTimeout(timer);
  });
}

/** 413 without reading the rest: close the connection once the answer is out. */
function tooLarge(log: Logger, ex: Exchange, maxBodyBytes: number): void {
  const { req, res } = ex;
  res.setHeader('connection', 'close');
  reject(log, ex, 413, `the request body is larger than ${maxBodyBytes} bytes`);
  // Discard what is still in flight instead of buffering it, then hang up: a client that keeps
  // sending after the answer would otherwise hold the connection open.
  req.resume();
  res.once('finish', () => setTimeout(() => req.socket.destroy(), 1_000).unref());
}
