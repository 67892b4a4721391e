import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checksum, resolveParameters } from './parameters.ts';
import type { ParametersError } from './parameters.ts';
import { checkParameters } from './schema.ts';

const secrets: Record<string, Record<string, string>> = {
  creds: { params: '{"password":"s3cret","size":3}', list: '["s3cret"]', bad: 's3cret' },
};
const readSecretKey = (name: string, key: string) => Promise.resolve(secrets[name]?.[key]);
const owner = 'ServiceInstance apps/db';

describe('parameters', () => {
  it('merges parametersFrom and inline parameters, redacting what came from Secrets', async () => {
    const got = await resolveParameters({
      owner,
      parameters: { tier: 'small' },
      parametersFrom: [{ secretKeyRef: { name: 'creds', key: 'params' } }],
      readSecretKey,
    });
    assert.deepEqual(got.parameters, { password: 's3cret', size: 3, tier: 'small' });
    assert.deepEqual(got.redacted, { password: '<redacted>', size: '<redacted>', tier: 'small' });
    assert.equal(
      got.checksum,
      checksum({ tier: 'small', size: 3, password: 's3cret' }),
      'key order does not matter',
    );
  });

  it('refuses a key set twice, naming both sources', async () => {
    await assert.rejects(
      resolveParameters({
        owner,
        parameters: { size: 1 },
        parametersFrom: [{ secretKeyRef: { name: 'creds', key: 'params' } }],
        readSecretKey,
      }),
      (err: ParametersError) =>
        err.reason === 'DuplicateParameter' &&
        /"size".*parametersFrom\[0\].*spec\.parameters/.test(err.message),
    );
  });

  it('refuses a missing Secret key and a value that is not a JSON object, without the value', async () => {
    for (const [key, reason] of [
      ['missing', 'ParametersSecretNotFound'],
      ['list', 'InvalidParametersFrom'],
      ['bad', 'InvalidParametersFrom'],
    ] as const) {
      await assert.rejects(
        resolveParameters({
          owner,
          parametersFrom: [{ secretKeyRef: { name: 'creds', key } }],
          readSecretKey,
        }),
        (err: ParametersError) =>
          err.reason === reason && err.message.includes(owner) && !err.message.includes('s3cret'),
      );
    }
  });

  it('is empty without parameters', async () => {
    const got = await resolveParameters({ owner, readSecretKey });
    assert.deepEqual(got.parameters, {});
    assert.equal(got.checksum, checksum({}));
  });
});

describe('parameter schemas', () => {
  const draft04 = {
    $schema: 'http://json-schema.org/draft-04/schema#',
    type: 'object',
    properties: { size: { type: 'integer', minimum: 1, maximum: 10, exclusiveMaximum: true } },
    required: ['size'],
    additionalProperties: false,
  };

  it('checks draft-04 schemas, boolean exclusiveMaximum (OSBP-7)', () => {
    assert.deepEqual(checkParameters(draft04, { size: 3 }), { valid: true, errors: [] });
    const tooBig = checkParameters(draft04, { size: 10 });
    assert.equal(tooBig.valid, false);
    assert.match(tooBig.errors[0] ?? '', /^parameters\.size must be < 10/);
    const extra = checkParameters(draft04, { size: 2, password: 's3cret' });
    assert.equal(extra.valid, false);
    assert.ok(!extra.errors.join().includes('s3cret'), 'errors never carry a value');
    assert.match(checkParameters(draft04, {}).errors[0] ?? '', /must have required property 'size'/);
  });

  it('checks draft-07 schemas with the modern dialect', () => {
    const schema = {
      $schema: 'http://json-schema.org/draft-07/schema#',
      type: 'object',
      properties: { n: { const: 1 } },
    };
    assert.equal(checkParameters(schema, { n: 1 }).valid, true);
    assert.equal(checkParameters(schema, { n: 2 }).valid, false);
  });

  it('accepts anything without a schema, and reports a schema that does not compile', () => {
    assert.equal(checkParameters(undefined, { x: 1 }).valid, true);
    const broken = checkParameters(
      { $schema: 'http://json-schema.org/draft-04/schema#', type: 'nonsense' },
      {},
    );
    assert.equal(broken.valid, false);
    assert.equal(broken.invalidSchema, true);
  });

  it('compiles a schema with an id more than once', () => {
    const schema = { ...draft04, id: 'http://example.com/plan' };
    assert.equal(checkParameters(schema, { size: 1 }).valid, true);
    assert.equal(checkParameters({ ...schema, description: 'changed' }, { size: 1 }).valid, true);
  });
});
