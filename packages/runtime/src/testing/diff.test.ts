import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { diff, formatDiff, formatValue } from './diff.ts';

describe('diff', () => {
  it('names the deep path that differs, with both values', () => {
    const container = (value: string) => ({
      spec: {
        template: {
          spec: {
            containers: [
              {
                name: 'app',
                env: [
                  { name: 'A', value: 'a' },
                  { name: 'B', value },
                ],
              },
            ],
          },
        },
      },
    });
    assert.equal(
      formatDiff(diff(container('x'), container('y'))),
      'spec.template.spec.containers[0].env[1].value: expected "x", got "y"',
    );
  });

  it('reports missing and unexpected fields and array elements', () => {
    const differences = diff(
      { metadata: { labels: { app: 'web' } }, items: [1, 2], gone: { a: 1 } },
      { metadata: { labels: {}, annotations: { 'example.com/x': 'y' } }, items: [1, 2, 3] },
    );
    assert.equal(
      formatDiff(differences, { indent: '  ' }),
      [
        '  metadata.labels.app: expected "web", got nothing',
        '  metadata.annotations: expected nothing, got {"example.com/x":"y"}',
        '  items[2]: expected nothing, got 3',
        '  gone: expected {"a":1}, got nothing',
      ].join('\n'),
    );
  });

  it('treats undefined fields as absent and compares types strictly', () => {
    assert.deepEqual(diff({ a: 1, b: undefined }, { a: 1 }), []);
    assert.deepEqual(diff({ a: '1' }, { a: 1 }), [{ path: 'a', expected: '1', actual: 1 }]);
    assert.deepEqual(diff([1], { 0: 1 }), [{ path: '(root)', expected: [1], actual: { 0: 1 } }]);
    assert.deepEqual(diff(null, {}), [{ path: '(root)', expected: null, actual: {} }]);
  });

  it('quotes keys that are not identifiers', () => {
    assert.equal(
      formatDiff(
        diff({ labels: { 'app.kubernetes.io/name': 'a' } }, { labels: { 'app.kubernetes.io/name': 'b' } }),
      ),
      'labels["app.kubernetes.io/name"]: expected "a", got "b"',
    );
  });

  it('cuts long output short', () => {
    const many = Object.fromEntries(Array.from({ length: 5 }, (_, i) => [`k${i}`, i]));
    const text = formatDiff(diff(many, {}), { limit: 2 });
    assert.equal(text, 'k0: expected 0, got nothing\nk1: expected 1, got nothing\n… and 3 more');
    assert.equal(formatValue('x'.repeat(300), 10), `"${'x'.repeat(8)}…`);
  });
});
