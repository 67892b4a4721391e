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
  /**
   * The server's Status as sent. Not enumerable, so a log serializer that copies an error's
   * fields never prints it: its message may quote an object (see `errorMessage`).
   */
  declare readonly status: Status;
  /** What was asked: `GET /api/v1/namespaces/default/pods/x`. */
  readonly request: string;

  constructor(options: { code: number; status?: Status; request: string }) {
    const status = options.status ?? {};
    const reason = knownReason(status.reason) ?? reasonByCode[options.code] ?? 'Unknown';
    const text = status.message === undefined ? `HTTP ${options.code}` : safeStatusMessage(status);
    super(boundMessage(`${options.request}: ${text} (${reason})`));
    this.name = 'StatusError';
    this.code = options.code;
    this.reason = reason;
    Object.defineProperty(this, 'status', { value: status, enumerable: false });
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

// Node's socket and DNS errors (a "socket hang up" is ECONNRESET too), and the transport's own
// timeouts (http-exchange.ts).
const networkCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'ERR_CONNECT_TIMEOUT',
  'ERR_HEADERS_TIMEOUT',
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

/** The most characters of error text copied into a condition, an event or a log line. */
export const maxErrorMessageLength = 1024;

/** `text`, cut to `max` characters (the cut said so) without splitting a surrogate pair. */
export function boundMessage(text: string, max = maxErrorMessageLength): string {
  if (text.length <= max) return text;
  const suffix = ` … (${text.length - max} more characters)`;
  let end = Math.max(0, max - suffix.length);
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  return text.slice(0, end) + suffix;
}

/**
 * What may be shown of an error in a status, an event or a log: for an API error, the server's
 * message without the request line and without quoted values, bounded by `max`. The API
 * server quotes the offending value in a 422 (`spec.template: Invalid value:
 * core.PodTemplateSpec{…Env:[…{Name:"PASSWORD", Value:"…"}]…}: field is immutable`), and that
 * value may hold what the object's owner put in it, literal credentials included.
 */
export function errorMessage(err: unknown, max = maxErrorMessageLength): string {
  let text: string;
  if (err instanceof StatusError) text = err.status.message ? safeStatusMessage(err.status) : err.message;
  else if (err instanceof Error) text = err.message;
  else text = typeof err === 'string' ? err : 'a non-Error value was thrown';
  return boundMessage(text, max);
}

/** Field error types whose text carries the value (apimachinery's field.ErrorType strings). */
const quotesValue = /(Invalid value|Unsupported value|Duplicate value): /;

/**
 * A Status message with every quoted value replaced by `(value omitted)`. With causes (what the
 * API server sends for 422), each cause keeps its field and the detail after its value; without,
 * everything from the first quoted value to the last `: ` goes, which may take some detail with
 * it but never leaves part of a value.
 */
function safeStatusMessage(status: Status): string {
  const message = status.message ?? '';
  const first = quotesValue.exec(message);
  if (first === null) return message;
  const head = message.slice(0, first.index);
  const causes = status.details?.causes ?? [];
  const valued = causes.filter((c) => quotesValue.test(c.message ?? ''));
  if (valued.length > 0) {
    const parts = causes.map((c) => {
      const m = quotesValue.exec(c.message ?? '');
      const body =
        m === null ? (c.message ?? '') : `${m[1]}: (value omitted): ${afterLastColon(c.message ?? '')}`;
      return c.field ? `${c.field}: ${body}` : body;
    });
    // The head up to the first field error: `Job.batch "x" is invalid: `.
    const lead = /^(.*? is invalid: )/.exec(message)?.[1] ?? '';
    return `${lead}${parts.length === 1 ? parts[0] : `[${parts.join(', ')}]`}`;
  }
  return `${head}${first[1]}: (value omitted): ${afterLastColon(message)}`;
}

function afterLastColon(text: string): string {
  const at = text.lastIndexOf(': ');
  return at < 0 ? '' : text.slice(at + 2);
}
