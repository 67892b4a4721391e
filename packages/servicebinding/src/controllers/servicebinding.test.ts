// The ServiceBinding reconciler on the runtime's fake API server: one row per situation of the
// checklist's condition table (§6.2) and per status transition. Row names carry §8 item ids.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NoKindMatchError, parseApiVersion } from '@bindery/kube';
import type { KubeObject, ObjectRef, TypeRef } from '@bindery/kube';
import { duckPatch } from '@bindery/runtime';
import type { Condition } from '@bindery/runtime';
import {
  alreadyExistsError,
  conflictError,
  forbiddenError,
  internalError,
  invalidError,
  newEvent,
  newTrackRequest,
  notFoundError,
  reconcilerTests,
} from '@bindery/runtime/testing';
import type { PatchRef } from '@bindery/runtime/testing';
import { pino } from 'pino';
import {
  cronJobMapping as defaultCronJobMapping,
  cronJobMappingName,
  formatFieldError,
  validateServiceBinding,
} from '../apis/index.ts';
import type { ServiceBinding } from '../apis/index.ts';
import { CRONJOB_MAPPING } from '../projector/index.ts';
import type { ResourceFor } from '../resolver/index.ts';
import type { KindWatcher, WatchDenied } from './kind-watcher.ts';
import type { ProjectionHook } from './projection-hooks.ts';
import {
  bindWorkload,
  defaultMappingsFieldManager,
  defaultMappingsRunnable,
  rolloutAnnotation,
  secretVersionAnnotation,
  serviceBindingFinalizer,
  serviceBindingReconciler,
  unbindWorkload,
} from './servicebinding.ts';

const ns = 'default';
const now = '2024-01-01T00:00:00Z';
const uid = 'binding-uid';

const resources: Record<string, string> = {
  Deployment: 'deployments',
  CronJob: 'cronjobs',
  AccountService: 'accountservices',
  PolledService: 'polledservices',
  Gizmo: 'gizmos',
  Secret: 'secrets',
  ServiceBinding: 'servicebindings',
};
const resourceFor: ResourceFor = (type: TypeRef) => {
  const resource = resources[type.kind];
  const { group, version } = parseApiVersion(type.apiVersion);
  if (resource === undefined)
    return Promise.reject(new NoKindMatchError({ group, version, kind: type.kind }));
  return Promise.resolve({ group, resource });
};

const reconciler = () => serviceBindingReconciler({ resourceFor });
const request = { namespace: ns, name: 'my-binding' };

const cond = (type: string, status: Condition['status'], reason: string, message = ''): Condition => ({
  type,
  status,
  reason,
  message,
  lastTransitionTime: now,
});
const ready = (status: Condition['status'], reason: string, message = ''): Condition =>
  cond('Ready', status, reason, message);
const serviceAvailable = (status: Condition['status'], reason: string, message = ''): Condition =>
  cond('ServiceAvailable', status, reason, message);
const workloadProjected = (status: Condition['status'], reason: string, message = ''): Condition =>
  cond('WorkloadProjected', status, reason, message);
/** The conditions of a binding whose service has no Secret, with `projected` as WorkloadProjected. */
const missingBinding = (projected: Condition): Condition[] => [
  ready('Unknown', 'ServiceMissingBinding', 'the service was found, but did not contain a binding secret'),
  serviceAvailable(
    'Unknown',
    'ServiceMissingBinding',
    'the service was found, but did not contain a binding secret',
  ),
  projected,
];
/** The conditions of the pass that persisted a new `.status.binding.name`, before projecting it. */
const pending = (message = 'the Secret "my-secret" is being projected into the workloads') => [
  ready('Unknown', 'ProjectionPending', message),
  serviceAvailable('True', 'ResolvedBindingSecret'),
  workloadProjected('Unknown', 'ProjectionPending', message),
];

const allTrue = [
  ready('True', 'ServiceBound'),
  serviceAvailable('True', 'ResolvedBindingSecret'),
  workloadProjected('True', 'WorkloadProjected'),
];

interface BindingOptions {
  spec?: Partial<ServiceBinding['spec']>;
  status?: ServiceBinding['status'];
  finalizers?: string[] | false;
  annotations?: Record<string, string>;
  deleting?: boolean;
}

function binding(o: BindingOptions = {}): ServiceBinding {
  return {
    apiVersion: 'servicebinding.io/v1',
    kind: 'ServiceBinding',
    metadata: {
      namespace: ns,
      name: 'my-binding',
      uid,
      generation: 2,
      resourceVersion: '100',
      ...(o.finalizers === false ? {} : { finalizers: o.finalizers ?? [serviceBindingFinalizer] }),
      ...(o.annotations ? { annotations: o.annotations } : {}),
      ...(o.deleting ? { deletionTimestamp: now } : {}),
    },
    spec: {
      service: { apiVersion: 'example.com/v1', kind: 'AccountService', name: 'my-service' },
      workload: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'my-workload' },
      ...o.spec,
    },
    ...(o.status ? { status: o.status } : {}),
  };
}

/** A binding's status as the reconciler writes it. */
const status = (conditions: Condition[], secret: string | null = 'my-secret'): ServiceBinding['status'] => ({
  ...(secret !== null ? { binding: { name: secret } } : {}),
  conditions,
  observedGeneration: 2,
});

const bound = (o: BindingOptions = {}): ServiceBinding => binding({ status: status(allTrue), ...o });

const service = (secret: string | null = 'my-secret'): KubeObject => ({
  apiVersion: 'example.com/v1',
  kind: 'AccountService',
  metadata: { namespace: ns, name: 'my-service', resourceVersion: '5' },
  status: secret === null ? {} : { binding: { name: secret } },
});

const secret = (name = 'my-secret'): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { namespace: ns, name, resourceVersion: '7' },
  data: { password: 'c2VjcmV0' },
});

function deployment(name = 'my-workload', labels: Record<string, string> = {}): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { namespace: ns, name, labels, resourceVersion: '20' },
    spec: {
      template: {
        spec: { containers: [{ name: 'app', image: 'app:1' }] },
      },
    },
  };
}

const cronJob: KubeObject = {
  apiVersion: 'batch/v1',
  kind: 'CronJob',
  metadata: { namespace: ns, name: 'nightly', resourceVersion: '30' },
  spec: {
    schedule: '@daily',
    jobTemplate: { spec: { template: { spec: { containers: [{ name: 'job', image: 'job:1' }] } } } },
  },
};

const cronJobMapping: KubeObject = {
  apiVersion: 'servicebinding.io/v1',
  kind: 'ClusterWorkloadResourceMapping',
  metadata: { name: 'cronjobs.batch', resourceVersion: '3' },
  spec: CRONJOB_MAPPING,
};

/** The workload with the binding projected, as the reconciler sends it. */
const projected = (w: KubeObject, b: ServiceBinding = bound(), secretName = 'my-secret', version?: string) =>
  bindWorkload(b, w, w.kind === 'CronJob' ? CRONJOB_MAPPING : undefined, secretName, version);

/**
 * What the reconciler sends to turn `original` into `desired`: a JSON Patch of the changes, led by
 * a resourceVersion precondition (the bindings package's write loop), never the whole workload.
 */
const patchOf = (original: KubeObject, desired: KubeObject): PatchRef => ({
  kind: original.kind ?? '',
  namespace: original.metadata.namespace ?? '',
  name: original.metadata.name ?? '',
  patchType: 'json',
  patch: duckPatch(original, desired),
});

