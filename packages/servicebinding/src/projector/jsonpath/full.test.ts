import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { JsonPathError } from './error.ts';
import { evaluateJsonPath, parseJsonPath } from './full.ts';

const doc = {
  spec: {
    template: {
      spec: {
        initContainers: [{ name: 'init' }],
        containers: [
          { name: 'a', port: 80, ready: true },
          { name: 'b', port: 8080 },
          { name: 'c', port: 9090, ready: false },
        ],
      },
    },
    'odd.key': { containers: [{ name: 'z' }] },
  },
};

const names = (expression: string): unknown[] =>
  evaluateJsonPath(doc, parseJsonPath(expression)).map((v) => (v as { name?: unknown }).name ?? v);

describe('evaluateJsonPath (kubectl dialect)', () => {
  const cases: Array<[string, unknown[]]> = [
    ['.spec.template.spec.containers[*]', ['a', 'b', 'c']],
    ['.spec.template.spec.initContainers[*]', ['init']],
    ['$.spec.template.spec.containers[*]', ['a', 'b', 'c']],
    ["['spec']['template'].spec.containers[*]", ['a', 'b', 'c']],
    ['.spec["template"].spec.containers[0]', ['a']],
    ['.spec.template.spec.containers[-1]', ['c']],
    ['.spec.template.spec.containers[0,2]', ['a', 'c']],
    ['.spec.template.spec.containers[5]', []],
    ['.spec.template.spec.containers[1:]', ['b', 'c']],
    ['.spec.template.spec.containers[:2]', ['a', 'b']],
    ['.spec.template.spec.containers[::2]', ['a', 'c']],
    ['.spec.template.spec.containers[-2:]', ['b', 'c']],
    ['..containers[*]', ['a', 'b', 'c', 'z']],
    ['..name', ['init', 'a', 'b', 'c', 'z']],
    ["..[?(@.name=='b')]", ['b']],
    ['.spec.template.spec.containers[?(@.name=="a")]', ['a']],
    ['.spec.template.spec.containers[?(@.name != "a")]', ['b', 'c']],
    ['.spec.template.spec.containers[?(@.port > 100)]', ['b', 'c']],
    ['.spec.template.spec.containers[?(@.port<=8080)]', ['a', 'b']],
    ['.spec.template.spec.containers[?(@.ready)]', ['a']],
    ['.spec.template.spec.containers[?(@.ready==false)]', ['c']],
    ["['spec']['odd.key'].containers[*]", ['z']],
    ['.spec.missing[*]', []],
    ['.spec.template.spec.containers.name', []],
    ['.', [doc]],
  ];
  for (const [expression, expected] of cases) {
    it(`FJ-2 WM-14: ${expression}`, () => assert.deepEqual(names(expression), expected));
  }

  it('FJ-2: .* yields the values of an object, in key order', () => {
    assert.deepEqual(evaluateJsonPath({ a: 1, b: [2] }, parseJsonPath('.*')), [1, [2]]);
  });

  it('returns references, so matches can be edited in place', () => {
    const [first] = evaluateJsonPath(doc, parseJsonPath('.spec.template.spec.containers[0]'));
    assert.equal(first, doc.spec.template.spec.containers[0]);
  });

  it('returns each value once', () => {
    assert.equal(evaluateJsonPath(doc, parseJsonPath('.spec.template.spec.containers[0,0,-3]')).length, 1);
  });

  const bad: Array<[string, RegExp]> = [
    ['spec.containers', /must start/],
    ['.spec[', /unterminated|expected/],
    ['.spec[abc]', /invalid array index/],
    ['.spec[1:2:0]', /step must be positive/],
    ['.spec[?(@.a==)]', /expected a string, number/],
    ['.spec[?(.a)]', /must start with "@"/],
    ['.spec[?@.a]', /expected "\("/],
    ['.a.', /expected a field name/],
    ["['a'", /expected "\]"/],
  ];
  for (const [expression, reason] of bad) {
    it(`rejects ${JSON.stringify(expression)} with the expression and offset`, () => {
      assert.throws(
        () => parseJsonPath(expression),
        (err: unknown) =>
          err instanceof JsonPathError &&
          reason.test(err.message) &&
          err.message.includes(JSON.stringify(expression)) &&
          err.offset >= 0,
      );
    });
  }
});
