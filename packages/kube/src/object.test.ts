import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { groupKind, isObject, refOf } from './object.ts';

describe('groupKind', () => {
  it('names a kind as Kind.group, and a core kind by itself', () => {
    assert.equal(groupKind({ apiVersion: 'apps/v1', kind: 'Deployment' }), 'Deployment.apps');
    assert.equal(groupKind({ apiVersion: 'batch/v1beta1', kind: 'CronJob' }), 'CronJob.batch');
    assert.equal(groupKind({ apiVersion: 'v1', kind: 'Secret' }), 'Secret');
  });

  it('is the same for every version of a kind', () => {
    assert.equal(
      groupKind({ apiVersion: 'servicebinding.io/v1beta1', kind: 'ServiceBinding' }),
      groupKind({ apiVersion: 'servicebinding.io/v1', kind: 'ServiceBinding' }),
    );
  });
});

describe('refOf', () => {
  it('takes type, name and namespace from the object', () => {
    const obj = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace: 'ns', uid: 'u' },
    };
    assert.deepEqual(refOf(obj), { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', namespace: 'ns' });
  });

  it('fills a missing apiVersion and kind from the type, and leaves out an empty namespace', () => {
    const type = { apiVersion: 'v1', kind: 'ConfigMap' };
    assert.deepEqual(refOf({ metadata: { name: 'c', namespace: '' } }, type), { ...type, name: 'c' });
    assert.deepEqual(refOf({ apiVersion: 'v2', metadata: { name: 'c' } }, type), {
      apiVersion: 'v2',
      kind: 'ConfigMap',
      name: 'c',
    });
  });

  it('gives empty strings for what neither object nor type says', () => {
    assert.deepEqual(refOf({ metadata: {} }), { apiVersion: '', kind: '', name: '' });
  });
});

describe('isObject', () => {
  it('is true for plain objects only', () => {
    assert.equal(isObject({}), true);
    assert.equal(isObject([]), false);
    assert.equal(isObject(null), false);
    assert.equal(isObject('x'), false);
  });
});
