// The broker controller: lists a broker's catalog when it is due (spec changed, not Ready, relist
// interval passed, relistRequests raised) and turns it into class and plan objects. One reconciler
// for ClusterServiceBroker and ServiceBroker, parameterized by scope.
import type { Clock } from '@bindery/kube';
import type { Condition, ReconcileContext, Result } from '@bindery/runtime';
import {
  ConditionSet,
  Controller,
  ResourceReconciler,
  SyncReconciler,
  WithFinalizer,
  formatMetaTime,
} from '@bindery/runtime';
import type { BrokerStatus } from '../apis/broker.ts';
import { defaultRelistDuration } from '../apis/broker.ts';
import { finalizer } from '../apis/group.ts';
import { OsbClient } from '../client/client.ts';
import { OsbError } from '../client/errors.ts';
import type { BrokerObject } from './auth.ts';
import { BrokerAuthError, BrokerConfigError, brokerClientOptions } from './auth.ts';
import type { CatalogLimits } from './catalog.ts';
import { InvalidCatalogError, desiredCatalog } from './catalog.ts';
import { deleteCatalog, syncCatalog } from './catalog-sync.ts';
import { parseDuration } from './duration.ts';
import { classProperties, parseRequirements, planProperties } from './restrictions.ts';
import type { BrokerScope } from './scope.ts';
import { clusterScope, namespacedScope } from './scope.ts';

export const brokerConditions = new ConditionSet({ happy: 'Ready' });

/** Ready reasons, as `kubectl get` shows them. */
export const brokerReasons = {
  fetchedCatalog: 'FetchedCatalog',
  errorGettingAuthCredentials: 'ErrorGettingAuthCredentials',
  invalidBrokerSpec: 'InvalidBrokerSpec',
  errorFetchingCatalog: 'ErrorFetchingCatalog',
  invalidCatalog: 'InvalidCatalog',
  invalidCatalogRestrictions: 'InvalidCatalogRestrictions',
  catalogNameConflict: 'CatalogNameConflict',
} as const;

export interface BrokerControllerOptions extends CatalogLimits {
  /** Floor of `relistDuration`, so a broker cannot be hammered. Default 1 minute. */
  minRelistIntervalMs?: number;
  /** Per catalog request. Default 60 s. */
  requestTimeoutMs?: number;
  workers?: number;
}

type Broker = BrokerObject & { status?: BrokerStatus };

/** Not Ready for one of these reasons: list again now (a thrown error makes the queue back off). */
const retryNow = new Set<string>([
  'Initializing',
  brokerReasons.errorFetchingCatalog,
  brokerReasons.errorGettingAuthCredentials,
  brokerReasons.invalidCatalog,
]);
/** Not Ready for one of these reasons: only a spec change (a new generation) can help. */
const waitForSpec = new Set<string>([
  brokerReasons.invalidCatalogRestrictions,
  brokerReasons.invalidBrokerSpec,
]);

/**
 * When to list the catalog: now (`0`), after some ms, or not until the spec changes (`undefined`).
 * A new generation (any spec change, `relistRequests` included) is always due now.
 */
export function relistDueInMs(broker: Broker, now: number, minIntervalMs: number): number | undefined {
  const status = broker.status;
  if (status?.observedGeneration !== broker.metadata.generation) return 0;
  const ready = status?.conditions?.find((c: Condition) => c.type === 'Ready');
  if (ready === undefined || (ready.status !== 'True' && retryNow.has(ready.reason))) return 0;
  if (ready.status !== 'True' && waitForSpec.has(ready.reason)) return undefined;
  const last = Date.parse(status?.lastCatalogRetrievalTime ?? '');
  if (Number.isNaN(last)) return 0;
  if (broker.spec.relistBehavior === 'Manual') return undefined;
  return Math.max(0, last + relistIntervalMs(broker, minIntervalMs) - now);
}

export function relistIntervalMs(broker: Broker, minIntervalMs: number): number {
  const interval =
    parseDuration(broker.spec.relistDuration ?? defaultRelistDuration) ??
    parseDuration(defaultRelistDuration) ??
    0;
  return Math.max(interval, minIntervalMs);
}

function describeBroker(scope: BrokerScope, broker: Broker): string {
  const ns = broker.metadata.namespace;
  return `${scope.broker.kind} ${ns ? `${ns}/` : ''}${broker.metadata.name ?? ''}`;
}

