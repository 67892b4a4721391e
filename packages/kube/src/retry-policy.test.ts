import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StatusError } from './errors.ts';
import { retryDelay } from './retry-policy.ts';

const status = (code: number, retryAfterSeconds?: number): StatusError =>
  new StatusError({
    code,
    request: 'GET /x',
    ...(retryAfterSeconds !== undefined && { status: { details: { retryAfterSeconds } } }),
  });
const netError = (code: string, message = code): Error => Object.assign(new Error(message), { code });
const delay = (method: string, err: unknown, attempt = 1, maxAttempts = 5): number | undefined =>
  retryDelay({ method, err, attempt, maxAttempts, baseDelayMs: 100 });

describe('retryDelay: which failed requests the transport sends again', () => {
  it('retries 429, 503 and 504 for any verb, other 5xx only for GET, 4xx never', () => {
    for (const method of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE']) {
      for (const code of [429, 503, 504]) assert.equal(delay(method, status(code)), 100, `${method} ${code}`);
      assert.equal(delay(method, status(500)), method === 'GET' ? 100 : undefined, `${method} 500`);
      assert.equal(delay(method, status(502)), method === 'GET' ? 100 : undefined, `${method} 502`);
      for (const code of [400, 401, 403, 404, 409, 422]) assert.equal(delay(method, status(code)), undefined);
    }
  });

  it('honours Retry-After, capped at 30 s', () => {
    assert.equal(delay('POST', status(429, 7)), 7_000);
    assert.equal(delay('PUT', status(503, 3600)), 30_000);
  });

  it('backs off exponentially to 5 s, and stops at maxAttempts', () => {
    assert.deepEqual(
      [1, 2, 3, 4, 5, 6, 7, 8].map((attempt) => delay('GET', status(503), attempt, 10)),
      [100, 200, 400, 800, 1600, 3200, 5000, 5000],
    );
    assert.equal(delay('GET', status(503), 3, 3), undefined);
    assert.equal(delay('GET', netError('ECONNRESET'), 5, 5), undefined);
  });

  it('retries a refused connection for any verb, a reset, broken pipe or timeout mid-request only for GET', () => {
    const refused = new Error('request failed', { cause: netError('ECONNREFUSED') });
    assert.equal(delay('POST', refused), 100);
    for (const code of ['ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ERR_HEADERS_TIMEOUT']) {
      assert.equal(delay('GET', netError(code)), 100, code);
      assert.equal(delay('POST', netError(code)), undefined, code);
    }
    // Node's "socket hang up" is an ECONNRESET.
    assert.equal(delay('DELETE', netError('ECONNRESET', 'socket hang up')), undefined);
    assert.equal(delay('GET', netError('ECONNRESET', 'socket hang up')), 100);
  });

  it('never retries what is not a network error: TLS verification, programming errors', () => {
    assert.equal(delay('GET', netError('ERR_TLS_CERT_ALTNAME_INVALID')), undefined);
    assert.equal(delay('GET', netError('DEPTH_ZERO_SELF_SIGNED_CERT')), undefined);
    assert.equal(delay('GET', new TypeError('x is not a function')), undefined);
  });
});
