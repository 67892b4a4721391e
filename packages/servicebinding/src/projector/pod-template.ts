// The workload seen through a mapping template: the pod-template annotations, the volumes, and
// each container-like object with its env and volumeMounts — the RI's "meta pod template", but
// as live references into the raw JSON, so edits land in place and every other field survives
// untouched (RB-9). Reads never create; `ensure*` creates missing locations (RB-7).

import { ProjectionError } from './errors.ts';
import { isObject } from './json.ts';
import { ensureFixed, getFixed, JsonPathTypeError } from './jsonpath/fixed.ts';
import type { FixedJsonPath } from './jsonpath/fixed.ts';
import { JsonPathLimitError } from './jsonpath/error.ts';
import { evaluateJsonPath, JsonPathBudget } from './jsonpath/full.ts';
import type { CompiledMappingContainer, CompiledMappingTemplate } from './mapping.ts';
import type { JsonObject } from './types.ts';

export interface MetaContainer {
  /** The container-like object itself, inside the workload. */
  readonly object: JsonObject;
  readonly mapping: CompiledMappingContainer;
  /** Where it was found, for messages: `.spec.template.spec.containers[*]` match #1 ("hello"). */
  readonly where: string;
}

/**
 * The container-like objects the template selects, in the order of its `containers` entries and
 * then document order. An object matched twice (overlapping paths) is bound once. Every path of
 * the template draws on one evaluation budget: a stash may hold many.
 */
export function findContainers(workload: JsonObject, compiled: CompiledMappingTemplate): MetaContainer[] {
  const seen = new Set<unknown>();
  const out: MetaContainer[] = [];
  const budget = new JsonPathBudget();
  for (const mapping of compiled.containers) {
    let matches: unknown[];
    try {
      matches = evaluateJsonPath(workload, mapping.path, budget);
    } catch (err) {
      if (err instanceof JsonPathLimitError)
        throw new ProjectionError('InvalidMapping', err.message, mapping.field);
      throw err;
    }
    for (const [i, match] of matches.entries()) {
      if (match === null || match === undefined || seen.has(match)) continue;
      if (!isObject(match)) {
        throw new ProjectionError(
          'InvalidWorkload',
          `${JSON.stringify(mapping.path.expression)} matched ${Array.isArray(match) ? 'an array' : `a ${typeof match}`}, not a container-like object`,
        );
      }
      seen.add(match);
      const name = containerName({ object: match, mapping, where: '' });
      out.push({
        object: match,
        mapping,
        where: `${mapping.path.expression} match #${i}${name === undefined ? '' : ` (${JSON.stringify(name)})`}`,
      });
    }
  }
  return out;
}

/** The mapped container name, or undefined when the mapping has no `name` (RB-6). */
export function containerName(c: MetaContainer): string | undefined {
  if (c.mapping.name === undefined) return undefined;
  const value = read(c.object, c.mapping.name, c.where);
  return typeof value === 'string' ? value : '';
}

export function readList(root: JsonObject, path: FixedJsonPath, where = ''): unknown[] | undefined {
  const value = read(root, path, where);
  if (value === undefined) return undefined;
  if (!Array.isArray(value)) throw wrongType(path, where, 'an array', value);
  return value as unknown[];
}

export function ensureList(root: JsonObject, path: FixedJsonPath, where = ''): unknown[] {
  const value = locate(() => ensureFixed(root, path, () => []), path, where);
  if (!Array.isArray(value)) throw wrongType(path, where, 'an array', value);
  return value as unknown[];
}

export function readMap(root: JsonObject, path: FixedJsonPath, where = ''): JsonObject | undefined {
  const value = read(root, path, where);
  if (value === undefined) return undefined;
  if (!isObject(value)) throw wrongType(path, where, 'an object', value);
  return value;
}

export function ensureMap(root: JsonObject, path: FixedJsonPath, where = ''): JsonObject {
  const value = locate(() => ensureFixed(root, path, () => ({})), path, where);
  if (!isObject(value)) throw wrongType(path, where, 'an object', value);
  return value;
}

function read(root: JsonObject, path: FixedJsonPath, where: string): unknown {
  return locate(() => getFixed(root, path), path, where);
}

function locate<T>(fn: () => T, path: FixedJsonPath, where: string): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof JsonPathTypeError) {
      throw new ProjectionError(
        'InvalidWorkload',
        `cannot reach ${JSON.stringify(path.expression)}${at(where)}: ${err.message}`,
      );
    }
    throw err;
  }
}

function wrongType(path: FixedJsonPath, where: string, expected: string, found: unknown): ProjectionError {
  const kind = Array.isArray(found) ? 'an array' : found === null ? 'null' : `a ${typeof found}`;
  return new ProjectionError(
    'InvalidWorkload',
    `${JSON.stringify(path.expression)}${at(where)} must be ${expected}, found ${kind}`,
  );
}

const at = (where: string): string => (where === '' ? '' : ` in ${where}`);
