import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { schemaDraft, validateParameters } from './schemas.ts';

describe('plan parameter schemas', () => {
  it('picks the draft from $schema, 07 without one, and refuses one it does not know', () => {
    assert.equal(schemaDraft({ $schema: 'http://json-schema.org/draft-04/schema#' }), '04');
    assert.equal(schemaDraft({ $schema: 'http://json-schema.org/draft-06/schema#' }), '06');
    assert.equal(schemaDraft({}), '07');
    assert.equal(schemaDraft({ $schema: 'https://json-schema.org/draft/2019-09/schema' }), '2019-09');
    assert.equal(schemaDraft({ $schema: 'https://json-schema.org/draft/2020-12/schema' }), '2020-12');
    assert.throws(() => schemaDraft({ $schema: 'https://example.com/my-schema' }), /not a JSON Schema draft/);
  });

  it("validates with each draft's own meaning of a keyword", () => {
    // draft-04: exclusiveMaximum is a boolean next to maximum; from draft-06 on it is a number.
    const draft04 = {
      $schema: 'http://json-schema.org/draft-04/schema#',
      properties: { n: { maximum: 3, exclusiveMaximum: true } },
    };
    assert.deepEqual(validateParameters(draft04, { n: 3 }), ['parameters/n must be < 3']);
    assert.deepEqual(validateParameters(draft04, { n: 2 }), []);
    const draft06 = {
      $schema: 'http://json-schema.org/draft-06/schema#',
      properties: { n: { exclusiveMaximum: 3 } },
    };
    assert.deepEqual(validateParameters(draft06, { n: 3 }), ['parameters/n must be < 3']);
    const draft2020 = {
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      properties: { tags: { prefixItems: [{ type: 'string' }], items: false } },
    };
    assert.equal(validateParameters(draft2020, { tags: ['a', 'b'] }).length, 1);
  });

  it('validates absent parameters as an empty object, and names paths, never values', () => {
    const schema = {
      type: 'object',
      required: ['password'],
      properties: { password: { type: 'string', minLength: 12 } },
    };
    assert.deepEqual(validateParameters(schema, undefined), [
      "parameters must have required property 'password'",
    ]);
    const problems = validateParameters(schema, { password: 'hunter2' });
    assert.deepEqual(problems, ['parameters/password must NOT have fewer than 12 characters']);
    assert.ok(!problems.join().includes('hunter2'));
  });

  it('compiles one schema object once, and two catalogs with the same $id do not collide', () => {
    const a = { $id: 'https://example.com/s', type: 'object', properties: { x: { type: 'integer' } } };
    const b = { $id: 'https://example.com/s', type: 'object', properties: { x: { type: 'string' } } };
    assert.deepEqual(validateParameters(a, { x: 1 }), []);
    assert.deepEqual(validateParameters(b, { x: 'one' }), []);
    assert.equal(validateParameters(b, { x: 1 }).length, 1);
  });
});
