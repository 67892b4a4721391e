// When to poll `last_operation` next, and when to give up: the broker's `Retry-After` (delta-seconds
// or an HTTP-date, OSB 2.15+) is honoured within bounds, otherwise the delay doubles from a minimum;
// the plan's `maximum_polling_duration` (or the platform's own limit) ends polling, after which the
// operation MUST be treated as failed.

export interface PollingOptions {
  /** First delay and floor, ms (default 1 s). */
  minDelayMs?: number;
  /** Ceiling of the doubling delay and of a broker's `Retry-After`, ms (default 5 min). */
  maxDelayMs?: number;
  /** The platform's limit when the plan sets none, ms (default 7 days, as Service Catalog's). */
  defaultMaxDurationMs?: number;
}

export interface PollState {
  /** When the operation started (ms since epoch), as recorded in status. */
  startedAt: number;
  /** Polls answered so far without a final state. */
  attempts: number;
  /** The plan's `maximum_polling_duration`, seconds. */
  maximumPollingDurationSeconds?: number;
  /** The last answer's `Retry-After` header, verbatim. */
  retryAfter?: string | null;
  /** The same, already read as ms from now (when the client parsed it). */
  retryAfterMs?: number | undefined;
}

export type PollDecision = { pollInMs: number } | { expired: true };

const defaults = { minDelayMs: 1000, maxDelayMs: 5 * 60_000, defaultMaxDurationMs: 7 * 24 * 3600_000 };

/** The delay before the next poll, or `expired` once the polling duration is used up. */
export function nextPoll(state: PollState, now: number, options: PollingOptions = {}): PollDecision {
  const min = options.minDelayMs ?? defaults.minDelayMs;
  const max = Math.max(min, options.maxDelayMs ?? defaults.maxDelayMs);
  const deadline = state.startedAt + pollingDurationMs(state.maximumPollingDurationSeconds, options);
  if (now >= deadline) return { expired: true };
  const hinted = parseRetryAfter(state.retryAfter, now) ?? state.retryAfterMs;
  const backoff = min * 2 ** Math.min(Math.max(0, state.attempts), 30);
  const delay = clamp(hinted ?? backoff, min, max);
  // The last poll lands on the deadline, so a slow operation still gets its final answer read.
  return { pollInMs: Math.min(delay, deadline - now) };
}

/** The polling limit in ms: the plan's `maximum_polling_duration` when it is a positive number. */
export function pollingDurationMs(
  maximumPollingDurationSeconds: number | undefined,
  options: PollingOptions = {},
): number {
  const fallback = options.defaultMaxDurationMs ?? defaults.defaultMaxDurationMs;
  if (
    maximumPollingDurationSeconds === undefined ||
    !Number.isFinite(maximumPollingDurationSeconds) ||
    maximumPollingDurationSeconds <= 0
  ) {
    return fallback;
  }
  return maximumPollingDurationSeconds * 1000;
}

/**
 * `Retry-After` in ms from `now`: delta-seconds (`120`) or an HTTP-date
 * (`Wed, 21 Oct 2026 07:28:00 GMT`); `undefined` when absent or unreadable.
 */
export function parseRetryAfter(value: string | null | undefined, now: number): number | undefined {
  if (value === null || value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  if (!/[a-z]/i.test(text)) return undefined;
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}
