// The examples of docs/testing.md, verbatim (the last test checks that they
// still are): the guide's code compiles, and its tables pass.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { it } from 'node:test';
import { isNotFound } from '@bindery/kube';
import type { KubeObject, ObjectRef } from '@bindery/kube';
import { ResourceReconciler, WithConfig } from '@bindery/runtime';
import type { AdmissionRequest, AdmissionResponse, Config, SubReconciler } from '@bindery/runtime';
import {
  admissionWebhookTests,
  forbiddenError,
  newEvent,
  newTrackRequest,
  reconcilerTests,
  subReconcilerTests,
} from '@bindery/runtime/testing';
import type { TestConfig } from '@bindery/runtime/testing';

interface Greeting extends KubeObject {
  spec: { configMapName?: string };
  status?: { message?: string; observedGeneration?: number };
}

const greetingType = { apiVersion: 'example.com/v1', kind: 'Greeting' };

/** Copies `data.message` of the ConfigMap a Greeting names into its status. */
const copyMessage: SubReconciler<Greeting> = {
  name: 'CopyMessage',
  async reconcile(ctx, greeting) {
    const ref: ObjectRef = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      namespace: greeting.metadata.namespace ?? '',
      name: greeting.spec.configMapName ?? '',
    };
    const self = { ...greetingType, namespace: ref.namespace ?? '', name: greeting.metadata.name ?? '' };
    ctx.config.tracker.trackReference(ref, self);
    try {
      const configMap = await ctx.config.client.get(ref);
      const data = configMap['data'] as Record<string, string> | undefined;
      greeting.status = { ...greeting.status, message: data?.['message'] ?? '' };
    } catch (err) {
      if (!isNotFound(err)) throw err;
      ctx.config.recorder.event(greeting, {
        type: 'Warning',
        reason: 'ConfigMapMissing',
        note: `ConfigMap ${ref.name} not found`,
      });
      return { requeueAfterMs: 60_000 };
    }
  },
};

const greeting = (status?: Greeting['status']): Greeting => ({
  ...greetingType,
  metadata: { namespace: 'default', name: 'hello', uid: 'hello-uid', generation: 1 },
  spec: { configMapName: 'words' },
  ...(status ? { status } : {}),
});

const words: KubeObject = {
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { namespace: 'default', name: 'words' },
  data: { message: 'hello, world' },
};

const tracksWords = newTrackRequest(words, greeting());

subReconcilerTests<Greeting>('CopyMessage', {
  reconciler: () => copyMessage,
  rows: {
    'copies the message': {
      resource: greeting(),
      givenObjects: [words],
      expectTracks: [tracksWords],
      expectResource: greeting({ message: 'hello, world' }),
    },
    'waits for the config map': {
      resource: greeting(),
      expectTracks: [tracksWords],
      expectEvents: [newEvent(greeting(), 'Warning', 'ConfigMapMissing', 'ConfigMap words not found')],
      expectedResult: { requeueAfterMs: 60_000 },
    },
    'fails when the config map cannot be read': {
      resource: greeting(),
      givenObjects: [words],
      withReactors: [{ verb: 'get', kind: 'ConfigMap', fn: (action) => forbiddenError(action.ref, 'get') }],
      expectTracks: [tracksWords],
      shouldErr: /forbidden/,
    },
  },
});

reconcilerTests('GreetingReconciler', {
  reconciler: () =>
    new ResourceReconciler<Greeting>({ name: 'Greeting', type: greetingType, reconciler: copyMessage }),
  rows: {
    'writes the status': {
      request: { namespace: 'default', name: 'hello' },
      givenObjects: [greeting(), words],
      expectTracks: [tracksWords],
      expectStatusUpdates: [greeting({ message: 'hello, world', observedGeneration: 1 })],
      expectEvents: [newEvent(greeting(), 'Normal', 'StatusUpdated', 'Updated status')],
    },
    'in sync: no writes': {
      request: { namespace: 'default', name: 'hello' },
      givenObjects: [greeting({ message: 'hello, world', observedGeneration: 1 }), words],
      expectTracks: [tracksWords],
    },
    'greeting gone: nothing to do': {
      request: { namespace: 'default', name: 'hello' },
    },
  },
});

