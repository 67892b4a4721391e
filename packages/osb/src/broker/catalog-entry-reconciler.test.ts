// A class or plan the catalog no longer lists is deleted once no ServiceInstance uses it.
import type { KubeObject } from '@bindery/kube';
import { newEvent, reconcilerTests } from '@bindery/runtime/testing';
import { apiVersion } from '../apis/group.ts';
import { catalogEntryReconciler } from './catalog-entry-reconciler.ts';
import { clusterScope, namespacedScope } from './scope.ts';

const plan = (removed: boolean, namespace?: string): KubeObject => ({
  apiVersion,
  kind: namespace ? 'ServicePlan' : 'ClusterServicePlan',
  metadata: { name: 'small', ...(namespace && { namespace }) },
  spec: { externalName: 'small', externalID: 'p1' },
  status: { removedFromBrokerCatalog: removed },
});

const instance = (namespace: string, refs: { status?: unknown; spec?: unknown }): KubeObject => ({
  apiVersion,
  kind: 'ServiceInstance',
  metadata: { namespace, name: 'db' },
  spec: refs.spec ?? { clusterServiceClassExternalName: 'db', clusterServicePlanExternalName: 'small' },
  ...(refs.status !== undefined && { status: refs.status }),
});

const planRef = (kind: string) => ({
  planRef: { kind, name: 'small', externalName: 'small', externalID: 'p1' },
});

reconcilerTests('ClusterServicePlan cleanup', {
  reconciler: () => catalogEntryReconciler(clusterScope.plan, true),
  rows: {
    'removed from the catalog and unused: deleted': {
      request: { name: 'small' },
      givenObjects: [plan(true), instance('a', { status: planRef('ServicePlan') })],
      expectDeletes: [{ apiVersion, kind: 'ClusterServicePlan', name: 'small' }],
      expectEvents: [
        newEvent(
          plan(true),
          'Normal',
          'RemovedFromCatalog',
          'Deleted: the broker no longer lists ClusterServicePlan small and no ServiceInstance uses it',
        ),
      ],
    },
    'removed but an instance in any namespace resolved to it: kept': {
      request: { name: 'small' },
      givenObjects: [plan(true), instance('b', { status: planRef('ClusterServicePlan') })],
    },
    'removed but an instance names it by object name: kept': {
      request: { name: 'small' },
      givenObjects: [
        plan(true),
        instance('b', { spec: { clusterServiceClassName: 'c', clusterServicePlanName: 'small' } }),
      ],
    },
    'still in the catalog: kept': {
      request: { name: 'small' },
      givenObjects: [plan(false)],
    },
  },
});

reconcilerTests('ServicePlan cleanup', {
  reconciler: () => catalogEntryReconciler(namespacedScope.plan, false),
  rows: {
    'an instance of another namespace does not keep a namespaced plan': {
      request: { namespace: 'team-a', name: 'small' },
      givenObjects: [plan(true, 'team-a'), instance('team-b', { status: planRef('ServicePlan') })],
      expectDeletes: [{ apiVersion, kind: 'ServicePlan', namespace: 'team-a', name: 'small' }],
      expectEvents: [
        newEvent(
          plan(true, 'team-a'),
          'Normal',
          'RemovedFromCatalog',
          'Deleted: the broker no longer lists ServicePlan small and no ServiceInstance uses it',
        ),
      ],
    },
    'an instance of its namespace keeps it': {
      request: { namespace: 'team-a', name: 'small' },
      givenObjects: [plan(true, 'team-a'), instance('team-a', { status: planRef('ServicePlan') })],
    },
  },
});
