// Typed reads of untrusted JSON for the validators: each returns the field when it has the
// expected type, and otherwise records why not and returns undefined, so a validator keeps going
// and reports every problem at once.
import { isObject } from '@bindery/kube';
import { child, invalid, required, type FieldError } from './field-errors.ts';

export type JsonObject = Record<string, unknown>;

export class FieldReader {
  readonly errors: FieldError[] = [];

  /** A string; `''` counts as absent (Go `omitempty`). */
  string(parent: JsonObject, path: string, name: string, need?: string): string | undefined {
    const value = parent[name];
    const field = child(path, name);
    if (value === undefined || value === null || value === '') {
      if (need !== undefined) this.errors.push(required(field, need));
      return undefined;
    }
    if (typeof value !== 'string') {
      this.errors.push(invalid(field, value, `expected a string, got ${typeName(value)}`));
      return undefined;
    }
    return value;
  }

  object(parent: JsonObject, path: string, name: string, need?: string): JsonObject | undefined {
    const value = parent[name];
    const field = child(path, name);
    if (value === undefined || value === null) {
      if (need !== undefined) this.errors.push(required(field, need));
      return undefined;
    }
    if (!isObject(value) || Array.isArray(value)) {
      this.errors.push(invalid(field, value, `expected an object, got ${typeName(value)}`));
      return undefined;
    }
    return value;
  }

  array(parent: JsonObject, path: string, name: string, need?: string): unknown[] | undefined {
    const value = parent[name];
    const field = child(path, name);
    if (value === undefined || value === null) {
      if (need !== undefined) this.errors.push(required(field, need));
      return undefined;
    }
    if (!Array.isArray(value)) {
      this.errors.push(invalid(field, value, `expected a list, got ${typeName(value)}`));
      return undefined;
    }
    return value as unknown[];
  }

  /** Records `problems` (from validation.ts) as one Invalid error each. */
  check(field: string, value: string, problems: readonly string[]): void {
    for (const problem of problems) this.errors.push(invalid(field, value, problem));
  }
}

export function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'an object';
  return `a ${typeof value}`;
}

/** The object at a path of plain property names, if every step is an object. */
export function at(root: unknown, ...names: string[]): unknown {
  let value = root;
  for (const name of names) {
    if (!isObject(value)) return undefined;
    value = value[name];
  }
  return value;
}