/** Defaults `spec.configMapName` to `words`, if that ConfigMap exists. */
const defaultConfigMap =
  (config: Config) =>
  async (request: AdmissionRequest<Greeting>): Promise<AdmissionResponse> => {
    const { uid, object } = request;
    if (!object || object.spec.configMapName) return { uid, allowed: true };
    const ref = { apiVersion: 'v1', kind: 'ConfigMap', namespace: request.namespace ?? '', name: 'words' };
    try {
      await config.client.get(ref);
    } catch (err) {
      if (!isNotFound(err)) throw err;
      return {
        uid,
        allowed: false,
        status: { code: 403, message: 'spec.configMapName: ConfigMap words not found' },
      };
    }
    const patch = [{ op: 'add', path: '/spec/configMapName', value: 'words' }];
    return {
      uid,
      allowed: true,
      patchType: 'JSONPatch',
      patch: Buffer.from(JSON.stringify(patch)).toString('base64'),
    };
  };

const create = (object: Greeting): AdmissionRequest<Greeting> => ({
  uid: 'request-uid',
  kind: { group: 'example.com', version: 'v1', kind: 'Greeting' },
  resource: { group: 'example.com', version: 'v1', resource: 'greetings' },
  namespace: 'default',
  operation: 'CREATE',
  userInfo: { username: 'alice' },
  object,
});

admissionWebhookTests('defaultConfigMap', {
  handler: defaultConfigMap,
  rows: {
    'defaults the config map name': {
      request: create({ ...greeting(), spec: {} }),
      givenObjects: [words],
      expectResponse: { allowed: true, patch: [{ op: 'add', path: '/spec/configMapName', value: 'words' }] },
    },
    'keeps a name that is set': {
      request: create(greeting()),
      expectResponse: { allowed: true },
    },
    'denies when the config map is missing': {
      request: create({ ...greeting(), spec: {} }),
      expectResponse: { allowed: false, status: { code: 403, message: /ConfigMap words not found/ } },
    },
  },
});

/** CopyMessage, run against another cluster: the Config that `WithConfig` switches to. */
const copyRemoteMessage = (config: TestConfig): SubReconciler<Greeting> =>
  new WithConfig<Greeting>({ config: () => config.additionalConfig('remote'), reconciler: copyMessage });

subReconcilerTests<Greeting>('CopyMessage from another cluster', {
  reconciler: copyRemoteMessage,
  rows: {
    'reads the config map over there': {
      resource: greeting(),
      additionalConfigs: { remote: { givenObjects: [words], expectTracks: [tracksWords] } },
      expectResource: greeting({ message: 'hello, world' }),
    },
  },
});

/** Says hello at most once an hour, whichever Greeting asks: it remembers when it last did. */
function helloHourly(): SubReconciler<Greeting> {
  let last: number | undefined;
  return {
    name: 'HelloHourly',
    reconcile(ctx, greeting) {
      const now = ctx.config.clock.now();
      if (last === undefined || now - last >= 3_600_000) {
        last = now;
        ctx.config.recorder.event(greeting, { type: 'Normal', reason: 'Hello', note: 'Hello!' });
      }
      return Promise.resolve();
    },
  };
}

const hello = newEvent(greeting(), 'Normal', 'Hello', 'Hello!');

subReconcilerTests<Greeting>('HelloHourly', {
  reconciler: helloHourly,
  rows: {
    'says hello once an hour': {
      resource: greeting(),
      expectEvents: [hello],
      additionalReconciles: [
        { name: 'a minute later', resource: greeting(), prepare: (c) => c.clock.advance(60_000) },
        {
          name: 'an hour later',
          resource: greeting(),
          prepare: (c) => c.clock.advance(3_600_000),
          expectEvents: [hello],
        },
      ],
    },
  },
});

it('docs/testing.md shows the code of this file verbatim', () => {
  const guide = readFileSync(new URL('../../../../docs/testing.md', import.meta.url), 'utf8');
  const self = readFileSync(new URL(import.meta.url), 'utf8');
  const blocks = [...guide.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1] ?? '');
  assert.ok(blocks.length >= 4, `expected the guide's code blocks, found ${blocks.length}`);
  for (const block of blocks) {
    assert.ok(self.includes(block), `a code block of docs/testing.md is not in examples.test.ts:\n${block}`);
  }
});
