// Fast unit tests of the digest controller: the digest itself, then table rows run
// against the test kit's fake API server (see docs/testing.md).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { conflictError, internalError, newEvent, reconcilerTests } from '@bindery/runtime/testing';
import { digestAnnotation, digestLabel, digestOf, digestReconciler } from './controller.ts';
import type { ConfigMap } from './controller.ts';

describe('digestOf', () => {
  it('is the sha256 of the sorted entries', () => {
    // Computed apart from the code: printf '%s' '[[["a","1"],["b","2"]],[]]' | sha256sum
    assert.equal(
      digestOf({ metadata: {}, data: { b: '2', a: '1' } }),
      'sha256:defab36c9f0b0181a7e8a0188f521ab9bd43802f1c410125cf9386063f768332',
    );
  });

  it('does not depend on key order', () => {
    assert.equal(
      digestOf({ metadata: {}, data: { a: '1', b: '2' } }),
      digestOf({ metadata: {}, data: { b: '2', a: '1' } }),
    );
  });

  it('changes with a value, a key, or the map a key is in', () => {
    const base = digestOf({ metadata: {}, data: { a: '1' } });
    assert.notEqual(digestOf({ metadata: {}, data: { a: '2' } }), base);
    assert.notEqual(digestOf({ metadata: {}, data: { b: '1' } }), base);
    assert.notEqual(digestOf({ metadata: {}, binaryData: { a: '1' } }), base);
    // A separator inside a key or value cannot forge another pair of entries.
    assert.notEqual(
      digestOf({ metadata: {}, data: { 'a","1': '' } }),
      digestOf({ metadata: {}, data: { a: '1' } }),
    );
  });
});

const settings = (
  options: { labelled?: boolean; data?: Record<string, string>; annotation?: string } = {},
): ConfigMap => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: {
    namespace: 'default',
    name: 'settings',
    resourceVersion: '7',
    ...(options.labelled === false ? {} : { labels: { [digestLabel]: 'true' } }),
    ...(options.annotation ? { annotations: { [digestAnnotation]: options.annotation } } : {}),
  },
  data: options.data ?? { mode: 'fast' },
});

const request = { namespace: 'default', name: 'settings' };
const fastDigest = digestOf(settings());
const slowDigest = digestOf(settings({ data: { mode: 'slow' } }));

/** The merge patch the reconciler sends for `settings()` at resourceVersion 7. */
const digestPatch = (digest: string | null) => ({
  kind: 'ConfigMap',
  namespace: 'default',
  name: 'settings',
  patchType: 'merge' as const,
  patch: { metadata: { resourceVersion: '7', annotations: { [digestAnnotation]: digest } } },
});

reconcilerTests('ConfigMapDigest', {
  reconciler: () => digestReconciler(),
  rows: {
    'labelled: writes the digest': {
      request,
      givenObjects: [settings()],
      expectPatches: [digestPatch(fastDigest)],
      expectEvents: [newEvent(settings(), 'Normal', 'DigestUpdated', `Data digest is ${fastDigest}`)],
    },
    'in sync: no writes': {
      request,
      givenObjects: [settings({ annotation: fastDigest })],
    },
    'data changed: writes the new digest': {
      request,
      givenObjects: [settings({ data: { mode: 'slow' }, annotation: fastDigest })],
      expectPatches: [digestPatch(slowDigest)],
      expectEvents: [newEvent(settings(), 'Normal', 'DigestUpdated', `Data digest is ${slowDigest}`)],
    },
    'not labelled: left alone': {
      request,
      givenObjects: [settings({ labelled: false })],
    },
    'label removed: removes the annotation': {
      request,
      givenObjects: [settings({ labelled: false, annotation: fastDigest })],
      expectPatches: [digestPatch(null)],
      expectEvents: [newEvent(settings(), 'Normal', 'DigestRemoved', `Label ${digestLabel}=true is gone`)],
    },
    'stale copy: the patch conflicts, requeue without an event': {
      request,
      givenObjects: [settings()],
      withReactors: [{ verb: 'patch', kind: 'ConfigMap', fn: (action) => conflictError(action.ref) }],
      expectPatches: [digestPatch(fastDigest)],
      expectedResult: { requeue: true },
    },
    'patch fails: a warning event, and the error for the controller to retry': {
      request,
      givenObjects: [settings()],
      withReactors: [{ verb: 'patch', kind: 'ConfigMap', fn: () => internalError('etcd is down') }],
      expectPatches: [digestPatch(fastDigest)],
      expectEvents: [
        newEvent(
          settings(),
          'Warning',
          'DigestFailed',
          // The fake client's errors name the request as `FAKE`, as a real one names its method and path.
          `Failed to write annotation ${digestAnnotation}: FAKE: Internal error occurred: etcd is down (InternalError)`,
        ),
      ],
      shouldErr: /etcd is down/,
    },
    'gone: nothing to do': {
      request,
    },
  },
});
