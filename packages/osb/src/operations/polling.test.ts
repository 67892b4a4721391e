import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { nextPoll, parseRetryAfter, pollingDurationMs } from './polling.ts';

const t0 = Date.parse('2026-12-03T07:00:00Z');

describe('Retry-After', () => {
  it('reads delta-seconds', () => {
    assert.equal(parseRetryAfter('120', t0), 120_000);
    assert.equal(parseRetryAfter(' 0 ', t0), 0);
  });

  it('reads an HTTP-date relative to now', () => {
    assert.equal(parseRetryAfter('Thu, 03 Dec 2026 07:00:30 GMT', t0), 30_000);
    assert.equal(parseRetryAfter('Thu, 03 Dec 2026 06:59:00 GMT', t0), 0, 'a date in the past means now');
  });

  it('ignores what it cannot read', () => {
    assert.equal(parseRetryAfter(undefined, t0), undefined);
    assert.equal(parseRetryAfter(null, t0), undefined);
    assert.equal(parseRetryAfter('-5', t0), undefined);
    assert.equal(parseRetryAfter('1.5', t0), undefined);
    assert.equal(parseRetryAfter('soon', t0), undefined);
  });
});

describe('poll schedule', () => {
  it('doubles from the minimum up to the ceiling without a hint', () => {
    const delays = [0, 1, 2, 3, 10, 60].map((attempts) =>
      nextPoll({ startedAt: t0, attempts }, t0, { maxDelayMs: 30_000 }),
    );
    assert.deepEqual(delays, [
      { pollInMs: 1000 },
      { pollInMs: 2000 },
      { pollInMs: 4000 },
      { pollInMs: 8000 },
      { pollInMs: 30_000 },
      { pollInMs: 30_000 },
    ]);
  });

  it("honours the broker's Retry-After, in seconds or as a date (OSBP-11)", () => {
    assert.deepEqual(nextPoll({ startedAt: t0, attempts: 5, retryAfter: '3' }, t0), { pollInMs: 3000 });
    assert.deepEqual(
      nextPoll({ startedAt: t0, attempts: 0, retryAfter: 'Thu, 03 Dec 2026 07:00:10 GMT' }, t0),
      {
        pollInMs: 10_000,
      },
    );
  });

  it('bounds Retry-After from the network between the floor and the ceiling', () => {
    assert.deepEqual(nextPoll({ startedAt: t0, attempts: 0, retryAfter: '0' }, t0), { pollInMs: 1000 });
    assert.deepEqual(
      nextPoll({ startedAt: t0, attempts: 0, retryAfter: '999999999' }, t0, { maxDelayMs: 60_000 }),
      {
        pollInMs: 60_000,
      },
    );
  });

  it('expires after maximum_polling_duration, with a last poll on the deadline (OSBP-12)', () => {
    const state = { startedAt: t0, attempts: 4, maximumPollingDurationSeconds: 20 };
    assert.deepEqual(
      nextPoll(state, t0 + 15_000),
      { pollInMs: 5000 },
      'the 16 s backoff is cut to the deadline',
    );
    assert.deepEqual(nextPoll(state, t0 + 20_000), { expired: true });
    assert.deepEqual(nextPoll(state, t0 + 25_000), { expired: true });
  });

  it("uses the platform's limit when the plan sets none or nonsense", () => {
    assert.equal(pollingDurationMs(undefined, { defaultMaxDurationMs: 60_000 }), 60_000);
    assert.equal(pollingDurationMs(-1, { defaultMaxDurationMs: 60_000 }), 60_000);
    assert.equal(pollingDurationMs(Number.NaN, { defaultMaxDurationMs: 60_000 }), 60_000);
    assert.equal(pollingDurationMs(30), 30_000);
    assert.deepEqual(
      nextPoll({ startedAt: t0, attempts: 0 }, t0 + 61_000, { defaultMaxDurationMs: 60_000 }),
      {
        expired: true,
      },
    );
  });
});
