import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileFixedJsonPath, ensureFixed, getFixed, JsonPathTypeError } from './fixed.ts';

// The grammar's tests (FJ-1, FJ-3) are with its parser, in apis/fixed-jsonpath.test.ts.
describe('getFixed / ensureFixed', () => {
  const path = compileFixedJsonPath('.spec.template.metadata.annotations');

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
      ensureFixed(root, compileFixedJsonPath('.env'), () => []),
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

  it('refuses __proto__, constructor and prototype, and writes other keys as data', () => {
    for (const expr of ["['__proto__'].x", '.constructor.prototype', '.a.prototype'])
      assert.throws(() => compileFixedJsonPath(expr), /is not allowed/);
    const root: Record<string, unknown> = {};
    ensureFixed(root, compileFixedJsonPath('.toString.x'), () => []);
    assert.ok(Object.hasOwn(root, 'toString'));
    assert.deepEqual(root, { toString: { x: [] } });
    assert.equal(Object.getPrototypeOf(root), Object.prototype);
  });
});
