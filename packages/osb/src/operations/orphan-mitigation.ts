// How the platform reads a broker's answer to a mutating request: the orphan-mitigation table of
// OSB 2.17 ("Orphan Mitigation"), per request type, plus the status codes each endpoint defines
// (409, 410, 422 error codes). Pure, so every row is a table test; the controllers act on the verdict.

/** The mutating OSB requests. */
export type OsbRequestType = 'provision' | 'update' | 'deprovision' | 'bind' | 'unbind';

/** What came back from the broker, reduced to what the table distinguishes. */
export type BrokerOutcome =
  /** An HTTP answer; `malformed` when the body of a 2xx could not be read as the spec's object. */
  | { kind: 'response'; status: number; malformed?: boolean; error?: string }
  /** No answer within the platform's timeout: the request may or may not have been acted on. */
  | { kind: 'timeout' }
  /** No connection (refused, DNS, TLS): the request never reached the broker. */
  | { kind: 'unreachable' }
  /** `last_operation` of an async operation answered `"state": "failed"`. */
  | { kind: 'lastOperationFailed' };

export type Verdict =
  /** Done: 200/201 (and 410 for a delete, which is gone). */
  | 'succeeded'
  /** 202: poll `last_operation`. */
  | 'accepted'
  /** Failed; `retry` says whether the same request may be sent again later. */
  | 'failed';

export interface Interpretation {
  verdict: Verdict;
  /**
   * Send DELETE for the resource this request may have created (and repeat it until 200 or 410):
   * the instance for provision/deprovision, the binding for bind/unbind.
   */
  orphanMitigation: boolean;
  /** Whether the original request may be repeated (after backoff) without the user changing anything. */
  retry: boolean;
  /** A condition reason: the table row, as a CamelCase word. */
  reason: string;
}

const deletes = new Set<OsbRequestType>(['deprovision', 'unbind']);
const creates = new Set<OsbRequestType>(['provision', 'bind']);

/** The table: what `outcome` of `request` means, and whether to orphan-mitigate. */
export function interpretOutcome(request: OsbRequestType, outcome: BrokerOutcome): Interpretation {
  switch (outcome.kind) {
    case 'unreachable':
      // The request was never received; nothing can have been created.
      return { verdict: 'failed', orphanMitigation: false, retry: true, reason: 'BrokerUnreachable' };
    case 'timeout':
      // Only a create can leave an orphan behind; a timed-out delete or update is simply retried.
      return {
        verdict: 'failed',
        orphanMitigation: creates.has(request),
        retry: true,
        reason: 'BrokerTimeout',
      };
    case 'lastOperationFailed':
      // Row "last_operation 200 failed": OM for provision/deprovision and bind/unbind, never for update.
      return {
        verdict: 'failed',
        orphanMitigation: request !== 'update',
        retry: deletes.has(request),
        reason: 'OperationFailed',
      };
    case 'response':
      return interpretStatus(request, outcome.status, outcome.malformed === true, outcome.error);
  }
}

function interpretStatus(
  request: OsbRequestType,
  status: number,
  malformed: boolean,
  error?: string,
): Interpretation {
  const mitigate = request !== 'update';
  if (status === 200) {
    // "200 with malformed response: failure, no OM" for every request type.
    if (malformed)
      return { verdict: 'failed', orphanMitigation: false, retry: true, reason: 'MalformedResponse' };
    return { verdict: 'succeeded', orphanMitigation: false, retry: false, reason: 'Succeeded' };
  }
  if (status === 201 || status === 202) {
    if (malformed) {
      // 2.17: a malformed 201/202 to a provision or bind is a failure that needs OM.
      return {
        verdict: 'failed',
        orphanMitigation: creates.has(request),
        retry: true,
        reason: 'MalformedResponse',
      };
    }
    return {
      verdict: status === 201 ? 'succeeded' : 'accepted',
      orphanMitigation: false,
      retry: false,
      reason: 'Succeeded',
    };
  }
  if (status >= 200 && status < 300) {
    return { verdict: 'failed', orphanMitigation: mitigate, retry: true, reason: 'UnexpectedSuccessStatus' };
  }
  if (status === 408) {
    // The broker did not receive the request: nothing to mitigate, try again.
    return { verdict: 'failed', orphanMitigation: false, retry: true, reason: 'BrokerRequestTimeout' };
  }
  if (status === 410 && deletes.has(request)) {
    return { verdict: 'succeeded', orphanMitigation: false, retry: false, reason: 'Gone' };
  }
  if (status === 422 && error === 'ConcurrencyError') {
    // The spec: wait for the pending operation and retry; MUST NOT orphan-mitigate.
    return { verdict: 'failed', orphanMitigation: false, retry: true, reason: 'ConcurrencyError' };
  }
  if (status === 409 && creates.has(request)) {
    // An object with this id exists with other attributes: never delete what may not be ours.
    return { verdict: 'failed', orphanMitigation: false, retry: false, reason: 'Conflict' };
  }
  if (status >= 400 && status < 500) {
    // Rejected; the broker left everything unchanged. Auth and rate limits can clear up by themselves.
    const transient = status === 401 || status === 403 || status === 429;
    return {
      verdict: 'failed',
      orphanMitigation: false,
      retry: transient,
      reason: rejectedReason(status, error),
    };
  }
  if (status >= 500 && status < 600) {
    return { verdict: 'failed', orphanMitigation: mitigate, retry: true, reason: 'BrokerError' };
  }
  // 1xx and 3xx are not OSB answers: like other failures, mitigate what may have been created.
  return {
    verdict: 'failed',
    orphanMitigation: mitigate && status >= 300,
    retry: true,
    reason: 'UnexpectedStatus',
  };
}

function rejectedReason(status: number, error?: string): string {
  if (error === 'AsyncRequired' || error === 'MaintenanceInfoConflict' || error === 'RequiresApp')
    return error;
  if (status === 400) return 'BadRequest';
  if (status === 401 || status === 403) return 'BrokerAuthFailed';
  if (status === 422) return 'UnprocessableEntity';
  return 'RequestRejected';
}

/** How a `last_operation` answer other than a final `state` is read (the spec's "SHOULD keep polling"). */
export type PollVerdict = 'inProgress' | 'succeeded' | 'failed' | 'gone' | 'keepPolling';

/**
 * One `last_operation` answer for `request`: 410 means gone only for an async delete (success),
 * 404 means the resource does not exist, any other non-200 or an unknown state keeps polling.
 */
export function interpretPoll(request: OsbRequestType, status: number, state: unknown): PollVerdict {
  if (status === 200) {
    if (state === 'succeeded') return 'succeeded';
    if (state === 'failed') return 'failed';
    if (state === 'in progress') return 'inProgress';
    return 'keepPolling';
  }
  if (status === 410 || status === 404)
    return deletes.has(request) ? 'gone' : status === 404 ? 'failed' : 'keepPolling';
  return 'keepPolling';
}
