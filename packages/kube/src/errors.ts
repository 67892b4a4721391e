import { isObject } from './object.ts';

/** The `reason` values of metav1.Status that callers branch on. */
export type StatusReason =
  | 'NotFound'
  | 'AlreadyExists'
  | 'Conflict'
  | 'Forbidden'
  | 'Unauthorized'
  | 'Invalid'
  | 'Gone'
  | 'Expired'
  | 'TooManyRequests'
  | 'Timeout'
  | 'ServerTimeout'
  | 'BadRequest'
  | 'MethodNotAllowed'
  | 'NotAcceptable'
  | 'RequestEntityTooLarge'
  | 'UnsupportedMediaType'
  | 'InternalError'
  | 'ServiceUnavailable'
  | 'Unknown';

export interface StatusCause {
  reason?: string;
  message?: string;
  field?: string;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

/** metav1.Status as the API server sends it with a failed request. */
export interface Status {
  apiVersion?: string;
  kind?: string;
  status?: string;
  message?: string;
  reason?: string;
  details?: StatusDetails;
  code?: number;
}

const reasonByCode: Record<number, StatusReason> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  406: 'NotAcceptable',
  409: 'Conflict',
  410: 'Gone',
  413: 'RequestEntityTooLarge',
  415: 'UnsupportedMediaType',
  422: 'Invalid',
  429: 'TooManyRequests',
  500: 'InternalError',
  503: 'ServiceUnavailable',
  504: 'Timeout',
};

/**
 * A failed API request. `reason` comes from the server's Status when it sent one,
 * otherwise from the HTTP code, so `isNotFound(err)` works for both.
 */
export class StatusError extends Error {
  readonly code: number;
  readonly reason: StatusReason;
  readonly status: Status;
  /** What was asked: `GET /api/v1/namespaces/default/pods/x`. */
  readonly request: string;

  constructor(options: { code: number; status?: Status; request: string }) {
    const status = options.status ?? {};
    const reason = knownReason(status.reason) ?? reasonByCode[options.code] ?? 'Unknown';
    super(`${options.request}: ${status.message ?? `HTTP ${options.code}`} (${reason})`);
    this.name = 'StatusError';
    this.code = options.code;
    this.reason = reason;
    this.status = status;
    this.request = options.request;
  }

  get causes(): StatusCause[] {
    return this.status.details?.causes ?? [];
  }

  /** Seconds the server asked us to wait, from the Status details or the Retry-After header. */
  get retryAfterSeconds(): number | undefined {
    return this.status.details?.retryAfterSeconds;
  }
}

function knownReason(reason: string | undefined): StatusReason | undefined {
  if (reason === undefined || reason === '') return undefined;
  return (Object.values(reasonByCode) as string[]).includes(reason) ||
    ['AlreadyExists', 'Expired', 'ServerTimeout'].includes(reason)
    ? (reason as StatusReason)
    : 'Unknown';
}

/** Parses a response body as a metav1.Status, if it is one. */
export function asStatus(body: unknown): Status | undefined {
  if (!isObject(body) || body['kind'] !== 'Status') return undefined;
  return body;
}

function hasReason(err: unknown, ...reasons: StatusReason[]): boolean {
  return err instanceof StatusError && reasons.includes(err.reason);
}

export const isNotFound = (err: unknown): boolean => hasReason(err, 'NotFound');
export const isAlreadyExists = (err: unknown): boolean => hasReason(err, 'AlreadyExists');
export const isConflict = (err: unknown): boolean => hasReason(err, 'Conflict');
export const isForbidden = (err: unknown): boolean => hasReason(err, 'Forbidden');
export const isUnauthorized = (err: unknown): boolean => hasReason(err, 'Unauthorized');
export const isInvalid = (err: unknown): boolean => hasReason(err, 'Invalid');
/** 410: the resourceVersion asked for has been compacted away; relist. */
export const isGone = (err: unknown): boolean => hasReason(err, 'Gone', 'Expired');
export const isTooManyRequests = (err: unknown): boolean => hasReason(err, 'TooManyRequests');
export const isTimeout = (err: unknown): boolean => hasReason(err, 'Timeout', 'ServerTimeout');

/** Errors worth trying again unchanged: throttling, timeouts, and server-side failures. */
export function isRetryable(err: unknown): boolean {
  if (err instanceof StatusError) {
    return err.code === 429 || err.code >= 500 || err.reason === 'ServerTimeout' || err.reason === 'Timeout';
  }
  return isNetworkError(err);
}

const networkCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

/** A connection-level failure: the request may not have reached the server. */
export function isNetworkError(err: unknown): boolean {
  for (let e: unknown = err; isObject(e) || e instanceof Error; e = (e as { cause?: unknown }).cause) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && networkCodes.has(code)) return true;
    if ((e as { cause?: unknown }).cause === e) break;
  }
  return false;
}
