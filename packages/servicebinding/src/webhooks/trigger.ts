// The `/trigger` validating webhook: a change to a workload or a Provisioned Service (its status
// included) enqueues the bindings that depend on it, found in the binding index (no tracker: the
// tracker is filled only where the controller runs, the leader, and this webhook is served by
// every replica). It always allows and never waits on anything.
// Its rules never name Secrets (configurations.ts): the controller's metadata watch sees those.

import { errorMessage, isObject } from '@bindery/kube';
import type { KubeObject } from '@bindery/kube';
import { deepEqual, validating } from '@bindery/runtime';
import type { AdmissionHandler, AdmissionRequest } from '@bindery/runtime';
import { group as apiGroup, serviceBindingKind } from '../apis/index.ts';
import { isProjected } from '../projector/index.ts';
import { bindingSecretName, isDirectSecretReference } from '../resolver/index.ts';
import type { ServiceBindingIndex, IndexedBinding } from './binding-index.ts';
import { targets } from './interceptor.ts';

/** A binding to reconcile. */
export interface BindingKey {
  namespace: string;
  name: string;
}

export interface TriggerOptions {
  index: ServiceBindingIndex;
  /** Hands the affected bindings to the controller (`TriggerForwarder.forward`). */
  enqueue: (bindings: BindingKey[]) => void;
}

export function trigger(options: TriggerOptions): AdmissionHandler {
  return validating<KubeObject>((ctx) => {
    // A trigger only observes: its own failure must never refuse the write it was told about.
    try {
      const affected = affectedBindings(options.index, ctx.request);
      if (affected.length > 0) {
        ctx.log.debug({ bindings: affected.map((e) => e.key) }, 'trigger');
        options.enqueue(affected.map((e) => ({ namespace: e.namespace, name: e.name })));
      }
    } catch (err) {
      ctx.log.error({ reason: errorMessage(err) }, 'trigger failed; allowed');
    }
    return { allowed: true };
  });
}

/**
 * The bindings a request concerns, and only when what changed matters to them: for a service,
 * its existence or `.status.binding.name`; for a workload, its existence, its labels, or a
 * projection that is missing (what the interceptor could not put back).
 */
export function affectedBindings(index: ServiceBindingIndex, request: AdmissionRequest): IndexedBinding[] {
  // A dry run changes nothing; bindings themselves are watched by the controller.
  if (request.dryRun === true) return [];
  if (!isObject(request.kind)) return [];
  const { group, kind } = request.kind;
  if (group === apiGroup && kind === serviceBindingKind) return [];
  const object = isKubeObject(request.object) ? request.object : undefined;
  const old = isKubeObject(request.oldObject) ? request.oldObject : undefined;
  const namespace = request.namespace ?? object?.metadata.namespace ?? old?.metadata.namespace ?? '';
  const name = request.name ?? object?.metadata.name ?? old?.metadata.name ?? '';
  const update = request.operation === 'UPDATE';
  const found = new Map<string, IndexedBinding>();

  for (const e of index.forService(group, kind, namespace, name)) {
    const changed =
      !update ||
      isDirectSecretReference(e.service) ||
      bindingSecretName(object ?? emptyObject) !== bindingSecretName(old ?? emptyObject);
    if (changed) found.set(e.key, e);
  }

  const subresource = request.subResource !== undefined && request.subResource !== '';
  if (!subresource) {
    const seen = [object, old].filter((o): o is KubeObject => o !== undefined);
    for (const e of index.forWorkload(group, kind, namespace)) {
      if (!seen.some((o) => targets(e, o) || isProjected(e.binding, o))) continue;
      const changed =
        !update ||
        !deepEqual(object?.metadata.labels ?? {}, old?.metadata.labels ?? {}) ||
        (object !== undefined &&
          !e.deleting &&
          e.binding.status?.binding?.name !== undefined &&
          targets(e, object) &&
          !isProjected(e.binding, object));
      if (changed) found.set(e.key, e);
    }
  }
  return [...found.values()];
}

const emptyObject: KubeObject = { metadata: {} };

function isKubeObject(value: unknown): value is KubeObject {
  return isObject(value) && isObject(value['metadata']);
}
