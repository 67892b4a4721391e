// Deletes a class or plan the broker's catalog no longer lists, once no ServiceInstance uses it.
// Until then it stays, marked removedFromBrokerCatalog, so those instances can still be updated and
// deprovisioned. One reconciler for the four kinds.
import type { KubeObject, TypeRef } from '@bindery/kube';
import { isNotFound } from '@bindery/kube';
import type { MapFunc, Request } from '@bindery/runtime';
import { Controller, ResourceReconciler, SyncReconciler } from '@bindery/runtime';
import type { CatalogEntryStatus } from '../apis/class.ts';
import * as g from '../apis/group.ts';
import type { ServiceInstance } from '../apis/instance.ts';
import { clusterScope, namespacedScope } from './scope.ts';

const instanceType: TypeRef = { apiVersion: g.apiVersion, kind: g.serviceInstanceKind };

interface CatalogEntry extends KubeObject {
  status?: CatalogEntryStatus;
}

/** The objects of `kind` an instance refers to, by its resolved status refs or its spec's object names. */
export function referencedNames(instance: ServiceInstance, kind: string): string[] {
  const spec = instance.spec ?? {};
  const status = instance.status ?? {};
  const names: Array<string | undefined> = [];
  if (status.classRef?.kind === kind) names.push(status.classRef.name);
  if (status.planRef?.kind === kind) names.push(status.planRef.name);
  if (kind === g.clusterServiceClassKind) names.push(spec.clusterServiceClassName);
  if (kind === g.clusterServicePlanKind) names.push(spec.clusterServicePlanName);
  if (kind === g.serviceClassKind) names.push(spec.serviceClassName);
  if (kind === g.servicePlanKind) names.push(spec.servicePlanName);
  return [...new Set(names.filter((n): n is string => n !== undefined))];
}

/** Requests for the entries of `type` an instance refers to (namespaced kinds live in its namespace). */
function instanceToEntries(type: TypeRef, cluster: boolean): MapFunc {
  return (obj) =>
    referencedNames(obj as ServiceInstance, type.kind).map((name): Request =>
      cluster ? { name } : { name, namespace: obj.metadata.namespace ?? '' },
    );
}

export function catalogEntryReconciler(type: TypeRef, cluster: boolean): ResourceReconciler<CatalogEntry> {
  return new ResourceReconciler<CatalogEntry>({
    name: type.kind,
    type,
    // The broker controller owns the status; this one only deletes.
    skipStatusUpdate: true,
    reconciler: new SyncReconciler<CatalogEntry>({
      name: 'DeleteWhenUnused',
      setup(ctx) {
        ctx.builder.watches(instanceType, instanceToEntries(type, cluster));
      },
      async sync(ctx, entry) {
        if (entry.status?.removedFromBrokerCatalog !== true) return;
        const name = entry.metadata.name ?? '';
        const instances = await ctx.config.client.list<ServiceInstance>(instanceType, {
          ...(!cluster && { namespace: entry.metadata.namespace ?? '' }),
          signal: ctx.signal,
        });
        const users = instances.items.filter((i) => referencedNames(i, type.kind).includes(name));
        if (users.length > 0) return;
        try {
          await ctx.config.client.delete(
            { ...type, name, ...(!cluster && { namespace: entry.metadata.namespace ?? '' }) },
            { signal: ctx.signal },
          );
        } catch (err) {
          if (!isNotFound(err)) throw err;
          return;
        }
        ctx.config.recorder.event(entry, {
          type: 'Normal',
          reason: 'RemovedFromCatalog',
          note: `Deleted: the broker no longer lists ${type.kind} ${name} and no ServiceInstance uses it`,
        });
      },
    }),
  });
}

/** The four cleanup controllers: cluster and namespaced classes and plans. */
export function catalogEntryControllers(): Controller[] {
  const kinds: Array<[TypeRef, boolean]> = [
    [clusterScope.class, true],
    [clusterScope.plan, true],
    [namespacedScope.class, false],
    [namespacedScope.plan, false],
  ];
  return kinds.map(
    ([type, cluster]) =>
      new Controller({
        name: type.kind.toLowerCase(),
        for: type,
        reconciler: catalogEntryReconciler(type, cluster),
      }),
  );
}
