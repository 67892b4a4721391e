// Fixed JSONPath (spec §"Fixed JSONPath"): fields separated by the child operator and nothing
// else — `.a.b`, `['a'].b`, optionally after `$` or `@` (the kubectl parser drops those). It
// addresses exactly one location, which is what lets the projector create it when missing.

import { getOwn, isObject, putKey } from '../json.ts';
import type { JsonObject } from '../types.ts';
import { JsonPathError } from './error.ts';

export interface FixedJsonPath {
  readonly expression: string;
  /** The keys from the root; empty for the object itself (`""`, `.`, `$`). */
  readonly fields: readonly string[];
}

// Characters that end an unquoted field in the kubectl dialect.
const FIELD_END = new Set([' ', '\t', '\r', '\n', '.', ',', '[', ']', '$', '@', '{', '}']);

export function parseFixedJsonPath(expression: string): FixedJsonPath {
  const fail = (offset: number, reason: string): never => {
    throw new JsonPathError(
      expression,
      offset,
      `${reason} (a Fixed JSONPath only allows ".field" and "['field']")`,
    );
  };
  let i = expression.startsWith('$') || expression.startsWith('@') ? 1 : 0;
  if (expression.slice(i) === '.') return { expression, fields: [] };
  const fields: string[] = [];
  while (i < expression.length) {
    const c = expression[i];
    if (c === '.') {
      i++;
      if (expression[i] === '.') fail(i - 1, 'recursive descent ".." is not allowed');
      let field = '';
      let escaped = false;
      while (i < expression.length && !FIELD_END.has(expression[i] ?? '')) {
        if (expression[i] === '\\') {
          if (i + 1 >= expression.length) fail(i, 'dangling "\\"');
          escaped = true;
          field += expression[i + 1] ?? '';
          i += 2;
        } else {
          field += expression[i] ?? '';
          i++;
        }
      }
      if (field === '') fail(i, 'expected a field name after "."');
      if (field === '*' && !escaped) fail(i - 1, 'wildcard "*" is not allowed');
      fields.push(field);
    } else if (c === '[') {
      const next = expression[i + 1];
      if (next !== "'") {
        const inner = expression.slice(i, expression.indexOf(']', i) + 1 || undefined);
        const what =
          next === '*'
            ? 'wildcard'
            : next === '?'
              ? 'filter'
              : next === '"'
                ? 'double-quoted key (use single quotes)'
                : /^\[-?\d/.test(inner) || next === ':'
                  ? 'array index or slice'
                  : 'bracket expression';
        fail(i, `${what} ${JSON.stringify(inner)} is not allowed`);
      }
      const close = expression.indexOf("'", i + 2);
      if (close < 0) fail(i, 'unterminated quoted key');
      if (expression[close + 1] !== ']') fail(close + 1, `expected "]" after the quoted key`);
      const key = expression.slice(i + 2, close);
      if (key === '') fail(i, 'empty key');
      fields.push(key);
      i = close + 2;
    } else {
      fail(
        i,
        i === 0 ? `must start with "." or "[", got ${JSON.stringify(c)}` : `unexpected ${JSON.stringify(c)}`,
      );
    }
  }
  return { expression, fields };
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
