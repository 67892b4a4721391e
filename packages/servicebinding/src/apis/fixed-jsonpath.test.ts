import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FixedJsonPathError, isFixedJsonPath, parseFixedJsonPath } from './fixed-jsonpath.ts';

describe('parseFixedJsonPath', () => {
  it("FJ-3: accepts the spec's examples: fields joined by the child operator", () => {
    assert.deepEqual(parseFixedJsonPath('.name'), ['name']);
    assert.deepEqual(parseFixedJsonPath("['name']"), ['name']);
    assert.deepEqual(parseFixedJsonPath('.spec.template.spec.volumes'), [
      'spec',
      'template',
      'spec',
      'volumes',
    ]);
    assert.deepEqual(parseFixedJsonPath(".spec['template'].spec['volumes']"), [
      'spec',
      'template',
      'spec',
      'volumes',
    ]);
  });

  it('FJ-3: accepts what client-go accepts around that: a leading $ or @, escapes, the empty path', () => {
    assert.deepEqual(parseFixedJsonPath('$.spec.volumes'), ['spec', 'volumes']);
    assert.deepEqual(parseFixedJsonPath('@.name'), ['name']);
    assert.deepEqual(parseFixedJsonPath('.metadata.annotations.example\\.com/key'), [
      'metadata',
      'annotations',
      'example.com/key',
    ]);
    assert.deepEqual(parseFixedJsonPath("['a.b']"), ['a.b'], 'a quoted key is one key');
    assert.deepEqual(parseFixedJsonPath(''), []);
  });

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
      assert.deepEqual(parseFixedJsonPath(expression), fields);
      assert.equal(isFixedJsonPath(expression), true);
    });
  }

  // FJ-3: "MUST NOT use type and operators other than fields separated by the child operator":
  // texts, identifiers, filters, ints, floats, wildcards, recursives, unions, bools, arrays.
  const rejected: Array<[string, string, RegExp]> = [
    ['a text literal', "'x'", /text literal/],
    ['a text literal', "'text'", /text literal/],
    ['an identifier', 'spec.volumes', /identifier 'spec' is not allowed \(did you mean '\.spec'\?\)/],
    ['an identifier', 'spec.template', /identifier 'spec' is not allowed/],
    ['a filter', '.containers[?(@.name=="x")]', /filter/],
    ['an int', '.containers[0]', /array index '\[0\]'/],
    ['a bare int', '3', /a number/],
    ['a bare int', '1', /a number/],
    ['a float', '1.5', /a number/],
    ['a wildcard', '.containers[*]', /wildcard '\[\*\]'/],
    ['a wildcard', '.spec.containers[*]', /wildcard/],
    ['a dotted wildcard', '.spec.*', /wildcard '\*'/],
    ['recursive descent', '..name', /recursive descent/],
    ['recursive descent', '.spec..name', /recursive descent/],
    ['a union', ".a['b','c']", /union/],
    ['a dotted union', '.a,b', /union/],
    ['a bool', 'true', /a boolean/],
    ['a slice', '.a[0:2]', /slice/],
    ['a slice', '.containers[1:2]', /slice '\[1:2\]'/],
    ['a double-quoted key', '.a["b"]', /single quotes/],
    ['template braces', '{.a}', /braces/],
    ['a trailing dot', '.a.', /a field name must follow '\.'/],
    ['whitespace', '.a .b', /whitespace/],
    ['an unterminated key', ".a['b", /unterminated/],
    ['an empty key', "['']", /a key must not be empty/],
    ['a dangling escape', '.a\\', /escape/],
  ];
  for (const [kind, expr, message] of rejected) {
    it(`FJ-3: rejects ${kind}: ${expr}`, () => {
      assert.throws(
        () => parseFixedJsonPath(expr),
        (err: unknown) => {
          assert.ok(err instanceof FixedJsonPathError);
          assert.equal(err.expression, expr, 'names the expression');
          assert.match(err.message, message);
          assert.match(err.message, /^at offset \d+: .*; expected fields joined by '\.' or \['key'\]/);
          return true;
        },
      );
      assert.equal(isFixedJsonPath(expr), false);
    });
  }

  it('FJ-3: says where the problem is', () => {
    const err = (() => {
      try {
        parseFixedJsonPath('.spec.template.spec.containers[*].env');
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    assert.ok(err instanceof FixedJsonPathError);
    assert.equal(err.offset, '.spec.template.spec.containers'.length);
  });
});