const by = binding();
const tracks = {
  service: newTrackRequest(
    { apiVersion: 'example.com/v1', kind: 'AccountService', namespace: ns, name: 'my-service' },
    by,
  ),
  secret: newTrackRequest({ apiVersion: 'v1', kind: 'Secret', namespace: ns, name: 'my-secret' }, by),
  workload: newTrackRequest(
    { apiVersion: 'apps/v1', kind: 'Deployment', namespace: ns, name: 'my-workload' },
    by,
  ),
  mapping: newTrackRequest(
    { apiVersion: 'servicebinding.io/v1', kind: 'ClusterWorkloadResourceMapping', name: 'deployments.apps' },
    by,
  ),
};
const resolvedTracks = [tracks.service, tracks.secret, tracks.workload, tracks.mapping];
const statusUpdated = newEvent(by, 'Normal', 'StatusUpdated', 'Updated status');
const updated = (name = 'my-workload', kind = 'Deployment') =>
  newEvent(by, 'Normal', 'Updated', `Updated ${kind} "${name}"`);

const selectorSpec = {
  workload: { apiVersion: 'apps/v1', kind: 'Deployment', selector: { matchLabels: { app: 'web' } } },
};
const selectorTrack = newTrackRequest(
  { apiVersion: 'apps/v1', kind: 'Deployment', namespace: ns, selector: 'app=web' },
  by,
);

const cronJobSpec = { workload: { apiVersion: 'batch/v1', kind: 'CronJob', name: 'nightly' } };
const workloadNotFound = 'the workload was not found: Deployment "my-workload" in namespace "default"';
const gadgetNotServed = 'the workload kind is not served: no kind "Gadget" is served in example.com/v1';
const updateForbidden = `Deployment default/my-workload: the controller does not have permission to patch the workloads: needs "patch" on deployments.apps (${forbiddenError({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: ns, name: 'my-workload' }, 'patch').status.message ?? ''})`;
/** An immutable pod template's 422 quotes the template, literal env values included. */
const immutableTemplate =
  'spec.template: Invalid value: core.PodTemplateSpec{Spec:core.PodSpec{Containers:[]core.Container{core.Container{Name:"app", Env:[]core.EnvVar{core.EnvVar{Name:"DB_PASSWORD", Value:"hunter2"}}}}}}: field is immutable';
const invalidUpdate =
  'Deployment default/my-workload: Deployment.apps "my-workload" is invalid: spec.template: Invalid value: (value omitted): field is immutable';
const updateFailed = `Deployment default/my-workload: ${internalError('webhook timed out').status.message ?? ''}`;

/** The fake API server serves what `resourceFor` knows, and the mappings: no other kind. */
const served = [...Object.keys(resources), 'ClusterWorkloadResourceMapping'];

