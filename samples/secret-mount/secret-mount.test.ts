// SecretMount without a cluster: `do`/`undo` on pod templates, and the subject reconciler
// in table tests on the runtime's fake API server.

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import type { KubeObject } from '@bindery/kube';
import { InvalidBindingError } from '@bindery/bindings';
import type { BindingContext } from '@bindery/bindings';
import { podSpecable } from '@bindery/runtime';
import type { PodSpecable } from '@bindery/runtime';
import {
  conflictError,
  forbiddenError,
  newEvent,
  newTrackRequest,
  reconcilerTests,
} from '@bindery/runtime/testing';
import type { TestConfig } from '@bindery/runtime/testing';
import { pino } from 'pino';
import { secretMountFinalizer, secretMountReconciler } from './controller.ts';
import { secretMount, secretMountType, validateMountPath, volumeNameOf } from './secret-mount.ts';
import type { SecretMount } from './secret-mount.ts';

const ctx: BindingContext = { log: pino({ level: 'silent' }), source: 'reconciler' };
const volume = 'secret-mount-db';

const binding = (
  spec: Partial<SecretMount['spec']> = {},
  meta: Partial<SecretMount['metadata']> = {},
  status?: SecretMount['status'],
): SecretMount => ({
  ...secretMountType,
  metadata: {
    namespace: 'default',
    name: 'db',
    uid: 'db-uid',
    generation: 1,
    resourceVersion: '5',
    finalizers: [secretMountFinalizer],
    ...meta,
  },
  spec: {
    subject: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' },
    secretName: 'db-credentials',
    mountPath: '/bindings/db',
    ...spec,
  },
  ...(status ? { status } : {}),
});

const deployment = (name = 'web', labels: Record<string, string> = { app: name }): KubeObject => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { namespace: 'default', name, resourceVersion: '10', labels },
  spec: {
    replicas: 1,
    selector: { matchLabels: labels },
    template: {
      metadata: { labels },
      spec: {
        initContainers: [{ name: 'migrate', image: 'migrate' }],
        containers: [
          { name: 'app', image: 'app', volumeMounts: [{ name: 'cache', mountPath: '/cache' }] },
          { name: 'sidecar', image: 'sidecar' },
        ],
        volumes: [{ name: 'cache', emptyDir: {} }],
      },
    },
  },
});

/** `deployment()` as `do` leaves it. */
const bound = (name = 'web', labels?: Record<string, string>): KubeObject => {
  const d = deployment(name, labels);
  const spec = (podSpecable(d) as PodSpecable).spec.template.spec;
  const mount = { name: volume, mountPath: '/bindings/db', readOnly: true };
  spec.volumes?.push({ name: volume, secret: { secretName: 'db-credentials' } });
  for (const c of [...(spec.initContainers ?? []), ...(spec.containers ?? [])]) {
    (c.volumeMounts ??= []).push({ ...mount });
  }
  return d;
};

const view = (obj: KubeObject): PodSpecable => {
  const ps = podSpecable(obj);
  assert.ok(ps, 'a pod template');
  return ps;
};

