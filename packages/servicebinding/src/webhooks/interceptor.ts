// The `/interceptor` mutating webhook: at CREATE and UPDATE of a workload, every binding in its
// namespace that targets it (by name or selector) is projected with the Secret in the binding's
// status, and every binding that projected into it but no longer targets it (or is being
// deleted) is unprojected. This binds Jobs (immutable after creation) and workloads created
// after their binding, and puts back a projection a `kubectl apply` removed. It answers from the
// binding index and the mapping cache; it never writes to the API server.

import { isObject } from '@bindery/kube';
import type { KubeObject, TypeRef } from '@bindery/kube';
import { mutating } from '@bindery/runtime';
import type { AdmissionContext, AdmissionHandler } from '@bindery/runtime';
import { envNameDenied } from '../controllers/env-policy.ts';
import {
  bindWorkload,
  projectedSecretVersion,
  rolloutAnnotation,
  unbindWorkload,
  unprojectedOrUndefined,
} from '../controllers/servicebinding.ts';
import { ProjectionError, isProjected } from '../projector/index.ts';
import type { MappingSpec } from '../projector/index.ts';
import type { ServiceBindingIndex, IndexedBinding } from './binding-index.ts';

/** The mapping of a workload kind; `resource` is the plural the API server sent in the request. */
export type MappingLookup = (
  workload: TypeRef & { resource: string },
  signal: AbortSignal,
) => Promise<MappingSpec | undefined>;

export interface InterceptorOptions {
  index: ServiceBindingIndex;
  /** The controller's lookup: the ClusterWorkloadResourceMapping `<resource>.<group>`, from the cache. */
  mapping: MappingLookup;
  /** As the controller's: a binding that would set one of these variables is not projected, with a warning. */
  deniedEnvNames?: readonly string[];
}

/** Whether `entry` targets `obj` now (RI: name match, else selector match). */
export function targets(entry: IndexedBinding, obj: KubeObject): boolean {
  if (entry.workloadName !== undefined) return obj.metadata.name === entry.workloadName;
  return entry.selector?.matches(obj.metadata.labels) ?? false;
}

export function interceptor(options: InterceptorOptions): AdmissionHandler {
  const denied = new Set(options.deniedEnvNames ?? []);
  return mutating<KubeObject>(async (obj, ctx) => admit(options, denied, obj, ctx));
}

async function admit(
  options: InterceptorOptions,
  denied: ReadonlySet<string>,
  obj: KubeObject,
  ctx: AdmissionContext<KubeObject>,
): Promise<KubeObject | undefined> {
  const request = ctx.request;
  if (request.subResource !== undefined && request.subResource !== '') return undefined;
  if (!isObject(obj.metadata)) return undefined;
  // Only right after a start: never answer from a half-filled index (the Job would stay unbound).
  if (!options.index.hasSynced()) await options.index.waitForSync(ctx.signal);
  const { group, version, kind } = request.kind;
  const namespace = request.namespace ?? obj.metadata.namespace ?? '';
  const entries = options.index
    .forWorkload(group, kind, namespace)
    .filter((e) => targets(e, obj) || isProjected(e.binding, obj));
  if (entries.length === 0) return undefined;

  // Reviews carry apiVersion and kind; the projector reads the version from them.
  obj.apiVersion ??= group === '' ? version : `${group}/${version}`;
  obj.kind ??= kind;
  const workload = { apiVersion: obj.apiVersion, kind, resource: request.resource.resource };
  const mapping = await options.mapping(workload, ctx.signal);
  const old = isObject(request.oldObject) ? request.oldObject : undefined;

  let current = obj;
  for (const e of entries) {
    try {
      current =
        !e.deleting && targets(e, current)
          ? bindWorkload(
              e.binding,
              current,
              mapping,
              e.binding.status?.binding?.name,
              secretVersion(e, current, old, mapping),
              denied,
            )
          : unbindWorkload(e.binding, current, mapping);
    } catch (err) {
      if (!(err instanceof ProjectionError)) throw err;
      // The controller reports it on the binding's status; a workload is not refused for it.
      ctx.warn(`ServiceBinding ${e.key} not projected: ${err.message}`.slice(0, 240));
      ctx.log.info({ binding: e.key, code: err.code }, 'binding not projected at admission');
      // A denied variable projected before the deny list was set goes, as the controller does.
      if (err.code === envNameDenied)
        current = unprojectedOrUndefined(e.binding, current, mapping) ?? current;
    }
  }
  return current;
}

/** The rollout opt-in's Secret version, kept from the object or, if a user removed it, the old one. */
function secretVersion(
  e: IndexedBinding,
  obj: KubeObject,
  old: KubeObject | undefined,
  mapping: MappingSpec | undefined,
): string | undefined {
  if (e.binding.metadata.annotations?.[rolloutAnnotation] !== 'true') return undefined;
  try {
    return (
      projectedSecretVersion(e.binding, obj, mapping) ??
      (old ? projectedSecretVersion(e.binding, old, mapping) : undefined)
    );
  } catch {
    return undefined; // a malformed stash: the controller writes the version on its next pass
  }
}