async function relist(
  ctx: ReconcileContext,
  scope: BrokerScope,
  broker: Broker,
  options: BrokerControllerOptions,
  clock: Pick<Clock, 'now'>,
): Promise<Result> {
  const status = (broker.status ??= {});
  const conditions = brokerConditions.manage(status as Record<string, unknown>, clock);
  const { recorder } = ctx.config;
  const fail = (reason: string, message: string): void => {
    conditions.markFalse('Ready', reason, message);
    recorder.event(broker, { type: 'Warning', reason, note: message });
  };

  let requirements;
  try {
    requirements = {
      classes: parseRequirements(
        broker.spec.catalogRestrictions?.serviceClass,
        classProperties,
        'spec.catalogRestrictions.serviceClass',
      ),
      plans: parseRequirements(
        broker.spec.catalogRestrictions?.servicePlan,
        planProperties,
        'spec.catalogRestrictions.servicePlan',
      ),
    };
  } catch (err) {
    // Only a spec change can fix it; that change enqueues the broker.
    fail(brokerReasons.invalidCatalogRestrictions, (err as Error).message);
    return {};
  }

  let clientOptions;
  try {
    clientOptions = await brokerClientOptions({
      reader: ctx.config.apiReader,
      broker,
      signal: ctx.signal,
      ...(options.requestTimeoutMs !== undefined && { timeoutMs: options.requestTimeoutMs }),
    });
  } catch (err) {
    if (err instanceof BrokerConfigError) {
      fail(brokerReasons.invalidBrokerSpec, err.message);
      return {};
    }
    if (err instanceof BrokerAuthError) {
      // The Secret may appear or be fixed: try again with backoff.
      fail(
        brokerReasons.errorGettingAuthCredentials,
        `Error getting broker auth credentials: ${err.message}`,
      );
    }
    throw err;
  }

  const client = new OsbClient(clientOptions);
  let catalog;
  try {
    catalog = (await client.catalog({ signal: ctx.signal })).body;
  } catch (err) {
    if (err instanceof OsbError)
      fail(brokerReasons.errorFetchingCatalog, `Error fetching catalog: ${err.message}`);
    throw err;
  } finally {
    await client.close();
  }

  let desired;
  try {
    desired = desiredCatalog(
      catalog,
      { cluster: scope.cluster, brokerName: broker.metadata.name ?? '' },
      requirements,
      options,
    );
  } catch (err) {
    if (err instanceof InvalidCatalogError)
      fail(brokerReasons.invalidCatalog, `Invalid catalog: ${err.message}`);
    throw err;
  }

  const counts = await syncCatalog(ctx, scope, broker, desired);
  status.lastCatalogRetrievalTime = formatMetaTime(clock.now());
  status.catalog = { classes: desired.classes.length, plans: desired.plans.length };
  const after = relistIn(broker, options);
  if (counts.conflicts.length > 0) {
    fail(brokerReasons.catalogNameConflict, counts.conflicts.slice(0, 5).join('; '));
    return after;
  }
  conditions.markTrue(
    'Ready',
    brokerReasons.fetchedCatalog,
    `Fetched catalog: ${desired.classes.length} classes, ${desired.plans.length} plans`,
  );
  if (counts.added + counts.updated + counts.removed > 0) {
    recorder.event(broker, {
      type: 'Normal',
      reason: brokerReasons.fetchedCatalog,
      note: `Fetched catalog of ${desired.classes.length} classes and ${desired.plans.length} plans: ${counts.added} added, ${counts.updated} updated, ${counts.removed} removed from the catalog`,
    });
  }
  return after;
}

function relistIn(broker: Broker, options: BrokerControllerOptions): Result {
  return broker.spec.relistBehavior === 'Manual'
    ? {}
    : { requeueAfterMs: relistIntervalMs(broker, options.minRelistIntervalMs ?? 60_000) };
}

/** The reconciler of one broker kind. */
export function brokerReconciler(
  scope: BrokerScope,
  options: BrokerControllerOptions = {},
): ResourceReconciler<Broker> {
  const minInterval = options.minRelistIntervalMs ?? 60_000;
  const sync = new SyncReconciler<Broker>({
    name: 'Catalog',
    async sync(ctx, broker) {
      const clock = ctx.config.clock;
      const dueIn = relistDueInMs(broker, clock.now(), minInterval);
      if (dueIn === undefined) return {};
      if (dueIn > 0) return { requeueAfterMs: dueIn };
      ctx.log.info({ broker: describeBroker(scope, broker) }, 'listing catalog');
      return relist(ctx, scope, broker, options, clock);
    },
    async finalize(ctx, broker) {
      const deleted = await deleteCatalog(ctx, scope, broker);
      if (deleted > 0) ctx.log.info({ deleted }, 'deleted the classes and plans of a deleted broker');
    },
  });
  return new ResourceReconciler<Broker>({
    name: scope.broker.kind,
    type: scope.broker,
    conditions: brokerConditions,
    reconciler: new WithFinalizer<Broker>({ finalizer, reconciler: sync }),
  });
}

export function clusterServiceBrokerController(options: BrokerControllerOptions = {}): Controller {
  return new Controller({
    name: 'clusterservicebroker',
    for: clusterScope.broker,
    reconciler: brokerReconciler(clusterScope, options),
    ...(options.workers !== undefined && { workers: options.workers }),
  });
}

export function serviceBrokerController(options: BrokerControllerOptions = {}): Controller {
  return new Controller({
    name: 'servicebroker',
    for: namespacedScope.broker,
    reconciler: brokerReconciler(namespacedScope, options),
    ...(options.workers !== undefined && { workers: options.workers }),
  });
}
