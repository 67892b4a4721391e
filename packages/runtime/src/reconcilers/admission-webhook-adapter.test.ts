import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { KubeObject } from '@bindery/kube';
import { pino } from 'pino';
import { admissionWebhookTests, forbiddenError, testConfig } from '../testing/index.ts';
import type { AdmissionHandler as ServerHandler } from '../webhook/handlers.ts';
import {
  AdmissionWebhookAdapter,
  admissionRequestKey,
  admissionResponseKey,
} from './admission-webhook-adapter.ts';
import type { AdmissionRequest } from '../webhook/types.ts';
import { SyncReconciler } from './sync-reconciler.ts';

interface Pod extends KubeObject {
  spec?: { containers?: Array<{ name: string }> };
}

function pod(labels?: Record<string, string>): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { namespace: 'ns', name: 'p', ...(labels ? { labels } : {}) },
    spec: { containers: [{ name: 'app' }] },
  };
}

function request(
  operation: AdmissionRequest['operation'],
  object?: unknown,
  oldObject?: unknown,
): AdmissionRequest {
  return {
    uid: 'req-1',
    kind: { group: '', version: 'v1', kind: 'Pod' },
    resource: { group: '', version: 'v1', resource: 'pods' },
    namespace: 'ns',
    name: 'p',
    operation,
    userInfo: { username: 'alice' },
    ...(object !== undefined ? { object } : {}),
    ...(oldObject !== undefined ? { oldObject } : {}),
  };
}

let before: string[] = [];

/** Labels pods `bound=true`; denies pods labelled `deny`; fails on `fail`; forbids on `forbid`. */
const adapter = new AdmissionWebhookAdapter<Pod>({
  name: 'PodBinder',
  type: { apiVersion: 'v1', kind: 'Pod' },
  beforeReconcile: (_ctx, resource, req) => {
    before.push(`${req.operation} ${resource.metadata.name ?? ''}`);
  },
  reconciler: new SyncReconciler<Pod>({
    name: 'Bind',
    sync: (ctx, p) => {
      const labels = p.metadata.labels ?? {};
      if (labels['fail']) throw new Error('cannot bind');
      if (labels['forbid'])
        throw forbiddenError({ apiVersion: 'v1', kind: 'Secret', namespace: 'ns', name: 's' }, 'get');
      if (labels['deny']) {
        const response = ctx.stash.require(admissionResponseKey);
        response.allowed = false;
        response.status = { code: 403, reason: 'Forbidden', message: 'pods labelled deny are not admitted' };
        return;
      }
      const req = ctx.stash.require(admissionRequestKey);
      if (req.userInfo?.username === 'alice')
        ctx.stash.require(admissionResponseKey).warnings = ['hello alice'];
      p.metadata.labels = { ...labels, bound: 'true' };
    },
  }),
});

admissionWebhookTests<AdmissionRequest>('AdmissionWebhookAdapter', {
  handler: (config) => (req) => adapter.handle(req, { config }),
  rows: {
    'mutation: answered with a JSON patch': {
      request: request('CREATE', pod()),
      prepare: () => {
        before = [];
      },
      expectResponse: {
        allowed: true,
        patch: [{ op: 'add', path: '/metadata/labels', value: { bound: 'true' } }],
        warnings: ['hello alice'],
      },
      expectPatchedObject: pod({ bound: 'true' }),
      verify: () => assert.deepEqual(before, ['CREATE p']),
    },
    'nothing to change: allowed, no patch': {
      request: request('UPDATE', pod({ bound: 'true' }), pod()),
      expectResponse: { allowed: true, warnings: ['hello alice'] },
    },
    'denied by the reconciler through the response': {
      request: request('CREATE', pod({ deny: 'yes' })),
      expectResponse: {
        allowed: false,
        status: { code: 403, reason: 'Forbidden', message: 'pods labelled deny are not admitted' },
      },
    },
    'an error denies with 500 and its message': {
      request: request('CREATE', pod({ fail: 'yes' })),
      expectResponse: { allowed: false, status: { code: 500, message: 'PodBinder: cannot bind' } },
    },
    'an API error denies with its code': {
      request: request('CREATE', pod({ forbid: 'yes' })),
      expectResponse: { allowed: false, status: { code: 403, message: /PodBinder: .*forbidden/ } },
    },
    'DELETE: reconciles oldObject, never patches': {
      request: request('DELETE', undefined, pod()),
      prepare: () => {
        before = [];
      },
      expectResponse: { allowed: true, warnings: ['hello alice'] },
      verify: () => assert.deepEqual(before, ['DELETE p']),
    },
    'no object: a clear 400': {
      request: request('CREATE'),
      expectResponse: {
        allowed: false,
        status: { code: 400, message: 'PodBinder: the admission request has no object with metadata' },
      },
    },
  },
});

it('AdmissionWebhookAdapter.handler() is a mutating handler of the webhook server', async () => {
  const config = testConfig();
  const handler: ServerHandler = adapter.handler(config);
  assert.equal(handler.type, 'mutating');
  const result = await handler.handle({
    request: { ...request('CREATE', pod()), userInfo: { username: 'bob' } },
    path: '/mutate-pods',
    log: pino({ level: 'silent' }),
    signal: new AbortController().signal,
    warn: () => undefined,
    auditAnnotation: () => undefined,
  });
  assert.deepEqual(result, {
    allowed: true,
    patch: [{ op: 'add', path: '/metadata/labels', value: { bound: 'true' } }],
  });
});
