import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubeObject } from '@bindery/kube';
import { InvalidBindingError, describeSubject, parseSubject, subjectMatches } from './bindable.ts';

const binding: KubeObject = { apiVersion: 'x/v1', kind: 'B', metadata: { namespace: 'team-a', name: 'b' } };

function invalid(value: unknown, field: string, message: RegExp, owner = binding): void {
  assert.throws(
    () => parseSubject(owner, value),
    (err: unknown) => err instanceof InvalidBindingError && err.field === field && message.test(err.message),
  );
}

describe('parseSubject', () => {
  it('takes a subject by name or by selector, in the binding’s namespace', () => {
    assert.deepEqual(parseSubject(binding, { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' }), {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      namespace: 'team-a',
      name: 'web',
    });
    assert.deepEqual(
      parseSubject(binding, {
        apiVersion: 'batch/v1',
        kind: 'Job',
        namespace: 'team-a',
        selector: { matchLabels: { app: 'x' } },
      }),
      { apiVersion: 'batch/v1', kind: 'Job', namespace: 'team-a', selector: { matchLabels: { app: 'x' } } },
    );
  });

  it('names the field that is wrong', () => {
    invalid(undefined, 'spec.subject', /is required/);
    invalid({ kind: 'Deployment', name: 'web' }, 'spec.subject.apiVersion', /group\/version/);
    invalid(
      { apiVersion: 'apps/', kind: 'Deployment', name: 'web' },
      'spec.subject.apiVersion',
      /group\/version/,
    );
    invalid({ apiVersion: 'apps/v1', name: 'web' }, 'spec.subject.kind', /is required/);
    invalid(
      { apiVersion: 'apps/v1', kind: 'Deployment' },
      'spec.subject',
      /exactly one of name and selector/,
    );
    invalid(
      { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', selector: {} },
      'spec.subject',
      /exactly one of name and selector/,
    );
    invalid(
      { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', namespace: 'team-b' },
      'spec.subject.namespace',
      /own namespace "team-a", got "team-b"/,
    );
    invalid(
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        selector: { matchExpressions: [{ key: 'a', operator: 'Is' }] },
      },
      'spec.subject.selector',
      /operator: "Is"/,
    );
    invalid({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' }, 'metadata.namespace', /namespaced/, {
      ...binding,
      metadata: { name: 'cluster-wide' },
    });
  });
});

describe('subjectMatches', () => {
  const obj = (labels: Record<string, string>, apiVersion = 'apps/v1', namespace = 'team-a'): KubeObject => ({
    apiVersion,
    kind: 'Deployment',
    metadata: { namespace, name: 'web', labels },
  });

  it('matches by name, or by labels, in any version of the group, in the namespace only', () => {
    const byName = parseSubject(binding, { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' });
    assert.equal(subjectMatches(byName, obj({})), true);
    assert.equal(subjectMatches(byName, obj({}, 'apps/v1beta2')), true);
    assert.equal(subjectMatches(byName, obj({}, 'extensions/v1beta1')), false);
    assert.equal(subjectMatches(byName, obj({}, 'apps/v1', 'team-b')), false);

    const bySelector = parseSubject(binding, {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      selector: { matchExpressions: [{ key: 'tier', operator: 'In', values: ['db', 'cache'] }] },
    });
    assert.equal(subjectMatches(bySelector, obj({ tier: 'db' })), true);
    assert.equal(subjectMatches(bySelector, obj({ tier: 'web' })), false);
    assert.equal(describeSubject(bySelector), 'Deployment objects in team-a matching tier in (db,cache)');
  });
});
