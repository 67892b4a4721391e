// Errors a broker throws to answer with an OSB error response. The body is the spec's error object:
// `error` (a camel-case code, for the failures the spec names) and a user-facing `description`.

/** The error codes OSB 2.17 defines; a broker MUST use them for these failures. */
export type OsbErrorCode = 'AsyncRequired' | 'ConcurrencyError' | 'RequiresApp' | 'MaintenanceInfoConflict';

export interface ErrorBody {
  error?: string;
  description?: string;
  /** For a failed update or deprovision: whether the instance can still be used (default true). */
  instance_usable?: boolean;
  /** For a failed update: whether repeating it may succeed (default true). */
  update_repeatable?: boolean;
}

export interface BrokerErrorOptions {
  error?: OsbErrorCode | (string & {});
  description?: string;
  instance_usable?: boolean;
  update_repeatable?: boolean;
}

/**
 * Thrown by a broker (or by the server's own checks) to answer with `status` and the spec's error
 * body. `notFound()` is answered per endpoint: 410 Gone on a delete or a `last_operation`, 404 on a
 * fetch, so the broker does not have to know which one the spec wants.
 */
export class BrokerError extends Error {
  readonly status: number;
  readonly body: ErrorBody;
  /** "The instance or binding does not exist": 410 or 404 depending on the endpoint. */
  readonly missing: boolean;

  constructor(status: number, options: BrokerErrorOptions = {}, missing = false) {
    super(options.description ?? options.error ?? `HTTP ${status}`);
    this.name = 'BrokerError';
    this.status = status;
    this.missing = missing;
    const body: ErrorBody = {};
    if (options.error !== undefined) body.error = options.error;
    if (options.description !== undefined) body.description = options.description;
    if (options.instance_usable !== undefined) body.instance_usable = options.instance_usable;
    if (options.update_repeatable !== undefined) body.update_repeatable = options.update_repeatable;
    this.body = body;
  }

  /** 400: malformed or missing data. */
  static badRequest(description: string): BrokerError {
    return new BrokerError(400, { description });
  }

  /** 409: the id exists (or is being created) with different attributes. */
  static conflict(description = 'The resource already exists with different attributes.'): BrokerError {
    return new BrokerError(409, { description });
  }

  /** The instance or binding does not exist: 410 on delete and last_operation, 404 on GET. */
  static notFound(description?: string): BrokerError {
    return new BrokerError(404, description === undefined ? {} : { description }, true);
  }

  /** 410 Gone, whatever the endpoint. */
  static gone(description?: string): BrokerError {
    return new BrokerError(410, description === undefined ? {} : { description });
  }

  /** 422 with no code: a change the broker does not support (a plan change, quota). */
  static unprocessable(
    description: string,
    extra: Omit<BrokerErrorOptions, 'description'> = {},
  ): BrokerError {
    return new BrokerError(422, { ...extra, description });
  }

  /** 422 `AsyncRequired`: the request must carry `accepts_incomplete=true`. */
  static asyncRequired(
    description = 'This Service Plan requires client support for asynchronous service operations.',
  ): BrokerError {
    return new BrokerError(422, { error: 'AsyncRequired', description });
  }

  /** 422 `ConcurrencyError`: another operation on the same resource is in progress. */
  static concurrency(
    description = 'Another operation for this Service Instance is in progress.',
  ): BrokerError {
    return new BrokerError(422, { error: 'ConcurrencyError', description });
  }

  /** 422 `RequiresApp`: the bind request has no `app_guid`. */
  static requiresApp(
    description = 'This Service supports generation of credentials through binding an application only.',
  ): BrokerError {
    return new BrokerError(422, { error: 'RequiresApp', description });
  }

  /** 422 `MaintenanceInfoConflict`: `maintenance_info.version` differs from the catalog's. */
  static maintenanceInfoConflict(
    description = 'The maintenance_info.version in the request does not match the catalog.',
  ): BrokerError {
    return new BrokerError(422, { error: 'MaintenanceInfoConflict', description });
  }
}