describe('SecretMount do/undo', () => {
  it('mounts the Secret in every container, init containers too, and keeps everything else', async () => {
    const d = deployment();
    await secretMount(binding()).do(ctx, view(d));
    assert.deepEqual(d, bound());
  });

  it('is idempotent, and keeps what the API server defaulted', async () => {
    const d = bound();
    const spec = view(d).spec.template.spec;
    const vol = spec.volumes?.find((v) => v.name === volume);
    assert.ok(vol);
    vol['secret'] = { secretName: 'db-credentials', defaultMode: 420 };
    const before = structuredClone(d);
    await secretMount(binding()).do(ctx, view(d));
    assert.deepEqual(d, before);
  });

  it('follows a changed secret name and mount path', async () => {
    const d = bound();
    await secretMount(binding({ secretName: 'other', mountPath: '/other' })).do(ctx, view(d));
    const spec = view(d).spec.template.spec;
    assert.deepEqual(spec.volumes?.[1], { name: volume, secret: { secretName: 'other' } });
    assert.deepEqual(spec.containers?.[0]?.volumeMounts?.[1], {
      name: volume,
      mountPath: '/other',
      readOnly: true,
    });
    assert.equal(spec.volumes?.length, 2);
  });

  it('undo takes back exactly what do added', async () => {
    const d = deployment();
    const b = secretMount(binding());
    await b.do(ctx, view(d));
    await b.undo(ctx, view(d));
    assert.deepEqual(d, deployment());
    // Undo of an object that was never bound changes nothing.
    await b.undo(ctx, view(d));
    assert.deepEqual(d, deployment());
  });

  it('binds a CronJob’s pod template', async () => {
    const cronJob: KubeObject = {
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      metadata: { namespace: 'default', name: 'nightly' },
      spec: {
        schedule: '@daily',
        jobTemplate: { spec: { template: { spec: { containers: [{ name: 'job' }] } } } },
      },
    };
    await secretMount(binding()).do(ctx, view(cronJob));
    const template = (cronJob['spec'] as { jobTemplate: { spec: { template: unknown } } }).jobTemplate.spec
      .template;
    assert.deepEqual(template, {
      spec: {
        containers: [
          { name: 'job', volumeMounts: [{ name: volume, mountPath: '/bindings/db', readOnly: true }] },
        ],
        volumes: [{ name: volume, secret: { secretName: 'db-credentials' } }],
      },
    });
  });

  it('refuses a mount path another volume uses, and leaves the object as it was', async () => {
    const d = deployment();
    await assert.rejects(
      async () => secretMount(binding({ mountPath: '/cache' })).do(ctx, view(d)),
      /containers\[0\]\.volumeMounts: \/cache is already the mount path of volume "cache"/,
    );
    assert.deepEqual(d, deployment());
  });

  it('validates the spec, naming the field', () => {
    const invalid = (spec: Partial<SecretMount['spec']>, field: string, message: RegExp): void => {
      assert.throws(
        () => secretMount(binding(spec)),
        (err: unknown) =>
          err instanceof InvalidBindingError && err.field === field && message.test(err.message),
      );
    };
    invalid({ mountPath: 'relative/path' }, 'spec.mountPath', /absolute/);
    invalid({ mountPath: '/bindings/../etc' }, 'spec.mountPath', /\.\./);
    invalid({ mountPath: '/' }, 'spec.mountPath', /must not be "\/"/);
    invalid({ secretName: 'Not_A_Name' }, 'spec.secretName', /name of a Secret/);
    invalid(
      {
        subject: {
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          name: 'web',
          selector: { matchLabels: { a: 'b' } },
        },
      },
      'spec.subject',
      /exactly one of name and selector/,
    );
    assert.throws(
      () =>
        secretMount(
          binding({
            subject: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', namespace: 'other' } as never,
          }),
        ),
      /spec.subject.namespace: must be the binding's own namespace "default"/,
    );
    assert.equal(
      validateMountPath('/bindings/..data'),
      '/bindings/..data',
      'a name that starts with .. is fine',
    );
  });

  it('names the volume after the binding, hashed when too long for a DNS label', () => {
    assert.equal(volumeNameOf('db.prod'), 'secret-mount-db-prod');
    const long = volumeNameOf('x'.repeat(60));
    assert.match(long, /^secret-mount-[0-9a-f]{16}$/);
    assert.equal(long, volumeNameOf('x'.repeat(60)), 'stable');
  });
});

/** The JSON Patch the reconciler sends to bind `deployment()`. */
const bindPatch = [
  { op: 'replace', path: '/metadata/resourceVersion', value: '10' },
  {
    op: 'add',
    path: '/spec/template/spec/initContainers/0/volumeMounts',
    value: [{ name: volume, mountPath: '/bindings/db', readOnly: true }],
  },
  {
    op: 'add',
    path: '/spec/template/spec/containers/0/volumeMounts/1',
    value: { name: volume, mountPath: '/bindings/db', readOnly: true },
  },
  {
    op: 'add',
    path: '/spec/template/spec/containers/1/volumeMounts',
    value: [{ name: volume, mountPath: '/bindings/db', readOnly: true }],
  },
  {
    op: 'add',
    path: '/spec/template/spec/volumes/1',
    value: { name: volume, secret: { secretName: 'db-credentials' } },
  },
];

