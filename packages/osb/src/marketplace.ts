// What `bindery catalog` prints: the classes and plans a user can provision from, as `svcat
// marketplace` listed them. Removed catalog entries are left out: nothing new can be made of them.
import type { KubeObject } from '@bindery/kube';
import type { Reader } from '@bindery/runtime';
import type { ClusterServiceClassSpec, ServiceClassSpec } from './apis/class.ts';
import type { ClusterServicePlanSpec, ServicePlanSpec } from './apis/plan.ts';
import { clusterScope, namespacedScope } from './broker/scope.ts';

export interface MarketplacePlan {
  name: string;
  externalName: string;
  description: string;
  free: boolean;
}

export interface MarketplaceClass {
  /** `ClusterServiceClass` or `ServiceClass`. */
  kind: string;
  /** Set for a namespaced class. */
  namespace?: string;
  name: string;
  externalName: string;
  description: string;
  broker: string;
  bindable: boolean;
  plans: MarketplacePlan[];
}

interface Entry<S> extends KubeObject {
  spec: S;
  status?: { removedFromBrokerCatalog?: boolean };
}
type AnyClass = Entry<ClusterServiceClassSpec | ServiceClassSpec>;
type AnyPlan = Entry<ClusterServicePlanSpec | ServicePlanSpec>;

const listed = <T extends Entry<unknown>>(items: T[]): T[] =>
  items.filter((i) => i.status?.removedFromBrokerCatalog !== true);

function toClasses(kind: string, classes: AnyClass[], plans: AnyPlan[]): MarketplaceClass[] {
  return listed(classes)
    .map((c): MarketplaceClass => {
      const spec = c.spec;
      const ns = c.metadata.namespace;
      const classPlans = listed(plans).filter((p) => {
        const ref =
          'clusterServiceClassRef' in p.spec ? p.spec.clusterServiceClassRef : p.spec.serviceClassRef;
        return ref.name === c.metadata.name && p.metadata.namespace === ns;
      });
      return {
        kind,
        ...(ns !== undefined && { namespace: ns }),
        name: c.metadata.name ?? '',
        externalName: spec.externalName,
        description: spec.description ?? '',
        broker: 'clusterServiceBrokerName' in spec ? spec.clusterServiceBrokerName : spec.serviceBrokerName,
        bindable: spec.bindable === true,
        plans: classPlans
          .map((p) => ({
            name: p.metadata.name ?? '',
            externalName: p.spec.externalName,
            description: p.spec.description ?? '',
            free: p.spec.free !== false,
          }))
          .sort((a, b) => a.externalName.localeCompare(b.externalName)),
      };
    })
    .filter((c) => c.plans.length > 0);
}

export interface MarketplaceOptions {
  /** Also the namespaced classes of this namespace. */
  namespace?: string;
  /** Also the namespaced classes of every namespace. */
  allNamespaces?: boolean;
  signal?: AbortSignal;
}

/** The classes (with their plans) of the cluster, and of a namespace or all when asked, sorted. */
export async function listMarketplace(
  reader: Reader,
  options: MarketplaceOptions = {},
): Promise<MarketplaceClass[]> {
  const signal = options.signal ? { signal: options.signal } : {};
  const out = toClasses(
    clusterScope.class.kind,
    (await reader.list<AnyClass>(clusterScope.class, signal)).items,
    (await reader.list<AnyPlan>(clusterScope.plan, signal)).items,
  );
  if (options.allNamespaces === true || options.namespace !== undefined) {
    const where = { ...signal, ...(options.allNamespaces !== true && { namespace: options.namespace }) };
    out.push(
      ...toClasses(
        namespacedScope.class.kind,
        (await reader.list<AnyClass>(namespacedScope.class, where)).items,
        (await reader.list<AnyPlan>(namespacedScope.plan, where)).items,
      ),
    );
  }
  return out.sort(
    (a, b) =>
      a.externalName.localeCompare(b.externalName) || (a.namespace ?? '').localeCompare(b.namespace ?? ''),
  );
}

/** Longest description shown in the table; `-o json` has all of it. */
const maxDescription = 60;

/** An aligned table: CLASS, PLANS, DESCRIPTION (and NAMESPACE when any class is namespaced). */
export function formatMarketplace(classes: readonly MarketplaceClass[]): string {
  if (classes.length === 0) return 'No classes found.\n';
  const namespaced = classes.some((c) => c.namespace !== undefined);
  const clip = (s: string) => (s.length > maxDescription ? `${s.slice(0, maxDescription - 1)}…` : s);
  const rows = [
    [...(namespaced ? ['NAMESPACE'] : []), 'CLASS', 'PLANS', 'BROKER', 'DESCRIPTION'],
    ...classes.map((c) => [
      ...(namespaced ? [c.namespace ?? ''] : []),
      c.externalName,
      c.plans.map((p) => p.externalName).join(', '),
      c.broker,
      clip(c.description.replace(/\s+/g, ' ')),
    ]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return (
    rows
      .map((r) =>
        r
          .map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
          .join('   ')
          .trimEnd(),
      )
      .join('\n') + '\n'
  );
}
