// Projecting one binding into a workload (§4.2–§4.7), exactly as the RI does, on raw JSON.

import type { EnvMapping } from '../apis/servicebinding.ts';
import { ProjectionError } from './errors.ts';
import { getOwn, isObject, putKey } from './json.ts';
import {
  compileMappingTemplate,
  defaultMappingSpec,
  selectMappingTemplate,
  stashMapping,
} from './mapping.ts';
import {
  annotationFieldPath,
  bindingUid,
  checkedBindingName,
  mappingAnnotation,
  PROJECTOR_GROUP,
  providerAnnotation,
  SECRET_ANNOTATION_PREFIX,
  secretAnnotation,
  typeAnnotation,
  validateSecretName,
  VOLUME_DEFAULT_MODE,
  VOLUME_PREFIX,
  volumeName,
} from './names.ts';
import { itemName, sortProjected } from './list-order.ts';
import { containerName, ensureList, ensureMap, findContainers } from './pod-template.ts';
import type { MetaContainer } from './pod-template.ts';
import { mountPath, normalizeMountPath, serviceBindingRoot } from './root.ts';
import type { JsonObject, MappingSpec, ServiceBindingLike } from './types.ts';
import { unprojectInPlace } from './unproject.ts';
import { cloneWorkload, WORKLOAD_ANNOTATIONS, workloadVersion } from './workload.ts';

/**
 * A copy of `workload` with `binding` projected: the binding is first unprojected with the
 * mapping stashed at its last projection (so re-projecting is idempotent and follows mapping
 * changes, RB-4), then — when `secretName` is set — projected with `mapping` (undefined:
 * PodSpec-able). Whether the workload is targeted (name, selector) is the caller's decision:
 * for a workload that no longer is, call `unproject`. Throws a `ProjectionError`.
 */
export function project(
  binding: ServiceBindingLike,
  workload: unknown,
  mapping: MappingSpec | undefined,
  secretName: string | undefined,
): JsonObject {
  const w = cloneWorkload(workload);
  unprojectInPlace(binding, w, mapping);
  if (secretName === undefined || secretName === '') return w;

  const uid = bindingUid(binding);
  const name = checkedBindingName(binding);
  validateSecretName(secretName);
  const envMappings = checkEnv(binding.spec?.env);
  const type = nonEmpty(binding.spec?.type);
  const provider = nonEmpty(binding.spec?.provider);
  const spec = defaultMappingSpec(mapping);
  const compiled = compileMappingTemplate(
    selectMappingTemplate(spec, workloadVersion(w)),
    `spec.versions[version=${JSON.stringify(workloadVersion(w))}]`,
  );

  // Pod-template annotations: the downward-API sources and env fieldRefs read them (RI-8, RI-9),
  // and the secret name tells unprojection which env vars are this binding's. Keys in the order
  // Go serializes the RI's map in.
  const annotations = ensureMap(w, compiled.annotations);
  if (provider !== undefined) putKey(annotations, providerAnnotation(uid), provider);
  putKey(annotations, secretAnnotation(uid), secretName);
  if (type !== undefined) putKey(annotations, typeAnnotation(uid), type);

  // RI-1: one projected volume per binding; the downward-API sources come after the Secret, so
  // their `type`/`provider` files replace the Secret's (the kubelet merges sources in order).
  const volumes = ensureList(w, compiled.volumes);
  volumes.push({
    name: volumeName(uid),
    projected: {
      defaultMode: VOLUME_DEFAULT_MODE,
      sources: [
        { secret: { name: secretName } },
        ...(type === undefined ? [] : [downwardApi('type', typeAnnotation(uid))]),
        ...(provider === undefined ? [] : [downwardApi('provider', providerAnnotation(uid))]),
      ],
    },
  });
  sortProjected(volumes, isProjectedByName);

  const projectedSecrets = new Set(
    Object.entries(annotations)
      .filter(([k, v]) => k.startsWith(SECRET_ANNOTATION_PREFIX) && typeof v === 'string')
      .map(([, v]) => v),
  );
  const isProjectedEnv = (e: unknown): boolean => {
    const from = isObject(e) ? getOwn(e, 'valueFrom') : undefined;
    if (!isObject(from)) return false;
    const secretRef = getOwn(from, 'secretKeyRef');
    if (isObject(secretRef) && projectedSecrets.has(getOwn(secretRef, 'name'))) return true;
    const fieldRef = getOwn(from, 'fieldRef');
    const fieldPath = isObject(fieldRef) ? getOwn(fieldRef, 'fieldPath') : undefined;
    return typeof fieldPath === 'string' && fieldPath.startsWith(`metadata.annotations['${PROJECTOR_GROUP}`);
  };

  const filter = binding.spec?.workload?.containers;
  for (const c of findContainers(w, compiled)) {
    // RB-7: created on every mapped container, bound or not, as the RI does.
    const env = ensureList(c.object, c.mapping.env, c.where);
    const mounts = ensureList(c.object, c.mapping.volumeMounts, c.where);
    if (!isBindable(c, filter)) continue;

    const path = mountPath(serviceBindingRoot(env, c.where), name);
    checkCollision(mounts, path, c.where);
    mounts.push({ name: volumeName(uid), readOnly: true, mountPath: path });
    sortProjected(mounts, isProjectedByName);

    for (const e of envMappings) env.push(envVar(e, uid, secretName, type, provider));
    sortProjected(env, isProjectedEnv);
  }

  // RB-3: remember the mapping this projection used, for unprojection.
  putKey(ensureMap(w, WORKLOAD_ANNOTATIONS), mappingAnnotation(uid), stashMapping(spec));
  return w;
}

