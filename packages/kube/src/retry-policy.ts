import { StatusError, isNetworkError } from './errors.ts';
import { wasNotSent } from './http-exchange.ts';

export interface RetryInput {
  method: string;
  err: unknown;
  /** 1 for the first attempt. */
  attempt: number;
  maxAttempts: number;
  /** Doubled per attempt, up to 5 s. */
  baseDelayMs: number;
}

/** The longest Retry-After the transport honours; a server asking for more is asked again sooner. */
export const maxRetryAfterMs = 30_000;

/** How long to wait before sending a failed request again, or undefined to give up. */
export function retryDelay({
  method,
  err,
  attempt,
  maxAttempts,
  baseDelayMs,
}: RetryInput): number | undefined {
  if (attempt >= maxAttempts) return undefined;
  const backoff = Math.min(5_000, baseDelayMs * 2 ** (attempt - 1));
  if (err instanceof StatusError) {
    // 429 and 503/504 mean the server did not act on the request; any verb may be
    // sent again. Other 5xx may have been acted on, so only reads are retried.
    const unprocessed = err.code === 429 || err.code === 503 || err.code === 504;
    if (!unprocessed && !(err.code >= 500 && method === 'GET')) return undefined;
    const retryAfter = err.retryAfterSeconds;
    return retryAfter !== undefined ? Math.min(retryAfter * 1000, maxRetryAfterMs) : backoff;
  }
  // A connection that failed before the request was sent is safe to retry for
  // any verb; a reset mid-request only for reads.
  if (!isNetworkError(err)) return undefined;
  return method === 'GET' || wasNotSent(err) || isRefused(err) ? backoff : undefined;
}

/** Refused: nothing listened, so nothing was sent, whichever phase reported it. */
function isRefused(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    if ((e as { code?: unknown }).code === 'ECONNREFUSED') return true;
  }
  return false;
}
