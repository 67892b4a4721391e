// What can go wrong talking to a broker, as typed errors the controllers branch on. Messages name
// the request and what was wrong with the answer, never a body: a bind response carries credentials.
import type { BrokerOutcome } from '../operations/orphan-mitigation.ts';

/** Any failed OSB request. `request` is what was asked, e.g. `PUT /v2/service_instances/abc`. */
export class OsbError extends Error {
  readonly request: string;

  constructor(request: string, message: string, options?: ErrorOptions) {
    super(`${request}: ${message}`, options);
    this.name = new.target.name;
    this.request = request;
  }
}

export interface OsbHttpErrorOptions {
  request: string;
  status: number;
  error?: string | undefined;
  description?: string | undefined;
  instanceUsable?: boolean | undefined;
  updateRepeatable?: boolean | undefined;
  retryAfterMs?: number | undefined;
}

/** Longest broker `description` kept in a message: it ends up in conditions and events. */
const maxDescription = 1024;

/**
 * The broker answered with a status the endpoint does not define as success (any 4xx/5xx, and a
 * 2xx the endpoint does not list, such as 204). `error` is the OSB error code, e.g. `ConcurrencyError`.
 */
export class OsbHttpError extends OsbError {
  readonly status: number;
  readonly error: string | undefined;
  readonly description: string | undefined;
  readonly instanceUsable: boolean | undefined;
  readonly updateRepeatable: boolean | undefined;
  readonly retryAfterMs: number | undefined;

  constructor(o: OsbHttpErrorOptions) {
    const description =
      o.description !== undefined && o.description.length > maxDescription
        ? `${o.description.slice(0, maxDescription)}…`
        : o.description;
    const detail = [o.error, description].filter((s) => s !== undefined && s !== '').join(': ');
    super(o.request, `broker answered ${o.status}${detail === '' ? '' : ` (${detail})`}`);
    this.status = o.status;
    this.error = o.error;
    this.description = description;
    this.instanceUsable = o.instanceUsable;
    this.updateRepeatable = o.updateRepeatable;
    this.retryAfterMs = o.retryAfterMs;
  }
}

/** A success status whose body is not the object the spec defines (not JSON, wrong field types, too large). */
export class OsbMalformedResponseError extends OsbError {
  readonly status: number;

  constructor(request: string, status: number, problem: string) {
    super(request, `broker answered ${status} with a malformed body: ${problem}`);
    this.status = status;
  }
}

/**
 * No complete answer: the timeout passed or the connection broke after the request was sent. The
 * broker may have acted on it (the orphan-mitigation table's "timeout" row).
 */
export class OsbTimeoutError extends OsbError {}

/** The request never reached the broker: connection refused, name not resolved, TLS rejected. */
export class OsbUnreachableError extends OsbError {}

/** A response of one of the defined success statuses, as `brokerOutcome` reads it. */
export interface OsbStatusLike {
  status: number;
}

/**
 * The row of the orphan-mitigation table an answer (a response or an error of this module) falls
 * in. Other errors (an abort by the caller) have no row: `undefined`.
 */
export function brokerOutcome(answer: unknown): BrokerOutcome | undefined {
  if (answer instanceof OsbHttpError) {
    return {
      kind: 'response',
      status: answer.status,
      ...(answer.error !== undefined && { error: answer.error }),
    };
  }
  if (answer instanceof OsbMalformedResponseError)
    return { kind: 'response', status: answer.status, malformed: true };
  if (answer instanceof OsbTimeoutError) return { kind: 'timeout' };
  if (answer instanceof OsbUnreachableError) return { kind: 'unreachable' };
  if (answer instanceof Error) return undefined;
  if (typeof answer === 'object' && answer !== null && typeof (answer as OsbStatusLike).status === 'number') {
    return { kind: 'response', status: (answer as OsbStatusLike).status };
  }
  return undefined;
}

const connectCodes = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
  'UND_ERR_CONNECT_TIMEOUT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
]);

/** Whether `err` (or a cause) says the connection was never made, so the broker cannot have seen the request. */
export function isConnectFailure(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code !== 'string') continue;
    if (connectCodes.has(code) || code.startsWith('ERR_TLS_') || code.startsWith('ERR_SSL_')) return true;
  }
  return false;
}
