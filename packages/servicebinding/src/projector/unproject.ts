// Removing one binding from a workload (§4.8), with the mapping used to project it (RB-3).

import { ProjectionError } from './errors.ts';
import { getOwn, isObject, removeWhere } from './json.ts';
import { compileMappingTemplate, parseMappingStash, selectMappingTemplate } from './mapping.ts';
import type { CompiledMappingTemplate } from './mapping.ts';
import {
  annotationFieldPath,
  bindingUid,
  mappingAnnotation,
  providerAnnotation,
  secretAnnotation,
  typeAnnotation,
  volumeName,
} from './names.ts';
import { itemName } from './list-order.ts';
import { findContainers, readList, readMap } from './pod-template.ts';
import type { JsonObject, MappingSpec, ServiceBindingLike } from './types.ts';
import { cloneWorkload, WORKLOAD_ANNOTATIONS, workloadVersion } from './workload.ts';

/**
 * A copy of `workload` without `binding`: its volume, its mounts, the env vars it projected,
 * its pod-template annotations and its mapping stash. The mapping is the one stashed on the
 * workload at projection time; without a stash, `fallbackMapping` (the current mapping, as the
 * RI does), else PodSpec-able. `SERVICE_BINDING_ROOT` and empty lists created by projection stay:
 * something else may rely on them. Nothing is created where there is nothing to remove.
 */
export function unproject(
  binding: ServiceBindingLike,
  workload: unknown,
  fallbackMapping?: MappingSpec,
): JsonObject {
  const w = cloneWorkload(workload);
  unprojectInPlace(binding, w, fallbackMapping);
  return w;
}

/** Whether `workload` carries the mapping stash of `binding`, i.e. was projected by it. */
export function isProjected(binding: ServiceBindingLike, workload: unknown): boolean {
  if (!isObject(workload)) return false;
  const metadata = getOwn(workload, 'metadata');
  const annotations = isObject(metadata) ? getOwn(metadata, 'annotations') : undefined;
  return (
    isObject(annotations) && typeof getOwn(annotations, mappingAnnotation(bindingUid(binding))) === 'string'
  );
}

export function unprojectInPlace(
  binding: ServiceBindingLike,
  w: JsonObject,
  fallbackMapping?: MappingSpec,
): void {
  const uid = bindingUid(binding);
  const stashKey = mappingAnnotation(uid);
  const workloadAnnotations = readMap(w, WORKLOAD_ANNOTATIONS);
  const compiled = stashedTemplate(w, workloadAnnotations, stashKey, fallbackMapping);

  const annotations = readMap(w, compiled.annotations);
  const secret = annotations === undefined ? undefined : getOwn(annotations, secretAnnotation(uid));
  const fieldPaths = new Set([
    annotationFieldPath(typeAnnotation(uid)),
    annotationFieldPath(providerAnnotation(uid)),
  ]);
  const projectedEnv = (e: unknown): boolean => {
    const from = isObject(e) ? getOwn(e, 'valueFrom') : undefined;
    if (!isObject(from)) return false;
    const secretRef = getOwn(from, 'secretKeyRef');
    // The RI's rule: every env var reading this binding's Secret is its own (see docs/projection.md).
    if (
      typeof secret === 'string' &&
      secret !== '' &&
      isObject(secretRef) &&
      getOwn(secretRef, 'name') === secret
    ) {
      return true;
    }
    const fieldRef = getOwn(from, 'fieldRef');
    const fieldPath = isObject(fieldRef) ? getOwn(fieldRef, 'fieldPath') : undefined;
    return typeof fieldPath === 'string' && fieldPaths.has(fieldPath);
  };

  const volume = volumeName(uid);
  const volumes = readList(w, compiled.volumes);
  if (volumes !== undefined) removeWhere(volumes, (v) => itemName(v) === volume);
  for (const c of findContainers(w, compiled)) {
    const mounts = readList(c.object, c.mapping.volumeMounts, c.where);
    if (mounts !== undefined) removeWhere(mounts, (m) => itemName(m) === volume);
    const env = readList(c.object, c.mapping.env, c.where);
    if (env !== undefined) removeWhere(env, projectedEnv);
  }
  if (annotations !== undefined) {
    for (const key of [secretAnnotation(uid), typeAnnotation(uid), providerAnnotation(uid)])
      delete annotations[key];
  }
  if (workloadAnnotations !== undefined) delete workloadAnnotations[stashKey];
}

function stashedTemplate(
  w: JsonObject,
  workloadAnnotations: JsonObject | undefined,
  stashKey: string,
  fallbackMapping: MappingSpec | undefined,
): CompiledMappingTemplate {
  const field = `metadata.annotations['${stashKey}']`;
  const stash = workloadAnnotations === undefined ? undefined : getOwn(workloadAnnotations, stashKey);
  if (stash !== undefined && typeof stash !== 'string') {
    throw new ProjectionError('InvalidMappingStash', 'is not a string', field);
  }
  const spec = stash === undefined ? fallbackMapping : parseMappingStash(stash, field);
  const template = selectMappingTemplate(spec, workloadVersion(w));
  if (stash === undefined) {
    return compileMappingTemplate(template, `spec.versions[version=${JSON.stringify(template.version)}]`);
  }
  try {
    return compileMappingTemplate(template, field);
  } catch (err) {
    // Whoever may edit the workload may write its stash: reported as the stash's, not the mapping's.
    if (err instanceof ProjectionError && err.code === 'InvalidMapping') {
      const at = err.field ?? field;
      throw new ProjectionError('InvalidMappingStash', err.message.slice(at.length + 2), at);
    }
    throw err;
  }
}
