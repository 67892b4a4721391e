// Writes a desired catalog: creates and updates the broker's class and plan objects, correlated by
// OSB id (spec.externalID) among the objects of this broker, never by name; marks those the catalog
// no longer lists as removed (the catalog-entry controller deletes them once no instance uses them).
import { isAlreadyExists, isNotFound } from '@bindery/kube';
import type { KubeObject } from '@bindery/kube';
import type { ReconcileContext } from '@bindery/runtime';
import { controllerReference, deepEqual } from '@bindery/runtime';
import type { CatalogEntryStatus } from '../apis/class.ts';
import type { DesiredCatalog } from './catalog.ts';
import type { BrokerScope } from './scope.ts';
import { brokerLabel } from './scope.ts';

interface CatalogEntry extends KubeObject {
  spec: { externalID: string };
  status?: CatalogEntryStatus;
}

export interface SyncCounts {
  added: number;
  updated: number;
  removed: number;
  /** Entries that could not be written because an object of another broker holds the name. */
  conflicts: string[];
}

const brokerOf = (o: CatalogEntry, scope: BrokerScope): unknown =>
  (o.spec as unknown as Record<string, unknown> | undefined)?.[scope.brokerField];

const labelValue = (name: string): string | undefined =>
  name.length <= 63 && /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(name) ? name : undefined;

/** The objects of `kind` that belong to `broker`. */
async function owned(
  ctx: ReconcileContext,
  scope: BrokerScope,
  type: BrokerScope['class'],
  broker: KubeObject,
) {
  const list = await ctx.config.client.list<CatalogEntry>(type, {
    ...(scope.cluster ? {} : { namespace: broker.metadata.namespace ?? '' }),
    signal: ctx.signal,
  });
  return list.items.filter((o) => brokerOf(o, scope) === broker.metadata.name);
}

async function upsert(
  ctx: ReconcileContext,
  scope: BrokerScope,
  type: BrokerScope['class'],
  broker: KubeObject,
  existing: Map<string, CatalogEntry>,
  desired: { name: string; spec: CatalogEntry['spec'] },
  counts: SyncCounts,
): Promise<string | undefined> {
  const { client, apiReader } = ctx.config;
  const id = desired.spec.externalID;
  let current = existing.get(id);
  if (!current) {
    const label = labelValue(broker.metadata.name ?? '');
    const obj: CatalogEntry = {
      ...type,
      metadata: {
        name: desired.name,
        ...(!scope.cluster && { namespace: broker.metadata.namespace ?? '' }),
        ...(label !== undefined && { labels: { [brokerLabel]: label } }),
        ownerReferences: [controllerReference(broker, scope.broker)],
      },
      spec: desired.spec,
    };
    try {
      await client.create(obj, { signal: ctx.signal });
      counts.added++;
      return desired.name;
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
    }
    // Ours and not in the cache yet, or another broker's (or someone's) object of that name.
    const found = await apiReader.get<CatalogEntry>(
      { ...type, name: desired.name, ...(!scope.cluster && { namespace: broker.metadata.namespace ?? '' }) },
      { signal: ctx.signal },
    );
    if (brokerOf(found, scope) !== broker.metadata.name || found.spec.externalID !== id) {
      counts.conflicts.push(
        `${type.kind} ${desired.name} exists and is not this broker's entry for id ${JSON.stringify(id)}`,
      );
      return undefined;
    }
    current = found;
  }
  if (!deepEqual(current.spec, desired.spec)) {
    await client.update({ ...current, spec: desired.spec }, { signal: ctx.signal });
    counts.updated++;
  }
  if (current.status?.removedFromBrokerCatalog === true) {
    // Listed again: its instances may be provisioned from it again.
    const fresh = await apiReader.get<CatalogEntry>(objectRef(current), { signal: ctx.signal });
    await client.updateStatus(
      { ...fresh, status: { ...fresh.status, removedFromBrokerCatalog: false } },
      { signal: ctx.signal },
    );
    counts.added++;
  }
  return current.metadata.name;
}

const objectRef = (o: KubeObject) => ({
  apiVersion: o.apiVersion ?? '',
  kind: o.kind ?? '',
  name: o.metadata.name ?? '',
  ...(o.metadata.namespace !== undefined && { namespace: o.metadata.namespace }),
});

async function markRemoved(
  ctx: ReconcileContext,
  stale: readonly CatalogEntry[],
  counts: SyncCounts,
): Promise<void> {
  for (const obj of stale) {
    if (obj.status?.removedFromBrokerCatalog === true) continue;
    await ctx.config.client.updateStatus(
      { ...obj, status: { ...obj.status, removedFromBrokerCatalog: true } },
      { signal: ctx.signal },
    );
    counts.removed++;
  }
}

/** Makes the broker's classes and plans match `desired`. */
export async function syncCatalog(
  ctx: ReconcileContext,
  scope: BrokerScope,
  broker: KubeObject,
  desired: DesiredCatalog,
): Promise<SyncCounts> {
  const counts: SyncCounts = { added: 0, updated: 0, removed: 0, conflicts: [] };
  const classes = new Map((await owned(ctx, scope, scope.class, broker)).map((o) => [o.spec.externalID, o]));
  const plans = new Map((await owned(ctx, scope, scope.plan, broker)).map((o) => [o.spec.externalID, o]));

  const classNames = new Map<string, string>();
  for (const d of desired.classes) {
    const name = await upsert(ctx, scope, scope.class, broker, classes, d, counts);
    if (name !== undefined) classNames.set(d.spec.externalID, name);
  }
  const listedPlans = new Set<string>();
  for (const d of desired.plans) {
    const className = classNames.get(d.classExternalID);
    if (className === undefined) continue;
    listedPlans.add(d.spec.externalID);
    const spec = { ...d.spec, [scope.classRefField]: { name: className } } as CatalogEntry['spec'];
    await upsert(ctx, scope, scope.plan, broker, plans, { name: d.name, spec }, counts);
  }
  const listedClasses = new Set(desired.classes.map((c) => c.spec.externalID));
  await markRemoved(
    ctx,
    [...plans.values()].filter((p) => !listedPlans.has(p.spec.externalID)),
    counts,
  );
  await markRemoved(
    ctx,
    [...classes.values()].filter((c) => !listedClasses.has(c.spec.externalID)),
    counts,
  );
  return counts;
}

/** Deletes every class and plan of `broker` (plans first): the broker is being deleted. */
export async function deleteCatalog(
  ctx: ReconcileContext,
  scope: BrokerScope,
  broker: KubeObject,
): Promise<number> {
  let deleted = 0;
  for (const type of [scope.plan, scope.class]) {
    for (const obj of await owned(ctx, scope, type, broker)) {
      try {
        await ctx.config.client.delete(objectRef({ ...type, ...obj }), { signal: ctx.signal });
        deleted++;
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    }
  }
  return deleted;
}
