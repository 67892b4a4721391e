// Reading and writing the one location a Fixed JSONPath names (spec §"Fixed JSONPath"). The
// grammar and its parser are apis/'s (`parseFixedJsonPath`, which the webhook validates with);
// here a parsed path keeps its expression for messages.

import { parseFixedJsonPath } from '../../apis/fixed-jsonpath.ts';
import { getOwn, isObject, putKey } from '../json.ts';
import type { JsonObject } from '../types.ts';

export interface FixedJsonPath {
  readonly expression: string;
  /** The keys from the root; empty for the object itself (`""`, `.`, `$`). */
  readonly fields: readonly string[];
}

/** Parses `expression`; throws apis' `FixedJsonPathError` when it is not a Fixed JSONPath (FJ-3). */
export function compileFixedJsonPath(expression: string): FixedJsonPath {
  return { expression, fields: parseFixedJsonPath(expression) };
}

/**
 * Thrown when a location cannot be read or written because something on the way is not an
 * object; `at` is the prefix of the path that holds the offending value.
 */
export class JsonPathTypeError extends Error {
  readonly at: string;

  constructor(path: FixedJsonPath, depth: number, found: unknown) {
    const at = renderFields(path.fields.slice(0, depth));
    super(`${at === '' ? 'the object' : JSON.stringify(at)} is ${describe(found)}, not an object`);
    this.name = 'JsonPathTypeError';
    this.at = at;
  }
}

/** The value at `path`, or undefined when any step is missing or null. */
export function getFixed(root: JsonObject, path: FixedJsonPath): unknown {
  let current: unknown = root;
  for (const [depth, field] of path.fields.entries()) {
    if (current === undefined || current === null) return undefined;
    if (!isObject(current)) throw new JsonPathTypeError(path, depth, current);
    current = getOwn(current, field);
  }
  return current === null ? undefined : current;
}

/**
 * The value at `path`, created with `make()` if missing or null, along with every missing
 * intermediate object (spec RB-7: create empty values at Fixed JSONPath locations).
 */
export function ensureFixed(root: JsonObject, path: FixedJsonPath, make: () => unknown): unknown {
  const last = path.fields.at(-1);
  if (last === undefined) return root;
  let current: JsonObject = root;
  for (const [depth, field] of path.fields.slice(0, -1).entries()) {
    let next = getOwn(current, field);
    if (next === undefined || next === null) {
      next = {};
      putKey(current, field, next);
    }
    if (!isObject(next)) throw new JsonPathTypeError(path, depth + 1, next);
    current = next;
  }
  const existing = getOwn(current, last);
  if (existing !== undefined && existing !== null) return existing;
  const made = make();
  putKey(current, last, made);
  return made;
}

/** The canonical spelling of a field list: `.a.b`, with `['…']` where a key needs it. */
export function renderFields(fields: readonly string[]): string {
  return fields.map((f) => (/^[A-Za-z0-9_-]+$/.test(f) ? `.${f}` : `['${f}']`)).join('');
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return 'an array';
  if (value === null) return 'null';
  return `a ${typeof value}`;
}
