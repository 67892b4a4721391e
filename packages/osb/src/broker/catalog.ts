// A broker's catalog as the class and plan objects it should become: which entries the catalog
// restrictions let through, their object names, and their specs. Pure, so it is table-tested; the
// broker reconciler writes the result.
import type { ClusterServiceClassSpec, ServiceClassSpec } from '../apis/class.ts';
import type { ClusterServicePlanSpec, ServicePlanSpec } from '../apis/plan.ts';
import type { Catalog, CatalogPlan, CatalogService } from '../client/types.ts';
import { catalogObjectName } from './names.ts';
import type { Requirement } from './restrictions.ts';
import { matches } from './restrictions.ts';

export interface CatalogLimits {
  /** Default 500. */
  maxClasses?: number;
  /** Default 5000, over all classes. */
  maxPlans?: number;
}

/** Where the objects go: cluster-scoped for a ClusterServiceBroker, the broker's namespace otherwise. */
export type CatalogScope = { cluster: true; brokerName: string } | { cluster: false; brokerName: string };

export interface DesiredClass {
  name: string;
  spec: ClusterServiceClassSpec | ServiceClassSpec;
}

export interface DesiredPlan {
  name: string;
  /** The OSB id of its class: the plan's class reference is the name of that class's object. */
  classExternalID: string;
  spec: Omit<ClusterServicePlanSpec, 'clusterServiceClassRef'> | Omit<ServicePlanSpec, 'serviceClassRef'>;
}

export interface DesiredCatalog {
  classes: DesiredClass[];
  plans: DesiredPlan[];
}

/** A catalog the platform cannot use as it is. The message names the entry, never a credential. */
export class InvalidCatalogError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidCatalogError';
  }
}

type Defined<T> = { [K in keyof T as undefined extends T[K] ? never : K]: T[K] } & {
  [K in keyof T as undefined extends T[K] ? K : never]?: Exclude<T[K], undefined>;
};

/** Drops `undefined` fields, so specs compare equal to what the API server returns. */
function defined<T extends object>(obj: T): Defined<T> {
  return Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== undefined)) as Defined<T>;
}

function checkCatalog(catalog: Catalog, limits: CatalogLimits): void {
  const maxClasses = limits.maxClasses ?? 500;
  const maxPlans = limits.maxPlans ?? 5000;
  if (catalog.services.length > maxClasses) {
    throw new InvalidCatalogError(
      `the catalog lists ${catalog.services.length} services, more than the limit of ${maxClasses}`,
    );
  }
  const plans = catalog.services.reduce((n, s) => n + s.plans.length, 0);
  if (plans > maxPlans)
    throw new InvalidCatalogError(`the catalog lists ${plans} plans, more than the limit of ${maxPlans}`);
  const serviceIDs = new Set<string>();
  const serviceNames = new Set<string>();
  const planIDs = new Set<string>();
  for (const service of catalog.services) {
    const what = `service ${JSON.stringify(service.name)}`;
    if (serviceIDs.has(service.id))
      throw new InvalidCatalogError(`${what}: id ${JSON.stringify(service.id)} is listed twice`);
    if (serviceNames.has(service.name)) throw new InvalidCatalogError(`${what}: the name is listed twice`);
    serviceIDs.add(service.id);
    serviceNames.add(service.name);
    if (service.plans.length === 0) throw new InvalidCatalogError(`${what} has no plans`);
    const planNames = new Set<string>();
    for (const plan of service.plans) {
      if (planIDs.has(plan.id)) {
        throw new InvalidCatalogError(
          `${what}, plan ${JSON.stringify(plan.name)}: id ${JSON.stringify(plan.id)} is listed twice`,
        );
      }
      if (planNames.has(plan.name))
        throw new InvalidCatalogError(`${what}: plan name ${JSON.stringify(plan.name)} is listed twice`);
      planIDs.add(plan.id);
      planNames.add(plan.name);
    }
  }
}

function classSpec(service: CatalogService, scope: CatalogScope): DesiredClass['spec'] {
  const common = defined({
    externalName: service.name,
    externalID: service.id,
    description: service.description,
    bindable: service.bindable,
    instancesRetrievable: service.instances_retrievable,
    bindingsRetrievable: service.bindings_retrievable,
    planUpdateable: service.plan_updateable,
    allowContextUpdates: service.allow_context_updates,
    tags: service.tags,
    requires: service.requires,
    externalMetadata: service.metadata,
  });
  return scope.cluster
    ? { ...common, clusterServiceBrokerName: scope.brokerName }
    : { ...common, serviceBrokerName: scope.brokerName };
}

function planSpec(plan: CatalogPlan, scope: CatalogScope): DesiredPlan['spec'] {
  const schemas = plan.schemas;
  const common = defined({
    externalName: plan.name,
    externalID: plan.id,
    description: plan.description,
    // The spec's default: a plan is free unless it says otherwise.
    free: plan.free ?? true,
    bindable: plan.bindable,
    planUpdateable: plan.plan_updateable,
    bindingRotatable: plan.binding_rotatable,
    maximumPollingDuration: plan.maximum_polling_duration,
    maintenanceInfo: plan.maintenance_info && defined({ ...plan.maintenance_info }),
    externalMetadata: plan.metadata,
    instanceCreateParameterSchema: schemas?.service_instance?.create?.parameters,
    instanceUpdateParameterSchema: schemas?.service_instance?.update?.parameters,
    serviceBindingCreateParameterSchema: schemas?.service_binding?.create?.parameters,
  });
  return scope.cluster
    ? { ...common, clusterServiceBrokerName: scope.brokerName }
    : { ...common, serviceBrokerName: scope.brokerName };
}

export interface CatalogRestrictionRequirements {
  classes: readonly Requirement[];
  plans: readonly Requirement[];
}

/**
 * The classes and plans `catalog` should become. A class is kept only when at least one of its plans
 * passes the plan restrictions (a class with no plan cannot be provisioned).
 */
export function desiredCatalog(
  catalog: Catalog,
  scope: CatalogScope,
  restrictions: CatalogRestrictionRequirements,
  limits: CatalogLimits = {},
): DesiredCatalog {
  checkCatalog(catalog, limits);
  const out: DesiredCatalog = { classes: [], plans: [] };
  for (const service of catalog.services) {
    const className = catalogObjectName(service.id);
    const classProps = { name: className, 'spec.externalName': service.name, 'spec.externalID': service.id };
    if (!matches(restrictions.classes, classProps)) continue;
    const plans: DesiredPlan[] = [];
    for (const plan of service.plans) {
      const name = catalogObjectName(plan.id);
      const props = {
        name,
        'spec.externalName': plan.name,
        'spec.externalID': plan.id,
        'spec.free': String(plan.free ?? true),
        'spec.serviceClassExternalName': service.name,
      };
      if (matches(restrictions.plans, props))
        plans.push({ name, classExternalID: service.id, spec: planSpec(plan, scope) });
    }
    if (plans.length === 0) continue;
    out.classes.push({ name: className, spec: classSpec(service, scope) });
    out.plans.push(...plans);
  }
  return out;
}