reconcilerTests('ServiceBinding reconciler', {
  reconciler,
  served,
  rows: {
    'SB-18 SB-19 SB-24 RC-3 AMB-19: a new binding gets the finalizer, then status.binding.name before any workload is touched':
      {
        request,
        givenObjects: [binding({ finalizers: false }), service(), deployment()],
        expectPatches: [
          {
            kind: 'ServiceBinding',
            namespace: ns,
            name: 'my-binding',
            patchType: 'merge',
            patch: { metadata: { finalizers: [serviceBindingFinalizer], resourceVersion: '100' } },
          },
        ],
        expectTracks: [tracks.service, tracks.secret],
        expectStatusUpdates: [
          withResourceVersion(
            '101',
            binding({
              status: status(pending()),
            }),
          ),
        ],
        expectEvents: [
          newEvent(by, 'Normal', 'FinalizerPatched', `Patched finalizer "${serviceBindingFinalizer}"`),
          statusUpdated,
        ],
      },
    'RC-1 SA-1 RI-1 SB-25: with the secret resolved, the workload is projected and Ready is True': {
      request,
      givenObjects: [
        binding({
          status: status(pending()),
        }),
        service(),
        deployment(),
      ],
      expectTracks: resolvedTracks,
      expectPatches: [patchOf(deployment(), projected(deployment()))],
      expectStatusUpdates: [bound()],
      expectEvents: [updated(), statusUpdated],
      expectedResult: { requeueAfterMs: 60_000 },
      verify: (_result, _err, config) => {
        // What the projector wrote, checked here by hand: a Secret by reference, never its data.
        const stored = config.client.stored({
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          namespace: ns,
          name: 'my-workload',
        });
        const spec = (stored?.['spec'] as { template: { spec: Record<string, unknown> } }).template.spec;
        assert.deepEqual(spec['volumes'], [
          {
            name: `servicebinding-${uid}`,
            projected: { defaultMode: 420, sources: [{ secret: { name: 'my-secret' } }] },
          },
        ]);
        assert.deepEqual((spec['containers'] as Array<Record<string, unknown>>)[0]?.['volumeMounts'], [
          { name: `servicebinding-${uid}`, readOnly: true, mountPath: '/bindings/my-binding' },
        ]);
      },
    },
    'SB-25 RC-1: in sync: no writes': {
      request,
      givenObjects: [bound(), service(), projected(deployment())],
      expectTracks: resolvedTracks,
      expectedResult: { requeueAfterMs: 60_000 },
    },
    'SA-2 RC-2 AMB-1: service not found: ServiceAvailable and Ready are False': {
      request,
      givenObjects: [bound(), projected(deployment())],
      expectTracks: [tracks.service],
      expectStatusUpdates: [
        bound({
          status: status([
            ready('False', 'ServiceNotFound', 'the service AccountService "my-service" was not found'),
            serviceAvailable(
              'False',
              'ServiceNotFound',
              'the service AccountService "my-service" was not found',
            ),
            workloadProjected('True', 'WorkloadProjected'),
          ]),
        }),
      ],
      expectEvents: [
        newEvent(by, 'Warning', 'ServiceNotFound', 'the service AccountService "my-service" was not found'),
        statusUpdated,
      ],
      // Halted, and still polled: nothing else would tell the controller that the service is back.
      expectedResult: { requeueAfterMs: 60_000 },
    },
    'SA-2 SB-20 AMB-3: service forbidden: False, naming the missing verb and resource': {
      request,
      givenObjects: [bound(), service(), projected(deployment())],
      withReactors: [{ verb: 'get', kind: 'AccountService', fn: (a) => forbiddenError(a.ref, 'get') }],
      expectTracks: [tracks.service],
      verify: (_result, _err, config) => {
        const sent = config.client.actions.find((a) => a.verb === 'updateStatus')?.object as ServiceBinding;
        const available = sent.status?.conditions?.find((c) => c.type === 'ServiceAvailable');
        assert.equal(available?.status, 'False');
        assert.equal(available.reason, 'ServiceForbidden');
        assert.match(
          available.message,
          /^the controller does not have permission to get the service AccountService "my-service": needs "get" on accountservices\.example\.com \(/,
        );
        assert.equal(sent.status?.conditions?.[0]?.status, 'False');
      },
      expectStatusUpdates: [
        bound({
          status: status([
            ready('False', 'ServiceForbidden', forbiddenMessage()),
            serviceAvailable('False', 'ServiceForbidden', forbiddenMessage()),
            workloadProjected('True', 'WorkloadProjected'),
          ]),
        }),
      ],
      expectEvents: [newEvent(by, 'Warning', 'ServiceForbidden', forbiddenMessage()), statusUpdated],
      // Retried: the user guide's fix is to add a ClusterRole, and no event follows that.
      expectedResult: { requeueAfterMs: 60_000 },
    },
    'AMB-3: any other error reading the service is retried, status untouched': {
      request,
      givenObjects: [bound(), service(), projected(deployment())],
      withReactors: [{ verb: 'get', kind: 'AccountService', fn: () => internalError('etcd is sad') }],
      expectTracks: [tracks.service],
      shouldErr: /etcd is sad/,
    },
    'SA-3 AMB-2: the service has no binding secret: Unknown, and status.binding is cleared first': {
      request,
      givenObjects: [bound(), service(null), projected(deployment())],
      expectTracks: [tracks.service],
      expectStatusUpdates: [
        binding({
          status: status(
            missingBinding(
              workloadProjected(
                'Unknown',
                'ProjectionPending',
                'the projection is being removed from the workloads',
              ),
            ),
            null,
          ),
        }),
      ],
      expectEvents: [statusUpdated],
    },
    'SA-3 AMB-2: with status.binding cleared, the projection is removed from the workload': {
      request,
      givenObjects: [
        binding({
          status: status(
            missingBinding(
              workloadProjected(
                'Unknown',
                'ProjectionPending',
                'the projection is being removed from the workloads',
              ),
            ),
            null,
          ),
        }),
        service(null),
        projected(deployment()),
      ],
      expectTracks: [tracks.service, tracks.workload, tracks.mapping],
      expectPatches: [
        patchOf(projected(deployment()), unbindWorkload(bound(), projected(deployment()), undefined)),
      ],
      expectStatusUpdates: [
        binding({
          status: status(missingBinding(workloadProjected('True', 'WorkloadProjected')), null),
        }),
      ],
      expectEvents: [updated(), statusUpdated],
      expectedResult: { requeueAfterMs: 60_000 },
    },
    'SB-24: the service rotated its Secret: the new name is persisted, then re-projected': {
      request,
      givenObjects: [bound(), service('rotated'), projected(deployment())],
      expectTracks: [tracks.service, newTrackRequest({ ...tracks.secret.tracked, name: 'rotated' }, by)],
      expectStatusUpdates: [
        bound({
          status: status(pending('the Secret "rotated" is being projected into the workloads'), 'rotated'),
        }),
      ],
      expectEvents: [statusUpdated],
    },
    'SB-24 RI-1: after rotation, the workload mounts the new Secret': {
      request,
      givenObjects: [
        bound({
          status: status(pending('the Secret "rotated" is being projected into the workloads'), 'rotated'),
        }),
        service('rotated'),
        projected(deployment()),
      ],
      expectTracks: [
        tracks.service,
        newTrackRequest({ ...tracks.secret.tracked, name: 'rotated' }, by),
        tracks.workload,
        tracks.mapping,
      ],
      expectPatches: [patchOf(projected(deployment()), projected(deployment(), bound(), 'rotated'))],
      expectStatusUpdates: [bound({ status: status(allTrue, 'rotated') })],
      expectEvents: [updated(), statusUpdated],
      expectedResult: { requeueAfterMs: 60_000 },
    },
    'DS-1: a direct Secret reference is resolved with a metadata-only GET': {
      request,
      givenObjects: [
        bound({ spec: { service: { apiVersion: 'v1', kind: 'Secret', name: 'my-secret' } } }),
        secret(),
        projected(deployment()),
      ],
      expectTracks: [tracks.secret, tracks.workload, tracks.mapping],
      verify: (_result, _err, config) => {
        const gets = config.client.actions.filter((a) => a.verb === 'get' && a.ref.kind === 'Secret');
        assert.equal(gets.length, 1);
        assert.equal(gets[0]?.options?.metadataOnly, true, 'the Secret is read as metadata only');
      },
    },
    'DS-1 SA-2 AMB-4: a directly referenced Secret that is missing: ServiceAvailable False': {
      request,
      givenObjects: [
        bound({ spec: { service: { apiVersion: 'v1', kind: 'Secret', name: 'my-secret' } } }),
        projected(deployment()),
      ],
      expectTracks: [tracks.secret],
      expectStatusUpdates: [
        bound({
          spec: { service: { apiVersion: 'v1', kind: 'Secret', name: 'my-secret' } },
          status: status([
            ready('False', 'ServiceNotFound', 'the Secret "my-secret" was not found'),
            serviceAvailable('False', 'ServiceNotFound', 'the Secret "my-secret" was not found'),
            workloadProjected('True', 'WorkloadProjected'),
          ]),
        }),
      ],
      expectEvents: [
        newEvent(by, 'Warning', 'ServiceNotFound', 'the Secret "my-secret" was not found'),
        statusUpdated,
      ],
    },
    'RI-12 RC-2 AMB-1: the workload named is not found: WorkloadProjected and Ready are False': {
      request,
      givenObjects: [bound(), service()],
      expectTracks: resolvedTracks,
      expectStatusUpdates: [
        bound({
          status: status([
            ready('False', 'WorkloadNotFound', workloadNotFound),
            serviceAvailable('True', 'ResolvedBindingSecret'),
            workloadProjected('False', 'WorkloadNotFound', workloadNotFound),
          ]),
        }),
      ],
      expectEvents: [newEvent(by, 'Warning', 'WorkloadNotFound', workloadNotFound), statusUpdated],
      expectedResult: { requeueAfterMs: 60_000 },
    },
    // The cache never answers a forbidden list with a 403 (its informer never syncs): the kind
    // watcher's access check is what reports WorkloadForbidden (see the rows further down).
    'a list of the workloads the cache cannot serve (forbidden) fails the reconcile, retried with backoff': {
      request,
      givenObjects: [bound(), service(), deployment()],
      withReactors: [{ verb: 'list', kind: 'Deployment', fn: (a) => forbiddenError(a.ref, 'list') }],
      expectTracks: resolvedTracks,
      shouldErr: /the cache of Deployment \(apps\/v1\) did not sync within 30 s: .*forbidden/,
    },
    'RC-2 RI-13 SB-20: patching the workload is forbidden: False, naming patch on deployments.apps, and an event':
      {
        request,
        givenObjects: [bound(), service(), deployment()],
        withReactors: [{ verb: 'patch', kind: 'Deployment', fn: (a) => forbiddenError(a.ref, 'patch') }],
        expectTracks: resolvedTracks,
        expectPatches: [patchOf(deployment(), projected(deployment()))],
        expectStatusUpdates: [
          bound({
            status: status([
              ready('False', 'WorkloadForbidden', updateForbidden),
              serviceAvailable('True', 'ResolvedBindingSecret'),
              workloadProjected('False', 'WorkloadForbidden', updateForbidden),
            ]),
          }),
        ],
        expectEvents: [newEvent(by, 'Warning', 'WorkloadForbidden', updateForbidden), statusUpdated],
        expectedResult: { requeueAfterMs: 60_000 },
      },
    'RI-11: a conflict updating the workload is not reflected in status; requeued': {
      request,
      givenObjects: [bound(), service(), deployment()],
      withReactors: [{ verb: 'patch', kind: 'Deployment', fn: (a) => conflictError(a.ref) }],
      expectTracks: resolvedTracks,
      expectPatches: [patchOf(deployment(), projected(deployment()))],
      expectedResult: { requeue: true },
    },
    'a mutating webhook undid the projection (the API server answered unprojected): requeued, not reported projected':
      {
        request,
        givenObjects: [bound(), service(), deployment()],
        withReactors: [{ verb: 'patch', kind: 'Deployment', fn: () => ({ response: deployment() }) }],
        expectTracks: resolvedTracks,
        expectPatches: [patchOf(deployment(), projected(deployment()))],
        expectedResult: { requeue: true },
      },
    'RI-10: any other failed update is reported and retried with backoff': {
      request,
      givenObjects: [bound(), service(), deployment()],
      withReactors: [{ verb: 'patch', kind: 'Deployment', fn: () => internalError('webhook timed out') }],
      expectTracks: resolvedTracks,
      expectPatches: [patchOf(deployment(), projected(deployment()))],
      shouldErr: /webhook timed out/,
      verify: (_result, _err, config) => {
        const sent = config.client.actions.find((a) => a.verb === 'updateStatus')?.object as ServiceBinding;
        const c = sent.status?.conditions?.find((x) => x.type === 'WorkloadProjected');
        assert.equal(c?.status, 'False');
        assert.equal(c.reason, 'WorkloadUpdateFailed');
        assert.match(
          c.message,
          /^Deployment default\/my-workload: Internal error occurred: webhook timed out/,
        );
      },
      expectStatusUpdates: [
        bound({
          status: status([
            ready('False', 'WorkloadUpdateFailed', updateFailed),
            serviceAvailable('True', 'ResolvedBindingSecret'),
            workloadProjected('False', 'WorkloadUpdateFailed', updateFailed),
          ]),
        }),
      ],
      expectEvents: [newEvent(by, 'Warning', 'WorkloadUpdateFailed', updateFailed), statusUpdated],
    },
    'RI-10: an update refused as Invalid (an immutable pod template) is reported and not retried with backoff':
      {
        request,
        givenObjects: [bound(), service(), deployment()],
        withReactors: [
          {
            verb: 'patch',
            kind: 'Deployment',
            fn: (a) => invalidError(a.ref, immutableTemplate),
          },
        ],
        expectTracks: resolvedTracks,
        expectPatches: [patchOf(deployment(), projected(deployment()))],
        verify: (_result, _err, config) => {
          const sent = config.client.actions.find((a) => a.verb === 'updateStatus')?.object as ServiceBinding;
          const c = sent.status?.conditions?.find((x) => x.type === 'Ready');
          assert.equal(c?.status, 'False');
          assert.equal(c.reason, 'WorkloadUpdateFailed');
          assert.match(c.message, /^Deployment default\/my-workload: .*field is immutable/);
          // The object body the API server quoted never reaches a status or an event.
          assert.doesNotMatch(JSON.stringify(sent.status), /hunter2|DB_PASSWORD/);
          assert.doesNotMatch(JSON.stringify(config.recorder.events), /hunter2|DB_PASSWORD/);
        },
        expectStatusUpdates: [
          bound({
            status: status([
              ready('False', 'WorkloadUpdateFailed', invalidUpdate),
              serviceAvailable('True', 'ResolvedBindingSecret'),
              workloadProjected('False', 'WorkloadUpdateFailed', invalidUpdate),
            ]),
          }),
        ],
        expectEvents: [newEvent(by, 'Warning', 'WorkloadUpdateFailed', invalidUpdate), statusUpdated],
        expectedResult: { requeueAfterMs: 60_000 },
      },
    'a malformed mapping stash on the workload is a condition on the binding, not an error retried forever': {
      request,
      givenObjects: [bound(), service(), badStash(deployment())],
      expectTracks: resolvedTracks,
      verify: (result, err) => {
        assert.equal(err, undefined);
        assert.deepEqual(result, { requeueAfterMs: 60_000 });
      },
      expectStatusUpdates: [
        bound({
          status: status([
            ready('False', 'InvalidMappingStash', badStashMessage()),
            serviceAvailable('True', 'ResolvedBindingSecret'),
            workloadProjected('False', 'InvalidMappingStash', badStashMessage()),
          ]),
        }),
      ],
      expectEvents: [newEvent(by, 'Warning', 'InvalidMappingStash', badStashMessage()), statusUpdated],
      expectedResult: { requeueAfterMs: 60_000 },
    },
    'SB-22 SB-5: a selector binds every matching workload, and no other': {
      request,
      givenObjects: [
        bound({ spec: selectorSpec }),
        service(),
        deployment('web-1', { app: 'web' }),
        deployment('web-2', { app: 'web' }),
        deployment('db', { app: 'db' }),
      ],
      expectTracks: [tracks.service, tracks.secret, selectorTrack, tracks.mapping],
      expectPatches: [
        patchOf(
          deployment('web-1', { app: 'web' }),
          projected(deployment('web-1', { app: 'web' }), bound({ spec: selectorSpec })),
        ),
        patchOf(
          deployment('web-2', { app: 'web' }),
          projected(deployment('web-2', { app: 'web' }), bound({ spec: selectorSpec })),
        ),
      ],
      expectEvents: [updated('web-1'), updated('web-2')],
      expectedResult: { requeueAfterMs: 60_000 },
    },
    'SB-22: a workload that stopped matching the selector is unprojected': {
      request,
      givenObjects: [
        bound({ spec: selectorSpec }),
        service(),
        projected(deployment('web-1', { app: 'web' }), bound({ spec: selectorSpec })),
        projected(deployment('was-web', { app: 'api' }), bound({ spec: selectorSpec })),
      ],
      expectTracks: [tracks.service, tracks.secret, selectorTrack, tracks.mapping],
      expectPatches: [
        patchOf(
          projected(deployment('was-web', { app: 'api' })),
          unbindWorkload(bound(), projected(deployment('was-web', { app: 'api' })), undefined),
        ),
      ],
      expectEvents: [updated('was-web')],
      expectedResult: { requeueAfterMs: 60_000 },
    },
    'SB-23: partial failures are aggregated on Ready, naming the failing workload': {
      request,
      givenObjects: [
        bound({ spec: selectorSpec }),
        service(),
        deployment('web-1', { app: 'web' }),
        badRoot(deployment('web-2', { app: 'web' })),
      ],
      expectTracks: [tracks.service, tracks.secret, selectorTrack, tracks.mapping],
      expectPatches: [
        patchOf(
          deployment('web-1', { app: 'web' }),
          projected(deployment('web-1', { app: 'web' }), bound({ spec: selectorSpec })),
        ),
      ],
      verify: (_result, _err, config) => {
        const sent = config.client.actions.find((a) => a.verb === 'updateStatus')?.object as ServiceBinding;
        const r = sent.status?.conditions?.find((c) => c.type === 'Ready');
        assert.equal(r?.status, 'False');
        assert.equal(r.reason, 'UnsupportedServiceBindingRoot');
        assert.match(r.message, /^1 of 2 workloads failed: Deployment default\/web-2: /);
        assert.doesNotMatch(r.message, /web-1/);
      },
      expectStatusUpdates: [
        bound({
          spec: selectorSpec,
          status: status([
            ready('False', 'UnsupportedServiceBindingRoot', partialMessage()),
            serviceAvailable('True', 'ResolvedBindingSecret'),
            workloadProjected('False', 'UnsupportedServiceBindingRoot', partialMessage()),
          ]),
        }),
      ],
      expectEvents: [
        updated('web-1'),
        newEvent(
          by,
          'Warning',
          'UnsupportedServiceBindingRoot',
          partialMessage().replace('1 of 2 workloads failed: ', ''),
        ),
        statusUpdated,
      ],
      expectedResult: { requeueAfterMs: 60_000 },
    },
    'AMB-11: a selector that matches nothing is True, and says so': {
      request,
      givenObjects: [bound({ spec: selectorSpec }), service(), deployment('db', { app: 'db' })],
      expectTracks: [tracks.service, tracks.secret, selectorTrack, tracks.mapping],
      expectStatusUpdates: [
        bound({
          spec: selectorSpec,
          status: status([
            ready('True', 'ServiceBound'),
            serviceAvailable('True', 'ResolvedBindingSecret'),
            workloadProjected(
              'True',
              'WorkloadProjected',
              'no Deployment in namespace "default" matches the selector app=web',
            ),
          ]),
        }),
      ],
      expectEvents: [statusUpdated],
      expectedResult: { requeueAfterMs: 60_000 },
    },
    'RB-1 WM-4: a ClusterWorkloadResourceMapping named <resource>.<group> maps the workload (CronJob)': {
      request,
      givenObjects: [bound({ spec: cronJobSpec }), service(), cronJob, cronJobMapping],
      expectTracks: [
        tracks.service,
        tracks.secret,
        newTrackRequest({ apiVersion: 'batch/v1', kind: 'CronJob', namespace: ns, name: 'nightly' }, by),
        newTrackRequest(
          {
            apiVersion: 'servicebinding.io/v1',
            kind: 'ClusterWorkloadResourceMapping',
            name: 'cronjobs.batch',
          },
          by,
        ),
      ],
      expectPatches: [patchOf(cronJob, projected(cronJob, bound({ spec: cronJobSpec })))],
      expectEvents: [updated('nightly', 'CronJob')],
      expectedResult: { requeueAfterMs: 60_000 },
      verify: (_result, _err, config) => {
        const stored = config.client.stored({
          apiVersion: 'batch/v1',
          kind: 'CronJob',
          namespace: ns,
          name: 'nightly',
        });
        const template = (
          stored?.['spec'] as { jobTemplate: { spec: { template: { spec: Record<string, unknown> } } } }
        ).jobTemplate.spec.template.spec;
        assert.equal((template['volumes'] as Array<{ name: string }>)[0]?.name, `servicebinding-${uid}`);
      },
    },
    'RB-3 RB-4: after the mapping is deleted, the projection moves from the mapped location to the PodSpec-able one':
      {
        request,
        givenObjects: [
          bound({ spec: cronJobSpec }),
          service(),
          projected(cronJob, bound({ spec: cronJobSpec })),
        ],
        expectTracks: [
          tracks.service,
          tracks.secret,
          newTrackRequest({ apiVersion: 'batch/v1', kind: 'CronJob', namespace: ns, name: 'nightly' }, by),
          newTrackRequest(
            {
              apiVersion: 'servicebinding.io/v1',
              kind: 'ClusterWorkloadResourceMapping',
              name: 'cronjobs.batch',
            },
            by,
          ),
        ],
        expectPatches: [
          patchOf(
            projected(cronJob, bound({ spec: cronJobSpec })),
            bindWorkload(
              bound(),
              projected(cronJob, bound({ spec: cronJobSpec })),
              undefined,
              'my-secret',
              undefined,
            ),
          ),
        ],
        expectEvents: [updated('nightly', 'CronJob')],
        expectedResult: { requeueAfterMs: 60_000 },
        verify: (_result, _err, config) => {
          const stored = config.client.stored({
            apiVersion: 'batch/v1',
            kind: 'CronJob',
            namespace: ns,
            name: 'nightly',
          });
          const spec = stored?.['spec'] as Record<
            string,
            { spec: { template: { spec: Record<string, unknown> } } }
          >;
          assert.deepEqual(
            spec['jobTemplate']?.spec.template.spec['volumes'],
            [],
            'removed from the old location',
          );
          assert.ok(spec['template'], 'projected at .spec.template, the PodSpec-able default');
        },
      },
    'WorkloadKindNotFound: a workload kind the API server does not serve': {
      request,
      givenObjects: [
        bound({ spec: { workload: { apiVersion: 'example.com/v1', kind: 'Gadget', name: 'g' } } }),
        service(),
      ],
      expectTracks: [
        tracks.service,
        tracks.secret,
        newTrackRequest({ apiVersion: 'example.com/v1', kind: 'Gadget', namespace: ns, name: 'g' }, by),
      ],
      expectStatusUpdates: [
        bound({
          spec: { workload: { apiVersion: 'example.com/v1', kind: 'Gadget', name: 'g' } },
          status: status([
            ready('False', 'WorkloadKindNotFound', gadgetNotServed),
            serviceAvailable('True', 'ResolvedBindingSecret'),
            workloadProjected('False', 'WorkloadKindNotFound', gadgetNotServed),
          ]),
        }),
      ],
      expectEvents: [newEvent(by, 'Warning', 'WorkloadKindNotFound', gadgetNotServed), statusUpdated],
      expectedResult: { requeueAfterMs: 60_000 },
    },
    'SB-6 RC-2: an invalid spec (name and selector) is False InvalidSpec, and nothing is touched': {
      request,
      givenObjects: [
        bound({ spec: { workload: { ...selectorSpec.workload, name: 'my-workload' } } }),
        service(),
        projected(deployment()),
      ],
      verify: (_result, _err, config) => {
        const sent = config.client.actions.find((a) => a.verb === 'updateStatus')?.object as ServiceBinding;
        const r = sent.status?.conditions?.find((c) => c.type === 'Ready');
        assert.equal(r?.status, 'False');
        assert.equal(r.reason, 'InvalidSpec');
        assert.match(r.message, /spec\.workload/);
        assert.ok(!config.client.actions.some((a) => a.verb === 'update' || a.verb === 'patch'));
      },
      expectStatusUpdates: [
        bound({
          spec: { workload: { ...selectorSpec.workload, name: 'my-workload' } },
          status: status([
            ready('False', 'InvalidSpec', invalidSpecMessage()),
            serviceAvailable('True', 'ResolvedBindingSecret'),
            workloadProjected('False', 'InvalidSpec', invalidSpecMessage()),
          ]),
        }),
      ],
      expectEvents: [newEvent(by, 'Warning', 'InvalidSpec', invalidSpecMessage()), statusUpdated],
    },
    'rollout: an opted-in binding records the Secret resourceVersion in the pod template': {
      request,
      givenObjects: [
        bound({ annotations: { [rolloutAnnotation]: 'true' } }),
        service(),
        secret(),
        deployment(),
      ],
      expectTracks: resolvedTracks,
      expectPatches: [patchOf(deployment(), projected(deployment(), bound(), 'my-secret', '7'))],
      expectEvents: [updated()],
      expectedResult: { requeueAfterMs: 60_000 },
      verify: (_result, _err, config) => {
        const stored = config.client.stored({
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          namespace: ns,
          name: 'my-workload',
        });
        const template = (
          stored?.['spec'] as { template: { metadata: { annotations: Record<string, string> } } }
        ).template;
        assert.equal(template.metadata.annotations[secretVersionAnnotation(uid)], '7');
      },
    },
    'rollout: opting out removes the Secret version annotation': {
      request,
      givenObjects: [bound(), service(), secret(), projected(deployment(), bound(), 'my-secret', '7')],
      expectTracks: resolvedTracks,
      expectPatches: [patchOf(projected(deployment(), bound(), 'my-secret', '7'), projected(deployment()))],
      expectEvents: [updated()],
      expectedResult: { requeueAfterMs: 60_000 },
    },
    'RB-3: a terminating binding is unprojected from every workload, then the finalizer goes': {
      request,
      givenObjects: [
        bound({ deleting: true, spec: selectorSpec }),
        service(),
        projected(deployment('web-1', { app: 'web' }), bound({ spec: selectorSpec })),
        projected(deployment('was-web', { app: 'api' }), bound({ spec: selectorSpec })),
      ],
      expectPatches: [
        patchOf(
          projected(deployment('web-1', { app: 'web' })),
          unbindWorkload(bound(), projected(deployment('web-1', { app: 'web' })), undefined),
        ),
        patchOf(
          projected(deployment('was-web', { app: 'api' })),
          unbindWorkload(bound(), projected(deployment('was-web', { app: 'api' })), undefined),
        ),
        {
          kind: 'ServiceBinding',
          namespace: ns,
          name: 'my-binding',
          patchType: 'merge',
          patch: { metadata: { finalizers: [], resourceVersion: '100' } },
        },
      ],
      expectEvents: [
        updated('web-1'),
        updated('was-web'),
        newEvent(by, 'Normal', 'FinalizerPatched', `Patched finalizer "${serviceBindingFinalizer}"`),
      ],
      verify: (_result, _err, config) => {
        const stored = config.client.stored({
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          namespace: ns,
          name: 'web-1',
        });
        const container = (
          stored?.['spec'] as { template: { spec: { containers: Array<Record<string, unknown>> } } }
        ).template.spec.containers[0];
        // Only SERVICE_BINDING_ROOT is left behind.
        assert.deepEqual(container?.['env'], [{ name: 'SERVICE_BINDING_ROOT', value: '/bindings' }]);
      },
    },
    'terminating: a conflict keeps the finalizer, and is retried': {
      request,
      givenObjects: [bound({ deleting: true }), projected(deployment())],
      withReactors: [{ verb: 'patch', kind: 'Deployment', fn: (a) => conflictError(a.ref) }],
      expectPatches: [
        patchOf(projected(deployment()), unbindWorkload(bound(), projected(deployment()), undefined)),
      ],
      // An error, not a requeue: a successful finalize would remove the finalizer (no patch here).
      shouldErr: /changed while being unprojected/,
    },
    'terminating: a mutating webhook put the projection back: the finalizer stays': {
      request,
      givenObjects: [bound({ deleting: true }), projected(deployment())],
      withReactors: [
        { verb: 'patch', kind: 'Deployment', fn: () => ({ response: projected(deployment()) }) },
      ],
      expectPatches: [
        patchOf(projected(deployment()), unbindWorkload(bound(), projected(deployment()), undefined)),
      ],
      shouldErr: /changed while being unprojected/,
    },
    'terminating: a workload kind that is not served any more does not hold the finalizer': {
      request,
      givenObjects: [
        bound({
          deleting: true,
          spec: { workload: { apiVersion: 'example.com/v1', kind: 'Gadget', name: 'g' } },
        }),
      ],
      expectPatches: [
        {
          kind: 'ServiceBinding',
          namespace: ns,
          name: 'my-binding',
          patchType: 'merge',
          patch: { metadata: { finalizers: [], resourceVersion: '100' } },
        },
      ],
      expectEvents: [
        newEvent(by, 'Normal', 'FinalizerPatched', `Patched finalizer "${serviceBindingFinalizer}"`),
      ],
    },
  },
});

/** Watches every kind but those it is told to deny, and records what it is asked. */
class FakeKindWatcher implements KindWatcher {
  readonly calls: string[] = [];
  readonly #deny: Readonly<Record<string, WatchDenied>>;

  constructor(deny: Readonly<Record<string, WatchDenied>>) {
    this.#deny = deny;
  }

  watch(_holder: unknown, slot: string, type: TypeRef): Promise<WatchDenied | undefined> {
    this.calls.push(`watch ${slot} ${type.kind}`);
    return Promise.resolve(this.#deny[type.kind]);
  }

  release(_holder: unknown, slot?: string): void {
    this.calls.push(`release ${slot ?? '*'}`);
  }
}

let watcher = new FakeKindWatcher({});
const gizmo = { apiVersion: 'example.com/v1', kind: 'Gizmo', name: 'g' };
const secretRef = { apiVersion: 'v1', kind: 'Secret', name: 'my-secret' };
const gizmoForbidden =
  'the controller may not watch the workloads: needs "list", "watch" on gizmos.example.com';
const secretNotWorkload =
  'Secret (v1) is not a workload: it has no pod template, and no ClusterWorkloadResourceMapping describes it';
const polledNote =
  'the controller may not watch PolledService (needs "watch" on polledservices.example.com): the service is polled every 60 s';
const polledService: KubeObject = {
  ...service(),
  kind: 'PolledService',
};

reconcilerTests('ServiceBinding reconciler with kinds watched on demand', {
  reconciler: () => {
    watcher = new FakeKindWatcher({
      Gizmo: { resource: 'gizmos.example.com', missing: ['list', 'watch'] },
      PolledService: { resource: 'polledservices.example.com', missing: ['watch'] },
    });
    return serviceBindingReconciler({ resourceFor, kindWatcher: watcher });
  },
  served,
  rows: {
    'a Provisioned Service kind the controller may watch is watched, not polled': {
      request,
      givenObjects: [bound(), service(), projected(deployment())],
      expectTracks: resolvedTracks,
      // Nothing to poll for: the watch of the service enqueues the binding.
      expectedResult: {},
      verify: () => assert.deepEqual(watcher.calls, ['watch service AccountService']),
    },
    'a Provisioned Service kind the controller may not watch is polled, and ServiceAvailable says so': {
      request,
      givenObjects: [
        bound({ spec: { service: { ...binding().spec.service, kind: 'PolledService' } } }),
        polledService,
        projected(deployment()),
      ],
      expectTracks: [
        newTrackRequest({ ...polledService, ...refOf(polledService) }, by),
        tracks.secret,
        tracks.workload,
        tracks.mapping,
      ],
      expectStatusUpdates: [
        bound({
          spec: { service: { ...binding().spec.service, kind: 'PolledService' } },
          status: status([
            ready('True', 'ServiceBound'),
            serviceAvailable('True', 'ResolvedBindingSecret', polledNote),
            workloadProjected('True', 'WorkloadProjected'),
          ]),
        }),
      ],
      expectEvents: [statusUpdated],
      expectedResult: { requeueAfterMs: 60_000 },
    },
    'WorkloadKindNotSupported: v1 Secret as the workload is refused before anything lists Secrets': {
      request,
      givenObjects: [bound({ spec: { service: secretRef, workload: secretRef } }), secret()],
      expectTracks: [tracks.secret, tracks.secret],
      expectStatusUpdates: [
        bound({
          spec: { service: secretRef, workload: secretRef },
          status: status([
            ready('False', 'WorkloadKindNotSupported', secretNotWorkload),
            serviceAvailable('True', 'ResolvedBindingSecret'),
            workloadProjected('False', 'WorkloadKindNotSupported', secretNotWorkload),
          ]),
        }),
      ],
      expectEvents: [newEvent(by, 'Warning', 'WorkloadKindNotSupported', secretNotWorkload), statusUpdated],
      verify: (_result, _err, config) => {
        assert.deepEqual(
          config.client.actions.filter((a) => a.verb === 'list').map((a) => a.ref.kind),
          [],
          'no list of Secrets',
        );
        assert.deepEqual(watcher.calls, ['release service', 'release workload']);
      },
    },
    'WorkloadForbidden: a workload kind the controller may not list and watch is never listed, and retried': {
      request,
      givenObjects: [bound({ spec: { workload: gizmo } }), service()],
      expectTracks: [
        tracks.service,
        tracks.secret,
        newTrackRequest({ ...gizmo, namespace: ns }, by),
        newTrackRequest(
          {
            apiVersion: 'servicebinding.io/v1',
            kind: 'ClusterWorkloadResourceMapping',
            name: 'gizmos.example.com',
          },
          by,
        ),
      ],
      expectStatusUpdates: [
        bound({
          spec: { workload: gizmo },
          status: status([
            ready('False', 'WorkloadForbidden', gizmoForbidden),
            serviceAvailable('True', 'ResolvedBindingSecret'),
            workloadProjected('False', 'WorkloadForbidden', gizmoForbidden),
          ]),
        }),
      ],
      expectEvents: [newEvent(by, 'Warning', 'WorkloadForbidden', gizmoForbidden), statusUpdated],
      // A ClusterRole granted later is noticed by no watch.
      expectedResult: { requeueAfterMs: 60_000 },
      verify: (_result, _err, config) => {
        assert.equal(
          config.client.actions.some((a) => a.verb === 'list'),
          false,
          'nothing listed',
        );
        assert.deepEqual(watcher.calls, ['watch service AccountService', 'watch workload Gizmo']);
      },
    },
    'terminating: a workload kind the controller may not list does not hold the finalizer': {
      request,
      givenObjects: [bound({ deleting: true, spec: { workload: gizmo } })],
      expectPatches: [
        {
          kind: 'ServiceBinding',
          namespace: ns,
          name: 'my-binding',
          patchType: 'merge',
          patch: { metadata: { finalizers: [], resourceVersion: '100' } },
        },
      ],
      expectEvents: [
        newEvent(by, 'Normal', 'FinalizerPatched', `Patched finalizer "${serviceBindingFinalizer}"`),
      ],
    },
  },
});

function refOf(obj: KubeObject): ObjectRef {
  return {
    apiVersion: obj.apiVersion ?? '',
    kind: obj.kind ?? '',
    namespace: obj.metadata.namespace ?? '',
    name: obj.metadata.name ?? '',
  };
}

function forbiddenMessage(): string {
  const err = forbiddenError(
    { apiVersion: 'example.com/v1', kind: 'AccountService', namespace: ns, name: 'my-service' },
    'get',
  );
  return `the controller does not have permission to get the service AccountService "my-service": needs "get" on accountservices.example.com (${err.status.message ?? ''})`;
}

function withResourceVersion(resourceVersion: string, b: ServiceBinding): ServiceBinding {
  return { ...b, metadata: { ...b.metadata, resourceVersion } };
}

/** A workload whose stash (which anyone who may edit it may write) names no Fixed JSONPath. */
function badStash(w: KubeObject): KubeObject {
  const copy = structuredClone(w);
  copy.metadata.annotations = {
    [`projector.servicebinding.io/mapping-${uid}`]:
      '{"versions":[{"version":"*","annotations":".spec.template.metadata["}]}',
  };
  return copy;
}

function badStashMessage(): string {
  return `Deployment default/my-workload: metadata.annotations['projector.servicebinding.io/mapping-${uid}']: annotations: invalid Fixed JSONPath ".spec.template.metadata[" at offset 23: unterminated '[': expected ['key']; expected fields joined by '.' or ['key'], e.g. .spec.template.spec.volumes`;
}

function badRoot(w: KubeObject): KubeObject {
  const copy = structuredClone(w);
  const spec = copy['spec'] as { template: { spec: { containers: Array<Record<string, unknown>> } } };
  spec.template.spec.containers = [
    { name: 'app', image: 'app:1', env: [{ name: 'SERVICE_BINDING_ROOT', value: 'relative' }] },
  ];
  return copy;
}

function partialMessage(): string {
  try {
    bindWorkload(bound(), badRoot(deployment('web-2', { app: 'web' })), undefined, 'my-secret', undefined);
  } catch (err) {
    return `1 of 2 workloads failed: Deployment default/web-2: ${(err as Error).message}`;
  }
  throw new Error('expected a projection error');
}

function invalidSpecMessage(): string {
  const errors = validateServiceBinding(
    bound({ spec: { workload: { ...selectorSpec.workload, name: 'my-workload' } } }),
  );
  return `invalid ServiceBinding: ${errors.map(formatFieldError).join('; ')}`;
}

const directSecret = { service: { apiVersion: 'v1', kind: 'Secret', name: 'my-secret' } };
const rolloutIgnored = `${rolloutAnnotation} is ignored: the manager runs with --secret-access=none, so it reads no Secret`;

reconcilerTests('ServiceBinding reconciler with secretAccess none (no verb on Secrets)', {
  reconciler: () => serviceBindingReconciler({ resourceFor, secretAccess: 'none' }),
  rows: {
    'RC-2: patching forbidden is retried every poll interval, even with no service to poll (no event follows an RBAC grant)':
      {
        request,
        givenObjects: [bound({ spec: directSecret }), deployment()],
        withReactors: [{ verb: 'patch', kind: 'Deployment', fn: (a) => forbiddenError(a.ref, 'patch') }],
        expectTracks: [tracks.secret, tracks.workload, tracks.mapping],
        expectPatches: [patchOf(deployment(), projected(deployment(), bound({ spec: directSecret })))],
        expectStatusUpdates: [
          bound({
            spec: directSecret,
            status: status([
              ready('False', 'WorkloadForbidden', updateForbidden),
              serviceAvailable('True', 'ResolvedBindingSecret'),
              workloadProjected('False', 'WorkloadForbidden', updateForbidden),
            ]),
          }),
        ],
        expectEvents: [newEvent(by, 'Warning', 'WorkloadForbidden', updateForbidden), statusUpdated],
        expectedResult: { requeueAfterMs: 60_000 },
      },
    'DS-1: a direct Secret is projected by reference without being read, even where it is not found': {
      request,
      givenObjects: [bound({ spec: directSecret }), deployment()],
      expectTracks: [tracks.secret, tracks.workload, tracks.mapping],
      expectPatches: [patchOf(deployment(), projected(deployment(), bound({ spec: directSecret })))],
      expectEvents: [updated()],
      verify: (_result, _err, config) => {
        const reads = config.client.actions.filter((a) => a.ref.kind === 'Secret');
        assert.deepEqual(reads, [], 'no Secret is read');
      },
    },
    'rollout: the opt-in is ignored, and WorkloadProjected says why': {
      request,
      givenObjects: [
        bound({ annotations: { [rolloutAnnotation]: 'true' } }),
        service(),
        secret(),
        deployment(),
      ],
      expectTracks: resolvedTracks,
      expectPatches: [patchOf(deployment(), projected(deployment()))],
      expectStatusUpdates: [
        bound({
          annotations: { [rolloutAnnotation]: 'true' },
          status: status([
            ready('True', 'ServiceBound'),
            serviceAvailable('True', 'ResolvedBindingSecret'),
            workloadProjected('True', 'WorkloadProjected', rolloutIgnored),
          ]),
        }),
      ],
      expectEvents: [updated(), statusUpdated],
      expectedResult: { requeueAfterMs: 60_000 },
      verify: (_result, _err, config) => {
        const reads = config.client.actions.filter((a) => a.ref.kind === 'Secret');
        assert.deepEqual(reads, [], 'no Secret is read');
      },
    },
  },
});

const preloadSpec = {
  env: [
    { name: 'LOG', key: 'log' },
    { name: 'LD_PRELOAD', key: 'lib' },
  ],
};
const preloadDenied =
  'Deployment default/my-workload: spec.env[1].name: "LD_PRELOAD" is on the manager\'s deny list of variable names (--deny-env): the binding is not projected';
const deniedStatus = status([
  ready('False', 'EnvNameDenied', preloadDenied),
  serviceAvailable('True', 'ResolvedBindingSecret'),
  workloadProjected('False', 'EnvNameDenied', preloadDenied),
]);

reconcilerTests('ServiceBinding reconciler with a deny list of variable names', {
  reconciler: () => serviceBindingReconciler({ resourceFor, deniedEnvNames: ['LD_PRELOAD', 'NODE_OPTIONS'] }),
  rows: {
    'a binding whose spec.env names a denied variable is not projected, and says which and where': {
      request,
      givenObjects: [bound({ spec: preloadSpec }), service(), deployment()],
      expectTracks: resolvedTracks,
      expectStatusUpdates: [bound({ spec: preloadSpec, status: deniedStatus })],
      expectEvents: [newEvent(by, 'Warning', 'EnvNameDenied', preloadDenied), statusUpdated],
      expectedResult: { requeueAfterMs: 60_000 },
    },
    'one projected before the deny list was set is unprojected': {
      request,
      givenObjects: [
        bound({ spec: preloadSpec }),
        service(),
        projected(deployment(), bound({ spec: preloadSpec })),
      ],
      expectTracks: resolvedTracks,
      expectPatches: [
        patchOf(
          projected(deployment(), bound({ spec: preloadSpec })),
          unbindWorkload(bound(), projected(deployment(), bound({ spec: preloadSpec })), undefined),
        ),
      ],
      expectStatusUpdates: [bound({ spec: preloadSpec, status: deniedStatus })],
      expectEvents: [updated(), newEvent(by, 'Warning', 'EnvNameDenied', preloadDenied), statusUpdated],
      expectedResult: { requeueAfterMs: 60_000 },
    },
    'names not on the list, and a denied name as a Secret key, project as usual': {
      request,
      givenObjects: [
        bound({ spec: { env: [{ name: 'PRELOAD', key: 'LD_PRELOAD' }] } }),
        service(),
        deployment(),
      ],
      expectTracks: resolvedTracks,
      expectPatches: [
        patchOf(
          deployment(),
          projected(deployment(), bound({ spec: { env: [{ name: 'PRELOAD', key: 'LD_PRELOAD' }] } })),
        ),
      ],
      expectEvents: [updated()],
      expectedResult: { requeueAfterMs: 60_000 },
    },
  },
});

/** A user's hook: records which binding projected into the pod template, and takes it out on unprojection. */
const boundByAnnotation = 'example.com/bound-by';
const boundByHook: ProjectionHook = {
  name: 'bound-by',
  forBinding: ({ binding: b }) => {
    const annotations = (w: KubeObject): Record<string, string> => {
      const template = (w['spec'] as { template: { metadata?: { annotations?: Record<string, string> } } })
        .template;
      template.metadata ??= {};
      return (template.metadata.annotations ??= {});
    };
    return {
      postProjection: (w) => {
        annotations(w)[boundByAnnotation] = b.metadata.name ?? '';
      },
      preUnprojection: (w) => {
        delete annotations(w)[boundByAnnotation];
      },
    };
  },
};
const withBoundBy = (w: KubeObject): KubeObject => {
  const copy = structuredClone(w);
  const template = (copy['spec'] as { template: { metadata: { annotations: Record<string, string> } } })
    .template;
  template.metadata.annotations[boundByAnnotation] = 'my-binding';
  return copy;
};

reconcilerTests('ServiceBinding reconciler with a user projection hook', {
  reconciler: () => serviceBindingReconciler({ resourceFor, hooks: [boundByHook] }),
  rows: {
    'a post-projection hook edits the workload after rollout, in the same patch': {
      request,
      givenObjects: [
        bound({ annotations: { [rolloutAnnotation]: 'true' } }),
        service(),
        secret(),
        deployment(),
      ],
      expectTracks: resolvedTracks,
      expectPatches: [
        patchOf(
          deployment(),
          withBoundBy(
            projected(
              deployment(),
              bound({ annotations: { [rolloutAnnotation]: 'true' } }),
              'my-secret',
              '7',
            ),
          ),
        ),
      ],
      expectEvents: [updated()],
      expectedResult: { requeueAfterMs: 60_000 },
    },
    'a pre-unprojection hook sees the projection before it goes': {
      request,
      givenObjects: [bound({ deleting: true }), withBoundBy(projected(deployment()))],
      expectPatches: [
        patchOf(
          withBoundBy(projected(deployment())),
          unbindWorkload(bound(), projected(deployment()), undefined),
        ),
        {
          kind: 'ServiceBinding',
          namespace: ns,
          name: 'my-binding',
          patchType: 'merge',
          patch: { metadata: { finalizers: [], resourceVersion: '100' } },
        },
      ],
      expectEvents: [
        updated(),
        newEvent(by, 'Normal', 'FinalizerPatched', `Patched finalizer "${serviceBindingFinalizer}"`),
      ],
    },
  },
});

describe('default mappings runnable', () => {
  /** A client that answers GET and CREATE from scripted results, recording every call. */
  function fakeClient(script: { get: Array<'found' | 'missing' | Error>; create: Array<'ok' | Error> }): {
    client: Parameters<typeof defaultMappingsRunnable>[0];
    calls: string[];
    created: KubeObject[];
  } {
    const calls: string[] = [];
    const created: KubeObject[] = [];
    const client = {
      get: <T extends KubeObject = KubeObject>(ref: ObjectRef): Promise<T> => {
        calls.push(`get ${ref.name}`);
        const next = script.get.shift() ?? 'missing';
        if (next instanceof Error) return Promise.reject(next);
        if (next === 'missing') return Promise.reject(notFoundError(ref));
        return Promise.resolve(structuredClone(defaultCronJobMapping) as unknown as T);
      },
      create: <T extends KubeObject>(obj: T, options?: { fieldManager?: string }): Promise<T> => {
        calls.push(`create ${obj.metadata.name ?? ''} by ${options?.fieldManager ?? ''}`);
        const next = script.create.shift() ?? 'ok';
        if (next instanceof Error) return Promise.reject(next);
        created.push(obj);
        return Promise.resolve(obj);
      },
    } as Parameters<typeof defaultMappingsRunnable>[0];
    return { client, calls, created };
  }
  const logs: string[] = [];
  const log = pino({ level: 'info' }, { write: (line: string) => void logs.push(line) });
  const fast = { initialBackoffMs: 1, maxBackoffMs: 4 };

  it('runs on the leader only', () => {
    const { client } = fakeClient({ get: [], create: [] });
    assert.equal(defaultMappingsRunnable(client, log).needLeaderElection, true);
  });

  it('creates the CronJob mapping when absent, with its field manager', async () => {
    const { client, calls, created } = fakeClient({ get: ['missing'], create: ['ok'] });
    await defaultMappingsRunnable(client, log, fast).start(new AbortController().signal);
    assert.deepEqual(calls, [
      `get ${cronJobMappingName}`,
      `create ${cronJobMappingName} by ${defaultMappingsFieldManager}`,
    ]);
    assert.deepEqual(created, [defaultCronJobMapping]);
    assert.ok(!Object.isFrozen(created[0]), 'a copy, not the frozen default');
  });

  it('leaves an existing mapping alone (an operator’s edit wins)', async () => {
    const { client, calls } = fakeClient({ get: ['found'], create: [] });
    await defaultMappingsRunnable(client, log, fast).start(new AbortController().signal);
    assert.deepEqual(calls, [`get ${cronJobMappingName}`]);
  });

  it('AlreadyExists (another writer came first) is success', async () => {
    const ref = {
      apiVersion: 'servicebinding.io/v1',
      kind: 'ClusterWorkloadResourceMapping',
      name: cronJobMappingName,
    };
    const { client, calls } = fakeClient({ get: ['missing'], create: [alreadyExistsError(ref)] });
    await defaultMappingsRunnable(client, log, fast).start(new AbortController().signal);
    assert.equal(calls.length, 2);
  });

  it('retries any other error with backoff (the webhook may not answer yet)', async () => {
    const { client, calls, created } = fakeClient({
      get: [internalError('etcd'), 'missing', 'missing'],
      create: [internalError('failed calling webhook'), 'ok'],
    });
    await defaultMappingsRunnable(client, log, fast).start(new AbortController().signal);
    assert.equal(calls.length, 5);
    assert.equal(created.length, 1);
    assert.ok(logs.some((l) => l.includes('retrying')));
  });

  it('stops retrying when the signal aborts', async () => {
    const { client, created } = fakeClient({
      get: Array.from({ length: 1000 }, () => internalError('down')),
      create: [],
    });
    const stop = new AbortController();
    const done = defaultMappingsRunnable(client, log, { initialBackoffMs: 60_000 }).start(stop.signal);
    setTimeout(() => stop.abort(), 20);
    await done;
    assert.deepEqual(created, []);
  });
});
