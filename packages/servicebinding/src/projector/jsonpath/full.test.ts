import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';
import { JsonPathError, JsonPathLimitError } from './error.ts';
import { evaluateJsonPath, JsonPathBudget, parseJsonPath } from './full.ts';

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
    ['.spec.__proto__.x', /the key "__proto__" is not allowed/],
    ['..constructor', /the key "constructor" is not allowed/],
    ["..['prototype']", /the key "prototype" is not allowed/],
    ["[?(@['__proto__'])]", /the key "__proto__" is not allowed/],
    ['.a'.repeat(65), /more than 64 steps/],
    [`.${'a'.repeat(1030)}`, /longer than 1024 characters/],
  ];
  for (const [expression, reason] of bad) {
    const shown =
      expression.length > 40 ? `${expression.slice(0, 40)}… (${expression.length} chars)` : expression;
    it(`rejects ${JSON.stringify(shown)} with the expression and offset`, () => {
      assert.throws(
        () => parseJsonPath(expression),
        (err: unknown) =>
          err instanceof JsonPathError &&
          reason.test(err.message) &&
          err.message.includes(JSON.stringify(expression).slice(0, 60)) &&
          err.offset >= 0,
      );
    });
  }
});

describe('evaluateJsonPath budget (untrusted stash annotations)', () => {
  // Each union repeats a key 20 times: evaluated node by node, six steps make 20^6 (64
  // million) references, which runs a 64 MiB heap out of memory, as 1.3 KB of such a path ran
  // the controller's out. Evaluated on distinct nodes it is six lookups.
  it('a path of repeated unions evaluates without multiplying its nodes', async () => {
    const union = (key: string): string => `[${Array.from({ length: 20 }, () => key).join(',')}]`;
    const path = ["'spec'", "'template'", "'spec'", "'containers'", '0', "'name'"].map(union).join('');
    const source = `
      import { workerData, parentPort } from 'node:worker_threads';
      const { evaluateJsonPath, parseJsonPath } = await import(workerData.module);
      parentPort.postMessage(evaluateJsonPath(workerData.doc, parseJsonPath(workerData.path)));
    `;
    const worker = new Worker(new URL(`data:text/javascript,${encodeURIComponent(source)}`), {
      workerData: { module: new URL('./full.ts', import.meta.url).href, doc, path },
      resourceLimits: { maxOldGenerationSizeMb: 64 },
    });
    const result = await new Promise((resolve, reject) => {
      const deadline = setTimeout(() => reject(new Error('no answer within 20 s')), 20_000);
      worker.once('message', (m) => (clearTimeout(deadline), resolve(m)));
      worker.once('error', (err: Error) => (clearTimeout(deadline), reject(err)));
    }).finally(() => worker.terminate());
    assert.deepEqual(result, ['a']);
  });

  it('recursive descent on a wide document stops at the node budget with a clear error', () => {
    const wide = { items: Array.from({ length: 2000 }, (_, i) => ({ name: `n${i}`, env: [{ name: 'x' }] })) };
    const path = parseJsonPath('..*..*..*..name');
    assert.throws(
      () => evaluateJsonPath(wide, path, new JsonPathBudget({ maxNodes: 50_000 })),
      (err: unknown) =>
        err instanceof JsonPathLimitError &&
        err.limit === 'nodes' &&
        /visits more than 50000 nodes/.test(err.message) &&
        err.message.includes('"..*..*..*..name"'),
    );
    // The same document within the default budget, with a path that visits it once.
    assert.equal(evaluateJsonPath(wide, parseJsonPath('..name')).length, 2001);
  });

  it('recursive descent stops at the depth budget instead of overflowing the stack', () => {
    let deep: Record<string, unknown> = { name: 'bottom' };
    for (let i = 0; i < 20_000; i++) deep = { a: deep };
    assert.throws(
      () => evaluateJsonPath(deep, parseJsonPath('..name')),
      (err: unknown) =>
        err instanceof JsonPathLimitError && err.limit === 'depth' && /128 levels/.test(err.message),
    );
  });

  it('one budget is shared by the evaluations it is passed to', () => {
    const budget = new JsonPathBudget({ maxNodes: 10 });
    evaluateJsonPath(doc, parseJsonPath('.spec.template.spec.containers[*]'), budget);
    assert.ok(budget.spent >= 6);
    assert.throws(
      () => evaluateJsonPath(doc, parseJsonPath('.spec.template.spec.containers[*]'), budget),
      JsonPathLimitError,
    );
  });

  it('own keys named like Object.prototype members are data, not the prototype', () => {
    const obj = JSON.parse('{"spec":{"toString":{"name":"t"},"hasOwnProperty":[{"name":"h"}]}}') as unknown;
    assert.deepEqual(evaluateJsonPath(obj, parseJsonPath('.spec.toString.name')), ['t']);
    assert.deepEqual(evaluateJsonPath(obj, parseJsonPath('.spec.hasOwnProperty[*].name')), ['h']);
    assert.deepEqual(evaluateJsonPath({}, parseJsonPath('.toString')), []);
  });
});
