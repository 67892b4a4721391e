// What the projector needs from any workload, whatever its kind.

import { deepCopy } from '@bindery/runtime';
import { ProjectionError } from './errors.ts';
import { getOwn, isObject } from './json.ts';
import { compileFixedJsonPath } from './jsonpath/fixed.ts';
import type { JsonObject } from './types.ts';

/** The workload's own annotations, where the mapping stash lives (not mapping-driven). */
export const WORKLOAD_ANNOTATIONS = compileFixedJsonPath('.metadata.annotations');

/** A deep copy to edit: the projector never changes its input. */
export function cloneWorkload(workload: unknown): JsonObject {
  if (!isObject(workload)) throw new ProjectionError('InvalidWorkload', 'the workload must be a JSON object');
  return deepCopy(workload);
}

/** The version part of `apiVersion` (`apps/v1` → `v1`), which selects the mapping template. */
export function workloadVersion(workload: JsonObject): string {
  const apiVersion = getOwn(workload, 'apiVersion');
  if (typeof apiVersion !== 'string') return '';
  return apiVersion.slice(apiVersion.lastIndexOf('/') + 1);
}