const ready = (
  status: 'True' | 'False' | 'Unknown',
  reason: string,
  message: string,
): SecretMount['status'] => ({
  observedGeneration: 1,
  conditions: [{ type: 'Ready', status, reason, message, lastTransitionTime: '2024-01-01T00:00:00Z' }],
});

const request = { namespace: 'default', name: 'db' };
const tracksWeb = newTrackRequest(
  { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'default', name: 'web' },
  binding(),
);
const deploymentRef = { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'default', name: 'web' };
const storedTemplate = (config: TestConfig, name = 'web'): unknown =>
  config.client.stored<KubeObject & { spec: { template: unknown } }>({ ...deploymentRef, name })?.spec
    .template;
const templateOf = (d: KubeObject): unknown => (d['spec'] as { template: unknown }).template;

reconcilerTests('SecretMount subject reconciler', {
  reconciler: () => secretMountReconciler(),
  rows: {
    'binds the named Deployment': {
      request,
      givenObjects: [binding(), deployment()],
      expectTracks: [tracksWeb],
      expectPatches: [
        { kind: 'Deployment', namespace: 'default', name: 'web', patchType: 'json', patch: bindPatch },
      ],
      expectEvents: [
        newEvent(binding(), 'Normal', 'Bound', 'Bound Deployment default/web'),
        newEvent(binding(), 'Normal', 'StatusUpdated', 'Updated status'),
      ],
      expectStatusUpdates: [binding({}, {}, ready('True', 'SubjectsBound', 'Bound Deployment default/web'))],
      verify: (_result, _err, config) => assert.deepEqual(storedTemplate(config), templateOf(bound())),
    },
    'adds its finalizer before binding': {
      request,
      givenObjects: [binding({}, { finalizers: [] }), deployment()],
      expectTracks: [tracksWeb],
      expectPatches: [
        {
          kind: 'SecretMount',
          namespace: 'default',
          name: 'db',
          patchType: 'merge',
          patch: { metadata: { finalizers: [secretMountFinalizer], resourceVersion: '5' } },
        },
        { kind: 'Deployment', namespace: 'default', name: 'web', patchType: 'json', patch: bindPatch },
      ],
      expectEvents: [
        newEvent(binding(), 'Normal', 'FinalizerPatched', `Patched finalizer "${secretMountFinalizer}"`),
        newEvent(binding(), 'Normal', 'Bound', 'Bound Deployment default/web'),
        newEvent(binding(), 'Normal', 'StatusUpdated', 'Updated status'),
      ],
      // The finalizer patch moved the resourceVersion on; the status update carries the new one.
      expectStatusUpdates: [
        binding(
          {},
          { resourceVersion: '11' },
          ready('True', 'SubjectsBound', 'Bound Deployment default/web'),
        ),
      ],
    },
    'in sync: no writes': {
      request,
      givenObjects: [
        binding({}, {}, ready('True', 'SubjectsBound', 'Bound Deployment default/web')),
        bound(),
      ],
      expectTracks: [tracksWeb],
    },
    'binds every Deployment the selector matches, and only those': {
      request,
      givenObjects: [
        binding({
          subject: { apiVersion: 'apps/v1', kind: 'Deployment', selector: { matchLabels: { tier: 'db' } } },
        }),
        deployment('a', { tier: 'db' }),
        deployment('b', { tier: 'db' }),
        deployment('c', { tier: 'web' }),
      ],
      expectTracks: [
        newTrackRequest(
          { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'default', selector: 'tier=db' },
          binding(),
        ),
      ],
      expectPatches: ['a', 'b'].map((name) => ({
        kind: 'Deployment',
        namespace: 'default',
        name,
        patchType: 'json' as const,
        patch: bindPatch,
      })),
      expectEvents: [
        newEvent(binding(), 'Normal', 'Bound', 'Bound Deployment default/a'),
        newEvent(binding(), 'Normal', 'Bound', 'Bound Deployment default/b'),
        newEvent(binding(), 'Normal', 'StatusUpdated', 'Updated status'),
      ],
      expectStatusUpdates: [
        binding(
          {
            subject: { apiVersion: 'apps/v1', kind: 'Deployment', selector: { matchLabels: { tier: 'db' } } },
          },
          {},
          ready('True', 'SubjectsBound', 'Bound 2 Deployment objects in default matching tier=db'),
        ),
      ],
      verify: (_result, _err, config) => {
        assert.deepEqual(storedTemplate(config, 'a'), templateOf(bound('a', { tier: 'db' })));
        assert.deepEqual(storedTemplate(config, 'c'), templateOf(deployment('c', { tier: 'web' })));
      },
    },
    'subject missing: Ready False, waits for it': {
      request,
      givenObjects: [binding()],
      expectTracks: [tracksWeb],
      expectEvents: [newEvent(binding(), 'Normal', 'StatusUpdated', 'Updated status')],
      expectStatusUpdates: [
        binding({}, {}, ready('False', 'SubjectMissing', 'Deployment default/web not found')),
      ],
    },
    'invalid mount path: Ready False names the field, nothing is patched': {
      request,
      givenObjects: [binding({ mountPath: '../etc' }), deployment()],
      expectEvents: [
        newEvent(
          binding(),
          'Warning',
          'InvalidSpec',
          'spec.mountPath: must be an absolute path, got "../etc"',
        ),
        newEvent(binding(), 'Normal', 'StatusUpdated', 'Updated status'),
      ],
      expectStatusUpdates: [
        binding(
          { mountPath: '../etc' },
          {},
          ready('False', 'InvalidSpec', 'spec.mountPath: must be an absolute path, got "../etc"'),
        ),
      ],
    },
    'a concurrent change of the Deployment: requeued, not failed': {
      request,
      givenObjects: [binding(), deployment()],
      withReactors: [{ verb: 'patch', kind: 'Deployment', fn: (action) => conflictError(action.ref) }],
      expectTracks: [tracksWeb],
      expectPatches: [
        { kind: 'Deployment', namespace: 'default', name: 'web', patchType: 'json', patch: bindPatch },
      ],
      expectEvents: [newEvent(binding(), 'Normal', 'StatusUpdated', 'Updated status')],
      expectStatusUpdates: [binding({}, {}, ready('Unknown', 'Initializing', ''))],
      expectedResult: { requeue: true },
    },
    'patch refused: Ready False names the Deployment, and the reconcile fails': {
      request,
      givenObjects: [binding(), deployment()],
      withReactors: [
        { verb: 'patch', kind: 'Deployment', fn: (action) => forbiddenError(action.ref, 'patch') },
      ],
      expectTracks: [tracksWeb],
      expectPatches: [
        { kind: 'Deployment', namespace: 'default', name: 'web', patchType: 'json', patch: bindPatch },
      ],
      expectEvents: [
        newEvent(
          binding(),
          'Warning',
          'SubjectPatchFailed',
          'cannot patch Deployment default/web: deployments.apps "web" is forbidden: User "system:serviceaccount:default:controller" cannot patch resource "deployments" in API group "apps" in the namespace "default"',
        ),
        newEvent(binding(), 'Normal', 'StatusUpdated', 'Updated status'),
      ],
      expectStatusUpdates: [
        binding(
          {},
          {},
          {
            // A failed reconcile has not observed the generation.
            conditions:
              ready(
                'False',
                'SubjectPatchFailed',
                'cannot patch Deployment default/web: deployments.apps "web" is forbidden: User "system:serviceaccount:default:controller" cannot patch resource "deployments" in API group "apps" in the namespace "default"',
              )?.conditions ?? [],
          },
        ),
      ],
      shouldErr: /cannot patch Deployment default\/web/,
    },
    'deleted: undoes the binding, then lets the binding go': {
      request,
      givenObjects: [binding({}, { deletionTimestamp: '2024-01-01T00:00:00Z' }), bound()],
      expectTracks: [tracksWeb],
      expectPatches: [
        {
          kind: 'Deployment',
          namespace: 'default',
          name: 'web',
          patchType: 'json',
          patch: [
            { op: 'replace', path: '/metadata/resourceVersion', value: '10' },
            { op: 'remove', path: '/spec/template/spec/initContainers/0/volumeMounts' },
            { op: 'remove', path: '/spec/template/spec/containers/0/volumeMounts/1' },
            { op: 'remove', path: '/spec/template/spec/containers/1/volumeMounts' },
            { op: 'remove', path: '/spec/template/spec/volumes/1' },
          ],
        },
        {
          kind: 'SecretMount',
          namespace: 'default',
          name: 'db',
          patchType: 'merge',
          patch: { metadata: { finalizers: [], resourceVersion: '5' } },
        },
      ],
      expectEvents: [
        newEvent(binding(), 'Normal', 'Unbound', 'Unbound Deployment default/web'),
        newEvent(binding(), 'Normal', 'FinalizerPatched', `Patched finalizer "${secretMountFinalizer}"`),
      ],
      verify: (_result, _err, config) => {
        assert.deepEqual(
          storedTemplate(config),
          templateOf(deployment()),
          'the template is back to its original',
        );
        assert.equal(
          config.client.stored({ ...secretMountType, namespace: 'default', name: 'db' }),
          undefined,
        );
      },
    },
    'deleted, subject gone: the finalizer goes': {
      request,
      givenObjects: [binding({}, { deletionTimestamp: '2024-01-01T00:00:00Z' })],
      expectTracks: [tracksWeb],
      expectPatches: [
        {
          kind: 'SecretMount',
          namespace: 'default',
          name: 'db',
          patchType: 'merge',
          patch: { metadata: { finalizers: [], resourceVersion: '5' } },
        },
      ],
      expectEvents: [
        newEvent(binding(), 'Normal', 'FinalizerPatched', `Patched finalizer "${secretMountFinalizer}"`),
      ],
    },
    'deleted, the Deployment out of reach (Forbidden): the finalizer goes': {
      request,
      givenObjects: [binding({}, { deletionTimestamp: '2024-01-01T00:00:00Z' }), bound()],
      withReactors: [{ verb: 'get', kind: 'Deployment', fn: (action) => forbiddenError(action.ref, 'get') }],
      expectTracks: [tracksWeb],
      expectPatches: [
        {
          kind: 'SecretMount',
          namespace: 'default',
          name: 'db',
          patchType: 'merge',
          patch: { metadata: { finalizers: [], resourceVersion: '5' } },
        },
      ],
      expectEvents: [
        newEvent(binding(), 'Normal', 'FinalizerPatched', `Patched finalizer "${secretMountFinalizer}"`),
      ],
    },
    'deleted, undo conflicts: the finalizer stays and the reconcile is retried': {
      request,
      givenObjects: [binding({}, { deletionTimestamp: '2024-01-01T00:00:00Z' }), bound()],
      withReactors: [{ verb: 'patch', kind: 'Deployment', fn: (action) => conflictError(action.ref) }],
      expectTracks: [tracksWeb],
      expectPatches: [
        {
          kind: 'Deployment',
          namespace: 'default',
          name: 'web',
          patchType: 'json',
          patch: [
            { op: 'replace', path: '/metadata/resourceVersion', value: '10' },
            { op: 'remove', path: '/spec/template/spec/initContainers/0/volumeMounts' },
            { op: 'remove', path: '/spec/template/spec/containers/0/volumeMounts/1' },
            { op: 'remove', path: '/spec/template/spec/containers/1/volumeMounts' },
            { op: 'remove', path: '/spec/template/spec/volumes/1' },
          ],
        },
      ],
      shouldErr: /unbinding Deployment default\/web: 1 subject\(s\) changed while being unbound/,
    },
  },
});

describe('docs/bindings.md', () => {
  it('quotes the sample verbatim', async () => {
    const read = (path: string): Promise<string> => readFile(new URL(path, import.meta.url), 'utf8');
    const guide = await read('../../docs/bindings.md');
    // Compared line by line without indentation: the formatter re-indents a quoted block.
    const lines = (text: string): string =>
      text
        .split('\n')
        .map((l) => l.trim())
        .join('\n');
    const sources = (await Promise.all(['secret-mount.ts', 'controller.ts', 'main.ts'].map(read))).map(lines);
    const blocks = [...guide.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => lines(m[1] ?? ''));
    assert.ok(blocks.length >= 6, `the guide has its code blocks (${blocks.length})`);
    for (const block of blocks) {
      assert.ok(
        sources.some((source) => source.includes(block)),
        `not found in the sample:\n${block}`,
      );
    }
  });
});
