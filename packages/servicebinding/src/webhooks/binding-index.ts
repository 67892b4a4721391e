// The index the ServiceBinding webhooks answer from: the bindings package's `BindingIndex`, of
// ServiceBindings, by the group/kind/namespace of their workload (the interceptor) and by their
// service (the trigger). The kinds named by all bindings drive the webhook configurations' rules.

import { selectorFromLabelSelector } from '@bindery/kube';
import type { Selector, TypeRef } from '@bindery/kube';
import { BindingIndex } from '@bindery/bindings';
import { validateServiceBinding } from '../apis/index.ts';
import type { ServiceBinding } from '../apis/index.ts';

/** A binding as the webhooks see it. `binding` is the informer's object: never mutate it. */
export interface IndexedBinding {
  /** `namespace/name`. */
  readonly key: string;
  readonly binding: ServiceBinding;
  readonly namespace: string;
  readonly name: string;
  readonly workload: TypeRef;
  readonly service: TypeRef & { name: string };
  /** For a binding by name, the workload's name; otherwise its selector. */
  readonly workloadName: string | undefined;
  readonly selector: Selector | undefined;
  readonly deleting: boolean;
}

export class ServiceBindingIndex extends BindingIndex<
  ServiceBinding,
  IndexedBinding,
  'workload' | 'service'
> {
  constructor() {
    super({
      entry: entryOf,
      axes: {
        workload: (e) => ({ type: e.workload, namespace: e.namespace }),
        service: (e) => ({ type: e.service, namespace: e.namespace, name: e.service.name }),
      },
    });
  }

  /** The bindings in `namespace` whose workload is of `group/kind`, sorted by name. */
  forWorkload(group: string, kind: string, namespace: string): IndexedBinding[] {
    return this.lookup('workload', group, kind, namespace);
  }

  /** The bindings in `namespace` whose service is the object `group/kind` named `name`. */
  forService(group: string, kind: string, namespace: string, name: string): IndexedBinding[] {
    return this.lookup('service', group, kind, namespace, name);
  }

  /** The workload kinds bindings name, deleting ones included (they still unproject). */
  workloadTypes(): TypeRef[] {
    return this.types('workload');
  }

  /** The service kinds bindings name, `v1 Secret` for direct references. */
  serviceTypes(): TypeRef[] {
    return this.types('service');
  }
}

function entryOf(binding: ServiceBinding, key: string): IndexedBinding | undefined {
  // What the controller will not act on (it reports InvalidSpec) the webhooks leave alone too.
  if (validateServiceBinding(binding).length > 0) return undefined;
  let selector: Selector | undefined;
  const w = binding.spec.workload;
  const byName = w.name !== undefined && w.name !== '';
  try {
    selector = byName ? undefined : selectorFromLabelSelector(w.selector);
  } catch {
    return undefined; // validation rejects malformed selectors; a belt to its braces
  }
  const s = binding.spec.service;
  return {
    key,
    binding,
    namespace: binding.metadata.namespace ?? '',
    name: binding.metadata.name ?? '',
    workload: { apiVersion: w.apiVersion, kind: w.kind },
    service: { apiVersion: s.apiVersion, kind: s.kind, name: s.name },
    workloadName: byName ? w.name : undefined,
    selector,
    deleting: binding.metadata.deletionTimestamp !== undefined,
  };
}
