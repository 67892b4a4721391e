import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubeObject } from './object.ts';
import {
  chainTransforms,
  lastAppliedAnnotation,
  stripLastAppliedAnnotation,
  stripManagedFields,
  stripStatus,
} from './transform.ts';

function deployment(): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: 'web',
      namespace: 'default',
      resourceVersion: '7',
      annotations: { [lastAppliedAnnotation]: '{"big":"copy"}', keep: 'me' },
      managedFields: [{ manager: 'kubectl', operation: 'Update', fieldsV1: { 'f:spec': {} } }],
    },
    spec: { replicas: 1 },
    status: { replicas: 1 },
  };
}

describe('cache transforms', () => {
  it('strip managedFields, the last-applied annotation and status, each leaving the rest as it was', () => {
    const obj = deployment();
    const before = structuredClone(obj);
    const { managedFields: _, ...metadata } = before.metadata;
    assert.deepEqual(stripManagedFields(obj), { ...before, metadata });
    assert.deepEqual(stripLastAppliedAnnotation(obj).metadata.annotations, { keep: 'me' });
    assert.deepEqual(stripLastAppliedAnnotation(obj).metadata.managedFields, before.metadata.managedFields);
    const { status: __, ...withoutStatus } = before;
    assert.deepEqual(stripStatus(obj), withoutStatus);
    // The input is never changed: a transform may be handed an object someone else still reads.
    assert.deepEqual(obj, before);
  });

  it('return the same object when there is nothing to drop', () => {
    const obj: KubeObject = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' } };
    assert.equal(stripManagedFields(obj), obj);
    assert.equal(stripLastAppliedAnnotation(obj), obj);
    assert.equal(stripStatus(obj), obj);
  });

  it('chain in order', () => {
    const all = chainTransforms(stripManagedFields, stripLastAppliedAnnotation, stripStatus);
    const out = all(deployment());
    assert.deepEqual(out.metadata, {
      name: 'web',
      namespace: 'default',
      resourceVersion: '7',
      annotations: { keep: 'me' },
    });
    assert.equal(out['status'], undefined);
    assert.deepEqual(out['spec'], { replicas: 1 });
  });
});
