import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubeObject, TypeRef } from '@bindery/kube';
import type { Builder, MapFunc } from '@bindery/runtime';
import { newEvent, newTrackRequest, subReconcilerTests, testConfig } from '@bindery/runtime/testing';
import { pino } from 'pino';
import { envBinding, envBindingType, newEnvBinding, workload } from './env-binding.test-helpers.ts';
import type { EnvBinding } from './env-binding.test-helpers.ts';
import { bindSubjects, defaultSubjectTypes } from './subject-reconciler.ts';

const ready = (status: 'True' | 'False', reason: string, message: string): EnvBinding['status'] => ({
  conditions: [{ type: 'Ready', status, reason, message, lastTransitionTime: '2024-01-01T00:00:00Z' }],
});
const withStatus = (b: EnvBinding, status: unknown): EnvBinding => ({ ...b, status });
const bound = [{ name: 'BOUND_BY', value: 'env' }];

const cronJobSubject = { apiVersion: 'batch/v1', kind: 'CronJob', name: 'nightly' };
const widgetSubject = { apiVersion: 'example.com/v1', kind: 'Widget', name: 'w' };
const configMapSubject = { apiVersion: 'v1', kind: 'ConfigMap', name: 'settings' };
const deploymentSubject = { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' };

subReconcilerTests<EnvBinding>('bindSubjects', {
  reconciler: () => bindSubjects({ bindable: envBinding }),
  rows: {
    'binds a CronJob through spec.jobTemplate.spec.template': {
      resource: newEnvBinding(cronJobSubject),
      givenObjects: [workload('CronJob', 'nightly')],
      expectTracks: [
        newTrackRequest({ ...cronJobSubject, namespace: 'default' }, newEnvBinding(cronJobSubject)),
      ],
      expectPatches: [
        {
          kind: 'CronJob',
          namespace: 'default',
          name: 'nightly',
          patchType: 'json',
          patch: [
            { op: 'replace', path: '/metadata/resourceVersion', value: '10' },
            { op: 'add', path: '/spec/jobTemplate/spec/template/spec/containers/0/env', value: bound },
          ],
        },
      ],
      expectEvents: [
        newEvent(newEnvBinding(cronJobSubject), 'Normal', 'Bound', 'Bound CronJob default/nightly'),
      ],
      expectResource: withStatus(
        newEnvBinding(cronJobSubject),
        ready('True', 'SubjectsBound', 'Bound CronJob default/nightly'),
      ),
    },
    'reads a kind nobody watches from the API server, not the cache': {
      resource: newEnvBinding(widgetSubject),
      apiGivenObjects: [workload('Widget', 'w')],
      expectTracks: [
        newTrackRequest({ ...widgetSubject, namespace: 'default' }, newEnvBinding(widgetSubject)),
      ],
      expectPatches: [
        {
          kind: 'Widget',
          namespace: 'default',
          name: 'w',
          patchType: 'json',
          patch: [
            { op: 'replace', path: '/metadata/resourceVersion', value: '10' },
            { op: 'add', path: '/spec/template/spec/containers/0/env', value: bound },
          ],
        },
      ],
      // The cache (client) does not hold the Widget, so its patch fails there; the read went to the API.
      expectResource: withStatus(
        newEnvBinding(widgetSubject),
        ready(
          'False',
          'SubjectPatchFailed',
          'cannot patch Widget default/w: widgets.example.com "w" not found',
        ),
      ),
      expectEvents: [
        newEvent(
          newEnvBinding(widgetSubject),
          'Warning',
          'SubjectPatchFailed',
          'cannot patch Widget default/w: widgets.example.com "w" not found',
        ),
      ],
      shouldErr: /cannot patch Widget/,
      verify: (_r, _e, config) => {
        assert.deepEqual(
          config.apiReader.actions.map((a) => `${a.verb} ${a.ref.kind}`),
          ['get Widget'],
        );
        assert.equal(
          config.client.actions.some((a) => a.verb === 'get'),
          false,
        );
      },
    },
    'a subject without a pod template: Ready False, no write': {
      resource: newEnvBinding(configMapSubject),
      givenObjects: [
        { apiVersion: 'v1', kind: 'ConfigMap', metadata: { namespace: 'default', name: 'settings' } },
      ],
      expectTracks: [
        newTrackRequest({ ...configMapSubject, namespace: 'default' }, newEnvBinding(configMapSubject)),
      ],
      expectResource: withStatus(
        newEnvBinding(configMapSubject),
        ready(
          'False',
          'SubjectNotPodSpecable',
          'ConfigMap default/settings has no pod template at spec.template',
        ),
      ),
      expectEvents: [
        newEvent(
          newEnvBinding(configMapSubject),
          'Warning',
          'SubjectNotPodSpecable',
          'ConfigMap default/settings has no pod template at spec.template',
        ),
      ],
    },
    'deleting, and the subject never had a pod template: nothing to undo, no error': {
      resource: newEnvBinding(configMapSubject, {
        deletionTimestamp: '2024-01-01T00:00:00Z',
        finalizers: ['f'],
      }),
      givenObjects: [
        { apiVersion: 'v1', kind: 'ConfigMap', metadata: { namespace: 'default', name: 'settings' } },
      ],
      expectTracks: [
        newTrackRequest({ ...configMapSubject, namespace: 'default' }, newEnvBinding(configMapSubject)),
      ],
    },
    'do refuses: Ready False names the subject, others still bound': {
      resource: newEnvBinding({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        selector: { matchLabels: { t: 'x' } },
      }),
      givenObjects: [
        {
          ...workload('Deployment', 'a', { t: 'x' }),
          spec: { template: { spec: { containers: [{ name: 'c', image: 'refuse' }] } } },
        },
        workload('Deployment', 'b', { t: 'x' }),
      ],
      expectTracks: [
        newTrackRequest(
          { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'default', selector: 't=x' },
          newEnvBinding(deploymentSubject),
        ),
      ],
      expectPatches: [
        {
          kind: 'Deployment',
          namespace: 'default',
          name: 'b',
          patchType: 'json',
          patch: [
            { op: 'replace', path: '/metadata/resourceVersion', value: '10' },
            { op: 'add', path: '/spec/template/spec/containers/0/env', value: bound },
          ],
        },
      ],
      expectEvents: [
        newEvent(newEnvBinding(deploymentSubject), 'Normal', 'Bound', 'Bound Deployment default/b'),
        newEvent(
          newEnvBinding(deploymentSubject),
          'Warning',
          'BindingFailed',
          'cannot bind Deployment default/a: container c refuses bindings',
        ),
      ],
      expectResource: withStatus(
        newEnvBinding({ apiVersion: 'apps/v1', kind: 'Deployment', selector: { matchLabels: { t: 'x' } } }),
        ready('False', 'BindingFailed', 'cannot bind Deployment default/a: container c refuses bindings'),
      ),
    },
    'a webhook reverted the patch: requeued': {
      resource: newEnvBinding(deploymentSubject),
      givenObjects: [workload('Deployment', 'web')],
      // The API server answers with the object as stored after admission: unbound again.
      withReactors: [
        { verb: 'patch', kind: 'Deployment', fn: () => ({ response: workload('Deployment', 'web') }) },
      ],
      expectTracks: [
        newTrackRequest({ ...deploymentSubject, namespace: 'default' }, newEnvBinding(deploymentSubject)),
      ],
      expectPatches: [
        {
          kind: 'Deployment',
          namespace: 'default',
          name: 'web',
          patchType: 'json',
          patch: [
            { op: 'replace', path: '/metadata/resourceVersion', value: '10' },
            { op: 'add', path: '/spec/template/spec/containers/0/env', value: bound },
          ],
        },
      ],
      expectEvents: [
        newEvent(newEnvBinding(deploymentSubject), 'Normal', 'Bound', 'Bound Deployment default/web'),
      ],
      expectedResult: { requeue: true },
    },
    'deleting, and a webhook reverted the undo: fails so the finalizer stays': {
      resource: newEnvBinding(deploymentSubject, {
        deletionTimestamp: '2024-01-01T00:00:00Z',
        finalizers: ['f'],
      }),
      givenObjects: [workload('Deployment', 'web', {}, bound)],
      withReactors: [
        {
          verb: 'patch',
          kind: 'Deployment',
          fn: () => ({ response: workload('Deployment', 'web', {}, bound) }),
        },
      ],
      expectTracks: [
        newTrackRequest({ ...deploymentSubject, namespace: 'default' }, newEnvBinding(deploymentSubject)),
      ],
      expectPatches: [
        {
          kind: 'Deployment',
          namespace: 'default',
          name: 'web',
          patchType: 'json',
          patch: [
            { op: 'replace', path: '/metadata/resourceVersion', value: '10' },
            { op: 'remove', path: '/spec/template/spec/containers/0/env' },
          ],
        },
      ],
      expectEvents: [
        newEvent(newEnvBinding(deploymentSubject), 'Normal', 'Unbound', 'Unbound Deployment default/web'),
      ],
      shouldErr: /1 subject\(s\) changed while being unbound/,
    },
  },
});

describe('bindSubjects setup', () => {
  it('watches every subject type, mapping a change to the bindings that track it', async () => {
    const watches: Array<{ type: TypeRef; map: MapFunc }> = [];
    const builder: Builder = {
      owns: () => assert.fail('owns nothing'),
      watches: (type, map) => watches.push({ type, map }),
      index: () => assert.fail('no index'),
    };
    const config = testConfig();
    await bindSubjects({ bindable: envBinding }).setup({
      config,
      builder,
      log: pino({ level: 'silent' }),
      resourceType: envBindingType,
    });
    assert.deepEqual(
      watches.map((w) => w.type),
      defaultSubjectTypes,
    );
    config.tracker.trackReference(
      { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'default', selector: 'tier=db' },
      { ...envBindingType, namespace: 'default', name: 'env' },
    );
    const deployment: KubeObject = workload('Deployment', 'new', { tier: 'db' });
    assert.deepEqual(watches[0]?.map(deployment), [{ namespace: 'default', name: 'env' }]);
    assert.deepEqual(watches[0]?.map(workload('Deployment', 'other', { tier: 'web' })), []);
  });
});
