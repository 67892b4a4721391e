import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { JsonPathError } from './error.ts';
import { ensureFixed, getFixed, JsonPathTypeError, parseFixedJsonPath } from './fixed.ts';

describe('parseFixedJsonPath', () => {
  const ok: Array<[string, string[]]> = [
    ['.name', ['name']],
    ["['name']", ['name']],
    ['.spec.template.spec.volumes', ['spec', 'template', 'spec', 'volumes']],
    [".spec['template'].spec['volumes']", ['spec', 'template', 'spec', 'volumes']],
    ['$.a.b', ['a', 'b']],
    ['@.a', ['a']],
    ["['a.b']", ['a.b']],
    ["['app.kubernetes.io/name']", ['app.kubernetes.io/name']],
    ['.a\\.b', ['a.b']],
    ['.a-b_c/d', ['a-b_c/d']],
    ['', []],
    ['.', []],
    ['$', []],
  ];
  for (const [expression, fields] of ok) {
    it(`FJ-1: ${JSON.stringify(expression)} → ${JSON.stringify(fields)}`, () => {
      assert.deepEqual(parseFixedJsonPath(expression).fields, fields);
    });
  }

  // FJ-3: "MUST NOT use type and operators other than fields separated by the child operator":
  // texts, identifiers, filters, ints, floats, wildcards, recursives, unions, bools, arrays.
  const bad: Array<[string, RegExp]> = [
    ['.spec.containers[*]', /wildcard/],
    ['.spec.*', /wildcard/],
    ['..name', /recursive/],
    ['.spec..name', /recursive/],
    ['.containers[0]', /array index/],
    ['.containers[1:2]', /array index or slice/],
    ['.containers[?(@.name=="x")]', /filter/],
    [".a['b','c']", /expected "\]"/],
    ['.a["b"]', /double-quoted/],
    ['spec.template', /must start with "\." or "\["/],
    ["'text'", /must start/],
    ['1', /must start/],
    ['true', /must start/],
    ['.a,b', /unexpected ","/],
    ['.a.', /expected a field name/],
    [".a['b", /unterminated/],
    ["['']", /empty key/],
    ['.a\\', /dangling/],
  ];
  for (const [expression, reason] of bad) {
    it(`FJ-3: rejects ${JSON.stringify(expression)}, naming it`, () => {
      assert.throws(
        () => parseFixedJsonPath(expression),
        (err: unknown) =>
          err instanceof JsonPathError &&
          err.expression === expression &&
          err.message.includes(JSON.stringify(expression)) &&
          reason.test(err.message),
      );
    });
  }
});

describe('getFixed / ensureFixed', () => {
  const path = parseFixedJsonPath('.spec.template.metadata.annotations');

  it('reads through objects; missing or null is undefined', () => {
    assert.deepEqual(getFixed({ spec: { template: { metadata: { annotations: { a: '1' } } } } }, path), {
      a: '1',
    });
    assert.equal(getFixed({ spec: {} }, path), undefined);
    assert.equal(getFixed({ spec: { template: null } }, path), undefined);
    assert.equal(getFixed({ spec: { template: { metadata: { annotations: null } } } }, path), undefined);
  });

  it('RB-7: creates missing locations and intermediate objects, in place', () => {
    const root: Record<string, unknown> = { spec: { replicas: 1, template: null } };
    const made = ensureFixed(root, path, () => ({}));
    assert.deepEqual(root, { spec: { replicas: 1, template: { metadata: { annotations: {} } } } });
    assert.equal(made, getFixed(root, path));
  });

  it('RB-7: returns an existing value untouched', () => {
    const list = [{ name: 'x' }];
    const root = { env: list };
    assert.equal(
      ensureFixed(root, parseFixedJsonPath('.env'), () => []),
      list,
    );
  });

  it('RB-9: refuses to write through a value that is not an object, naming where', () => {
    assert.throws(
      () => ensureFixed({ spec: { template: 'oops' } }, path, () => ({})),
      (err: unknown) =>
        err instanceof JsonPathTypeError && err.at === '.spec.template' && /a string/.test(err.message),
    );
    assert.throws(() => getFixed({ spec: [] }, path), JsonPathTypeError);
  });

  it('treats __proto__ as data', () => {
    const root: Record<string, unknown> = {};
    ensureFixed(root, parseFixedJsonPath("['__proto__'].x"), () => []);
    assert.ok(Object.hasOwn(root, '__proto__'));
    assert.equal(Object.getPrototypeOf(root), Object.prototype);
  });
});
