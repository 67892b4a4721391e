import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  KubeClient,
  KubeConfig,
  NoKindMatchError,
  SharedInformerFactory,
  parseApiVersion,
} from '@bindery/kube';
import type { KubeObject, TypeRef } from '@bindery/kube';
import { OnDemandInformers } from '@bindery/runtime';
import { FakeClient } from '@bindery/runtime/testing';
import type { ResourceFor } from '../resolver/index.ts';
import { AccessCheckedKindWatcher, describeDenied } from './kind-watcher.ts';
import { unsupportedWorkloadKind } from './workload-kinds.ts';

const gizmos: TypeRef = { apiVersion: 'example.com/v1', kind: 'Gizmo' };
const resourceFor: ResourceFor = (type) => {
  const { group, version } = parseApiVersion(type.apiVersion);
  if (type.kind !== 'Gizmo') return Promise.reject(new NoKindMatchError({ group, version, kind: type.kind }));
  return Promise.resolve({ group, resource: 'gizmos' });
};

/** A never-started factory and a client that answers SelfSubjectAccessReviews with `allowed` per verb. */
function setup(allowed: Record<string, boolean>): {
  watcher: AccessCheckedKindWatcher;
  informers: SharedInformerFactory;
  reviews: () => string[];
} {
  const kubeConfig = new KubeConfig({
    clusters: [{ name: 'c', cluster: { server: 'https://127.0.0.1:1' } }],
    users: [{ name: 'u', user: {} }],
    contexts: [{ name: 'x', context: { cluster: 'c', user: 'u' } }],
    'current-context': 'x',
  });
  const informers = new SharedInformerFactory({ client: new KubeClient({ kubeConfig }) });
  const client = new FakeClient({
    reactors: [
      {
        verb: 'create',
        kind: 'SelfSubjectAccessReview',
        fn: (action) => {
          const { verb } = (action.object as Review).spec.resourceAttributes;
          return { response: { ...action.object, status: { allowed: allowed[verb] ?? false } } };
        },
      },
    ],
  });
  const watcher = new AccessCheckedKindWatcher({
    client,
    resourceFor,
    informers: new OnDemandInformers({ informers, handler: () => ({}) }),
  });
  const reviews = (): string[] =>
    client.actions.map((a) => {
      const { verb, resource, group } = (a.object as Review).spec.resourceAttributes;
      return `${verb} ${resource}.${group}`;
    });
  return { watcher, informers, reviews };
}

interface Review extends KubeObject {
  spec: { resourceAttributes: { verb: string; resource: string; group: string } };
}

const holder = (name: string) => ({ namespace: 'ns', name });

describe('AccessCheckedKindWatcher', () => {
  it('watches a kind the controller may list and watch, once for every binding, until the last lets go', async () => {
    const { watcher, informers, reviews } = setup({ list: true, watch: true });
    assert.equal(await watcher.watch(holder('a'), 'workload', gizmos), undefined);
    assert.equal(informers.has({ type: gizmos }), true);
    assert.deepEqual(reviews(), ['list gizmos.example.com', 'watch gizmos.example.com']);
    // A second binding joins the running informer without asking again.
    assert.equal(await watcher.watch(holder('b'), 'workload', gizmos), undefined);
    assert.equal(reviews().length, 2);
    watcher.release(holder('a'));
    assert.equal(informers.has({ type: gizmos }), true);
    watcher.release(holder('b'), 'workload');
    assert.equal(informers.has({ type: gizmos }), false);
  });

  it('starts nothing for a kind the controller may not watch, and says which verbs it lacks', async () => {
    const { watcher, informers } = setup({ list: true, watch: false });
    const denied = await watcher.watch(holder('a'), 'service', gizmos, { metadataOnly: true });
    assert.deepEqual(denied, { resource: 'gizmos.example.com', missing: ['watch'] });
    assert.equal(describeDenied(denied), 'needs "watch" on gizmos.example.com');
    assert.equal(informers.has({ type: gizmos, metadataOnly: true }), false);
  });

  it('throws NoKindMatchError for a kind that is not served, holding nothing', async () => {
    const { watcher, informers, reviews } = setup({ list: true, watch: true });
    await watcher.watch(holder('a'), 'workload', gizmos);
    await assert.rejects(
      watcher.watch(holder('a'), 'workload', { apiVersion: 'example.com/v1', kind: 'Nothing' }),
      (err: Error) => err instanceof NoKindMatchError,
    );
    // What it held before in that slot is let go.
    assert.equal(informers.has({ type: gizmos }), false);
    assert.equal(reviews().length, 2);
  });
});

describe('unsupportedWorkloadKind', () => {
  const cases: Array<[TypeRef, boolean, boolean]> = [
    [{ apiVersion: 'apps/v1', kind: 'Deployment' }, false, true],
    [{ apiVersion: 'batch/v1', kind: 'CronJob' }, false, true],
    [{ apiVersion: 'v1', kind: 'ReplicationController' }, false, true],
    [{ apiVersion: 'example.com/v1', kind: 'Runner' }, false, true], // a CRD: PodSpec-able per the spec
    [{ apiVersion: 'v1', kind: 'Secret' }, false, false],
    [{ apiVersion: 'v1', kind: 'Pod' }, false, false],
    [{ apiVersion: 'networking.k8s.io/v1', kind: 'Ingress' }, false, false],
    [{ apiVersion: 'servicebinding.io/v1', kind: 'ServiceBinding' }, false, false],
    [{ apiVersion: 'v1', kind: 'ConfigMap' }, true, true], // a mapping describes it
  ];
  for (const [type, mapped, supported] of cases) {
    it(`${type.kind} (${type.apiVersion})${mapped ? ' with a mapping' : ''}: ${supported ? 'a workload' : 'not a workload'}`, () => {
      const why = unsupportedWorkloadKind(type, mapped);
      assert.equal(why === undefined, supported, why);
      if (why !== undefined) assert.match(why, new RegExp(`^${type.kind} \\(`));
    });
  }
});