/**
 * SB-11/SB-12/RB-5/RB-6: without a filter, or without a mapped name, a container is bound;
 * otherwise only when listed. An empty list binds every container, as in the RI (AMB-10).
 */
function isBindable(c: MetaContainer, filter: readonly string[] | undefined): boolean {
  if (filter === undefined || filter.length === 0) return true;
  const name = containerName(c);
  return name === undefined || filter.includes(name);
}

function envVar(
  e: EnvMapping,
  uid: string,
  secretName: string,
  type: string | undefined,
  provider: string | undefined,
): JsonObject {
  // AMB-7: an overridden type/provider is read from the annotation, not the Secret.
  if (e.key === 'type' && type !== undefined) {
    return { name: e.name, valueFrom: { fieldRef: { fieldPath: annotationFieldPath(typeAnnotation(uid)) } } };
  }
  if (e.key === 'provider' && provider !== undefined) {
    return {
      name: e.name,
      valueFrom: { fieldRef: { fieldPath: annotationFieldPath(providerAnnotation(uid)) } },
    };
  }
  return { name: e.name, valueFrom: { secretKeyRef: { name: secretName, key: e.key } } };
}

function downwardApi(path: string, annotation: string): JsonObject {
  return { downwardAPI: { items: [{ path, fieldRef: { fieldPath: annotationFieldPath(annotation) } }] } };
}

/** WP-11: a good-faith check, so a name collision is reported rather than rejected by the API server. */
function checkCollision(mounts: unknown[], path: string, where: string): void {
  const target = normalizeMountPath(path);
  const clash = mounts.find((m) => {
    const p = isObject(m) ? getOwn(m, 'mountPath') : undefined;
    return typeof p === 'string' && normalizeMountPath(p) === target;
  });
  if (clash === undefined) return;
  const other = itemName(clash);
  throw new ProjectionError(
    'BindingNameCollision',
    other.startsWith(VOLUME_PREFIX)
      ? `${where}: another ServiceBinding (volume ${JSON.stringify(other)}) is already mounted at ${JSON.stringify(path)}; each binding projected into a workload needs a unique name`
      : `${where}: volume ${JSON.stringify(other)} is already mounted at ${JSON.stringify(path)}; choose another binding name or SERVICE_BINDING_ROOT`,
    'spec.name',
  );
}

function checkEnv(env: readonly EnvMapping[] | undefined): EnvMapping[] {
  return (env ?? []).map((e: unknown, i) => {
    for (const key of ['name', 'key'] as const) {
      const v = isObject(e) ? getOwn(e, key) : undefined;
      if (typeof v !== 'string' || v === '') {
        throw new ProjectionError('InvalidBinding', 'is required', `spec.env[${i}].${key}`);
      }
    }
    return e as EnvMapping;
  });
}

const isProjectedByName = (item: unknown): boolean => itemName(item).startsWith(VOLUME_PREFIX);

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}
