// Rollout on Secret change (docs/rollout.md), the built-in projection hook: a binding annotated
// `bindery.dev/rollout-on-secret-change: "true"` records the bound Secret's resourceVersion in
// each workload's pod template, so a changed Secret changes the template and the workload
// controller rolls the pods. Every binding drops its stale record, opted in or not.

import { isObject } from '@bindery/kube';
import type { KubeObject } from '@bindery/kube';
import type { ServiceBinding } from '../apis/index.ts';
import {
  FixedJsonPathError,
  parseFixedJsonPath,
  rolloutAnnotation,
  secretVersionAnnotation,
} from '../apis/index.ts';
import {
  ProjectionError,
  mappingAnnotation,
  parseMappingStash,
  selectMappingTemplate,
} from '../projector/index.ts';
import type { MappingSpec } from '../projector/index.ts';
import type { ResourceFor, SecretAccess } from '../resolver/index.ts';
import { newResolver } from './binding-context.ts';
import type { ProjectionHook, WorkloadHooks } from './projection-hooks.ts';

export function rolloutEnabled(binding: ServiceBinding): boolean {
  return binding.metadata.annotations?.[rolloutAnnotation] === 'true';
}

export interface RolloutHookOptions {
  resourceFor: ResourceFor;
  /** `none`: no Secret is read, so the opt-in is ignored, and `WorkloadProjected` says so. */
  secretAccess: SecretAccess;
}

/** The rollout hook: reads the bound Secret's metadata once per reconcile of an opted-in binding. */
export function rolloutHook(options: RolloutHookOptions): ProjectionHook {
  return {
    name: 'rollout',
    forBinding: async ({ reconcile, binding, secretName, mapping, deleting }) => {
      const enabled = rolloutEnabled(binding);
      let secretVersion: string | undefined;
      if (!deleting && secretName !== undefined && enabled && options.secretAccess === 'metadata') {
        const meta = await newResolver(reconcile, options.resourceFor).secretMetadata(
          binding.metadata.namespace ?? '',
          secretName,
          reconcile.signal,
        );
        secretVersion = meta?.metadata.resourceVersion;
      }
      const hooks = rolloutWorkloadHooks(binding, mapping, secretVersion);
      return enabled && options.secretAccess === 'none'
        ? {
            ...hooks,
            note: `${rolloutAnnotation} is ignored: the manager runs with --secret-access=none, so it reads no Secret`,
          }
        : hooks;
    },
  };
}

/**
 * The workload edits of rollout: the record this binding left goes before (un)projection, found
 * with the mapping it was projected with (RB-3), else `mapping`; `secretVersion`, when known, is
 * recorded after projection.
 */
export function rolloutWorkloadHooks(
  binding: ServiceBinding,
  mapping: MappingSpec | undefined,
  secretVersion: string | undefined,
): WorkloadHooks {
  const uid = binding.metadata.uid ?? '';
  const drop = (w: KubeObject): void => {
    const annotations = podAnnotations(w, mapping, mappingAnnotation(uid));
    if (annotations !== undefined) delete annotations[secretVersionAnnotation(uid)];
  };
  return {
    preProjection: drop,
    postProjection: (w) => {
      if (secretVersion === undefined) return;
      const annotations = podAnnotations(w, mapping);
      if (annotations !== undefined) annotations[secretVersionAnnotation(uid)] = secretVersion;
    },
    preUnprojection: drop,
  };
}

/**
 * The Secret version annotation this binding left on `workload` (rollout opt-in), found with the
 * mapping it was projected with (RB-3): the admission webhook keeps it when it re-projects.
 */
export function projectedSecretVersion(
  binding: ServiceBinding,
  workload: KubeObject,
  mapping: MappingSpec | undefined,
): string | undefined {
  const uid = binding.metadata.uid ?? '';
  return podAnnotations(workload, mapping, mappingAnnotation(uid))?.[secretVersionAnnotation(uid)];
}

/**
 * The pod-template annotations of `w`, located with the mapping stashed under `stashKey` when
 * there is one (RB-3), else with `mapping`; undefined when absent (never created).
 */
function podAnnotations(
  w: KubeObject,
  mapping: MappingSpec | undefined,
  stashKey?: string,
): Record<string, string> | undefined {
  let spec = mapping;
  const stash = stashKey === undefined ? undefined : w.metadata.annotations?.[stashKey];
  const stashField = `metadata.annotations['${stashKey ?? ''}']`;
  if (stashKey !== undefined && stash !== undefined) spec = parseMappingStash(stash, stashField);
  const apiVersion = w.apiVersion ?? '';
  const version = apiVersion.slice(apiVersion.lastIndexOf('/') + 1);
  const template = selectMappingTemplate(spec, version);
  let fields: string[];
  try {
    fields = parseFixedJsonPath(template.annotations);
  } catch (err) {
    // Anyone who may edit the workload may write the stash: a condition, not a retried error.
    if (!(err instanceof FixedJsonPathError)) throw err;
    const message = `annotations: invalid Fixed JSONPath ${JSON.stringify(err.expression)} ${err.message}`;
    throw stash === undefined
      ? new ProjectionError(
          'InvalidMapping',
          message,
          `spec.versions[version=${JSON.stringify(template.version)}]`,
        )
      : new ProjectionError('InvalidMappingStash', message, stashField);
  }
  let cur: unknown = w;
  for (const field of fields) {
    if (!isObject(cur) || !Object.hasOwn(cur, field)) return undefined;
    cur = cur[field];
  }
  return isObject(cur) ? (cur as Record<string, string>) : undefined;
}
