import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseSelector, selectorFromLabelSelector } from './labels.ts';

describe('parseSelector', () => {
  const labels = { app: 'web', tier: 'front', env: 'prod' };
  const cases: Array<[string, boolean]> = [
    ['', true],
    ['app=web', true],
    ['app==web', true],
    ['app=api', false],
    ['app!=api', true],
    ['app!=web', false],
    ['missing!=x', true],
    ['env in (prod, staging)', true],
    ['env in (dev)', false],
    ['env notin (dev,staging)', true],
    ['env notin (prod)', false],
    ['tier', true],
    ['missing', false],
    ['!missing', true],
    ['!tier', false],
    ['app=web,env in (prod),!missing', true],
    ['app=web,env in (dev)', false],
  ];
  for (const [text, expected] of cases) {
    it(`"${text}" → ${expected}`, () => assert.equal(parseSelector(text).matches(labels), expected));
  }

  it('round-trips through toString', () => {
    const text = 'app=web,env in (prod,staging),!missing,tier,x!=y';
    assert.equal(parseSelector(text).toString(), text);
  });

  it('rejects what it cannot parse, quoting the term', () => {
    assert.throws(() => parseSelector('app=web,=x'), /cannot parse "=x"/);
  });
});

describe('selectorFromLabelSelector', () => {
  it('combines matchLabels and matchExpressions', () => {
    const s = selectorFromLabelSelector({
      matchLabels: { app: 'web' },
      matchExpressions: [{ key: 'env', operator: 'NotIn', values: ['dev'] }],
    });
    assert.equal(s.matches({ app: 'web', env: 'prod' }), true);
    assert.equal(s.matches({ app: 'web', env: 'dev' }), false);
    assert.equal(s.matches(undefined), false);
    assert.equal(s.toString(), 'app=web,env!=dev');
  });

  it('names the field of a malformed expression', () => {
    assert.throws(
      () =>
        selectorFromLabelSelector({
          matchExpressions: [
            { key: 'a', operator: 'Exists' },
            { key: 'b', operator: 'In' },
          ],
        }),
      /matchExpressions\[1\]\.values: must be non-empty/,
    );
    assert.throws(
      () => selectorFromLabelSelector({ matchExpressions: [{ key: 'a', operator: 'Equals' }] }),
      /matchExpressions\[0\]\.operator: "Equals"/,
    );
  });

  it('an absent or empty selector matches everything', () => {
    assert.equal(selectorFromLabelSelector(undefined).matches({}), true);
    assert.equal(selectorFromLabelSelector({}).empty, true);
  });
});
