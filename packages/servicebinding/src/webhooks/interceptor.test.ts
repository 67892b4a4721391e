import assert from 'node:assert/strict';
import type { KubeObject } from '@bindery/kube';
import { describe, it } from 'node:test';
import { applyJsonPatch } from '@bindery/runtime';
import type { AdmissionRequest } from '@bindery/runtime';
import { decodeAdmissionPatch } from '@bindery/runtime/testing';
import { cronJobMapping } from '../apis/index.ts';
import type { ServiceBinding } from '../apis/index.ts';
import { bindWorkload, unbindWorkload } from '../controllers/servicebinding.ts';
import { ServiceBindingIndex } from './binding-index.ts';
import { interceptor } from './interceptor.ts';
import { asReview, request } from './test-helpers.ts';

const ns = 'default';

function sb(
  name: string,
  workload: ServiceBinding['spec']['workload'],
  secret: string | undefined = 'db-secret',
  extra: Partial<ServiceBinding['metadata']> = {},
): ServiceBinding {
  return {
    apiVersion: 'servicebinding.io/v1',
    kind: 'ServiceBinding',
    metadata: { namespace: ns, name, uid: `uid-${name}`, ...extra },
    spec: { service: { apiVersion: 'v1', kind: 'Secret', name: 'db-secret' }, workload },
    ...(secret === undefined ? {} : { status: { binding: { name: secret } } }),
  };
}

function deployment(name: string, labels: Record<string, string> = {}): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { namespace: ns, name, labels },
    spec: {
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: 'app', image: 'app:1' }] },
      },
    },
  };
}

function cronJob(name: string): KubeObject {
  return {
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    metadata: { namespace: ns, name },
    spec: {
      schedule: '@daily',
      jobTemplate: { spec: { template: { spec: { containers: [{ name: 'job', image: 'job:1' }] } } } },
    },
  };
}

function withStash(w: KubeObject, bindingUid: string, stash: string): KubeObject {
  return {
    ...w,
    metadata: {
      ...w.metadata,
      annotations: { [`projector.servicebinding.io/mapping-${bindingUid}`]: stash },
    },
  };
}

const deploy = { apiVersion: 'apps/v1', kind: 'Deployment' };
const byName = sb('by-name', { ...deploy, name: 'web' });
const bySelector = sb('by-selector', { ...deploy, selector: { matchLabels: { tier: 'web' } } });
const otherNamespace = {
  ...sb('elsewhere', { ...deploy, name: 'web' }),
  metadata: { namespace: 'other', name: 'elsewhere', uid: 'uid-x' },
};
const unresolved: ServiceBinding = { ...sb('unresolved', { ...deploy, name: 'web' }), status: {} };
const deleting = sb('deleting', { ...deploy, name: 'web' }, 'db-secret', {
  deletionTimestamp: '2026-01-01T00:00:00Z',
  finalizers: ['servicebinding.io/finalizer'],
});
const collides = { ...sb('collides', { ...deploy, name: 'web' }), spec: { ...byName.spec, name: 'by-name' } };
const cron = sb('cron', { apiVersion: 'batch/v1', kind: 'CronJob', name: 'nightly' });

const projected = (b: ServiceBinding, w: KubeObject): KubeObject =>
  bindWorkload(b, w, undefined, b.status?.binding?.name, undefined);

const live = structuredClone(deleting);
delete live.metadata.deletionTimestamp;
const projectedByDeleting = projected(live, deployment('web'));

interface Row {
  bindings: ServiceBinding[];
  request: AdmissionRequest;
  /** The object after the patch; undefined: no patch at all. */
  expect?: KubeObject;
  warning?: RegExp;
  deniedEnvNames?: string[];
}

const preload: ServiceBinding = {
  ...byName,
  spec: { ...byName.spec, env: [{ name: 'NODE_OPTIONS', key: 'options' }] },
};

