import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  StatusError,
  boundMessage,
  errorMessage,
  isConflict,
  isGone,
  isNetworkError,
  isNotFound,
  isRetryable,
} from './errors.ts';

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

describe('errorMessage: what an API error may show in a status, an event or a log', () => {
  // What kube-apiserver answers to an update of a Job's pod template (immutable): the value is
  // the whole template, literal env values included.
  const template =
    'core.PodTemplateSpec{ObjectMeta:v1.ObjectMeta{Name:"", Labels:map[string]string{"job-name":"pi"}}, Spec:core.PodSpec{Containers:[]core.Container{core.Container{Name:"pi", Env:[]core.EnvVar{core.EnvVar{Name:"DB_PASSWORD", Value:"hunter2: s3cret", ValueFrom:(*core.EnvVarSource)(nil)}}}}}}';
  const immutable = new StatusError({
    code: 422,
    request: 'PUT /apis/batch/v1/namespaces/default/jobs/pi',
    status: {
      kind: 'Status',
      status: 'Failure',
      reason: 'Invalid',
      code: 422,
      message: `Job.batch "pi" is invalid: spec.template: Invalid value: ${template}: field is immutable`,
      details: {
        name: 'pi',
        group: 'batch',
        kind: 'Job',
        causes: [
          {
            reason: 'FieldValueInvalid',
            message: `Invalid value: ${template}: field is immutable`,
            field: 'spec.template',
          },
        ],
      },
    },
  });

  it('drops the value a 422 quotes, keeping the field and the detail', () => {
    assert.equal(
      errorMessage(immutable),
      'Job.batch "pi" is invalid: spec.template: Invalid value: (value omitted): field is immutable',
    );
    assert.doesNotMatch(immutable.message, /hunter2|s3cret|DB_PASSWORD/);
    assert.match(
      immutable.message,
      /^PUT \/apis\/batch\/v1\/namespaces\/default\/jobs\/pi: Job\.batch "pi" is invalid: /,
    );
  });

  it('keeps the Status out of what a log serializer copies from the error', () => {
    const copied: Record<string, unknown> = {};
    for (const key in immutable) copied[key] = (immutable as unknown as Record<string, unknown>)[key];
    assert.doesNotMatch(JSON.stringify(copied), /hunter2/);
    assert.doesNotMatch(JSON.stringify(immutable), /hunter2/);
    assert.equal(immutable.status.details?.name, 'pi', 'still there for callers that read it');
  });

  it('without causes, drops everything from the first quoted value to the last detail', () => {
    const err = new StatusError({
      code: 422,
      request: 'PUT /x',
      status: {
        reason: 'Invalid',
        message: 'ConfigMap "c" is invalid: data: Invalid value: "a: b": must be short',
      },
    });
    assert.equal(
      errorMessage(err),
      'ConfigMap "c" is invalid: data: Invalid value: (value omitted): must be short',
    );
  });

  it('keeps messages without a value as the server wrote them, and other errors as thrown', () => {
    const notFound = new StatusError({
      code: 404,
      request: 'GET /x',
      status: { message: 'configmaps "x" not found' },
    });
    assert.equal(errorMessage(notFound), 'configmaps "x" not found');
    assert.equal(errorMessage(new Error('boom')), 'boom');
    assert.equal(errorMessage('text'), 'text');
    assert.equal(errorMessage(undefined), 'a non-Error value was thrown');
  });

  it('is bounded, and says how much was cut', () => {
    const long = new StatusError({ code: 500, request: 'GET /x', status: { message: 'x'.repeat(100_000) } });
    assert.ok(long.message.length <= 1024);
    assert.ok(errorMessage(long).length <= 1024);
    assert.match(errorMessage(long), /… \(\d+ more characters\)$/);
    assert.equal(boundMessage('short'), 'short');
    assert.equal(boundMessage('😀'.repeat(20), 25).length <= 25, true);
    assert.doesNotMatch(boundMessage('😀'.repeat(20), 25), /[\ud800-\udbff](?![\udc00-\udfff])/);
  });
});
