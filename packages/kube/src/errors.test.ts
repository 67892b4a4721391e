import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StatusError, isConflict, isGone, isNetworkError, isNotFound, isRetryable } from './errors.ts';

describe('StatusError', () => {
  it('takes reason, message and causes from the server Status', () => {
    const err = new StatusError({
      code: 422,
      request: 'POST /api/v1/namespaces/default/configmaps',
      status: {
        kind: 'Status',
        reason: 'Invalid',
        message: 'ConfigMap "x" is invalid',
        details: { causes: [{ field: 'metadata.name', reason: 'FieldValueInvalid', message: 'bad' }] },
      },
    });
    assert.equal(err.reason, 'Invalid');
    assert.equal(err.code, 422);
    assert.deepEqual(
      err.causes.map((c) => c.field),
      ['metadata.name'],
    );
    assert.match(
      err.message,
      /^POST \/api\/v1\/namespaces\/default\/configmaps: ConfigMap "x" is invalid \(Invalid\)$/,
    );
  });

  it('falls back to the HTTP code when no Status came back', () => {
    const err = new StatusError({ code: 404, request: 'GET /x' });
    assert.equal(err.reason, 'NotFound');
    assert.equal(isNotFound(err), true);
    assert.equal(isConflict(err), false);
  });

  it('classifies 410 and Expired as Gone', () => {
    assert.equal(isGone(new StatusError({ code: 410, request: 'WATCH /x' })), true);
    assert.equal(
      isGone(new StatusError({ code: 410, request: 'GET /x', status: { reason: 'Expired' } })),
      true,
    );
  });

  it('marks throttling and server errors retryable, client errors not', () => {
    assert.equal(isRetryable(new StatusError({ code: 429, request: 'GET /x' })), true);
    assert.equal(isRetryable(new StatusError({ code: 503, request: 'GET /x' })), true);
    assert.equal(isRetryable(new StatusError({ code: 409, request: 'PUT /x' })), false);
    assert.equal(isRetryable(new StatusError({ code: 403, request: 'GET /x' })), false);
  });

  it('finds connection errors in the cause chain', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    assert.equal(isNetworkError(new Error('fetch failed', { cause: refused })), true);
    assert.equal(isNetworkError(new Error('plain')), false);
  });
});