const rows: Record<string, Row> = {
  'a binding that would set a denied variable is not projected, with a warning naming it and its field': {
    bindings: [preload],
    deniedEnvNames: ['NODE_OPTIONS'],
    request: request('CREATE', deployment('web')),
    warning:
      /^ServiceBinding default\/by-name not projected: spec\.env\[0\]\.name: "NODE_OPTIONS" is on the manager's deny list/,
  },
  'one projected before the deny list was set is taken out': {
    bindings: [preload],
    deniedEnvNames: ['NODE_OPTIONS'],
    request: request('UPDATE', projected(preload, deployment('web'))),
    expect: unbindWorkload(preload, projected(preload, deployment('web')), undefined),
    warning: /"NODE_OPTIONS" is on the manager's deny list/,
  },
  'no binding targets the workload: no patch': {
    bindings: [byName, bySelector, otherNamespace],
    request: request('CREATE', deployment('api')),
  },
  'SB-5 a binding by name is projected at CREATE (a workload created after its binding)': {
    bindings: [byName, otherNamespace],
    request: request('CREATE', deployment('web')),
    expect: projected(byName, deployment('web')),
  },
  'SB-22 a binding by selector is projected into each matching workload': {
    bindings: [byName, bySelector],
    request: request('CREATE', deployment('api', { tier: 'web' })),
    expect: projected(bySelector, deployment('api', { tier: 'web' })),
  },
  'two bindings target it: both projected': {
    bindings: [byName, bySelector],
    request: request('CREATE', deployment('web', { tier: 'web' })),
    expect: projected(bySelector, projected(byName, deployment('web', { tier: 'web' }))),
  },
  'an UPDATE that strips the projection (kubectl apply) gets it back': {
    bindings: [byName],
    request: request('UPDATE', deployment('web'), { oldObject: projected(byName, deployment('web')) }),
    expect: projected(byName, deployment('web')),
  },
  'an UPDATE that keeps the projection needs no patch (reinvocation is a no-op)': {
    bindings: [byName, bySelector],
    request: request('UPDATE', projected(byName, deployment('web'))),
  },
  'a workload whose labels no longer match is unprojected': {
    bindings: [bySelector],
    request: request('UPDATE', projected(bySelector, deployment('api', { tier: 'batch' }))),
    expect: unbindWorkload(
      bySelector,
      projected(bySelector, deployment('api', { tier: 'batch' })),
      undefined,
    ),
  },
  'a malformed mapping stash (anyone who may edit the workload writes it) only warns': {
    bindings: [byName],
    request: request(
      'CREATE',
      withStash(deployment('web'), 'uid-by-name', '{"versions":[{"version":"*","annotations":"x"}]}'),
    ),
    warning:
      /^ServiceBinding default\/by-name not projected: metadata\.annotations\['projector\.servicebinding\.io\/mapping-uid-by-name'\]: annotations: invalid Fixed JSONPath "x"/,
  },
  'a stash whose container path would walk the prototype only warns': {
    bindings: [byName],
    request: request(
      'CREATE',
      withStash(
        deployment('web'),
        'uid-by-name',
        '{"versions":[{"version":"*","containers":[{"path":"..constructor"}]}]}',
      ),
    ),
    warning:
      /not projected: .*containers\[0\]\.path: invalid JSONPath "\.\.constructor" at offset 2: the key "constructor" is not allowed/,
  },
  'a status subresource request is left alone': {
    bindings: [byName],
    request: request('UPDATE', deployment('web'), { subResource: 'status' }),
  },
  'RB-1 a CronJob is projected with the ClusterWorkloadResourceMapping from the cache': {
    bindings: [cron],
    request: request('CREATE', cronJob('nightly')),
    expect: bindWorkload(cron, cronJob('nightly'), cronJobMapping.spec, 'db-secret', undefined),
  },
  'a terminating binding is unprojected, one without a Secret projects nothing, a collision only warns': {
    bindings: [unresolved, deleting, collides, byName],
    request: request('UPDATE', projectedByDeleting),
    expect: projected(byName, unbindWorkload(deleting, projectedByDeleting, undefined)),
    warning: /^ServiceBinding default\/collides not projected: .*already mounted at "\/bindings\/by-name"/,
  },
};

describe('interceptor', () => {
  for (const [name, row] of Object.entries(rows)) {
    it(name, async () => {
      const index = new ServiceBindingIndex();
      for (const b of row.bindings) index.upsert(b);
      const handle = asReview(
        interceptor({
          index,
          mapping: (w) => Promise.resolve(w.resource === 'cronjobs' ? cronJobMapping.spec : undefined),
          ...(row.deniedEnvNames && { deniedEnvNames: row.deniedEnvNames }),
        }),
      );
      const response = await handle(structuredClone(row.request));
      assert.equal(response.allowed, true);
      assert.equal(response.uid, row.request.uid);
      const ops = decodeAdmissionPatch(response);
      if (row.expect === undefined) assert.deepEqual(ops, []);
      else assert.deepEqual(applyJsonPatch(row.request.object, ops), row.expect);
      if (row.warning) {
        assert.equal(response.warnings?.length, 1);
        assert.match(response.warnings?.[0] ?? '', row.warning);
      } else {
        assert.equal(response.warnings, undefined);
      }
    });
  }
});
