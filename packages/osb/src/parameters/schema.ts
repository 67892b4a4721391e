// Parameters checked against a plan's JSON schema before the broker is called. OSB requires
// platforms to support draft-04 at least; a schema that names draft-06/07 is checked with ajv's
// default dialect. Compiled validators are kept in a bounded cache keyed by the schema's hash, since
// schemas come from brokers' catalogs.

import { createHash } from 'node:crypto';
import { Ajv } from 'ajv';
import type { ValidateFunction } from 'ajv';
import ajvDraft04 from 'ajv-draft-04';

// A CommonJS module: its default export is the module object, whose `default` is the class.
const AjvDraft04 = ajvDraft04.default;

export interface SchemaCheck {
  valid: boolean;
  /** `<path> <message>` per violation (schema paths and keywords only, never a parameter's value). */
  errors: string[];
  /** The schema itself could not be compiled. */
  invalidSchema?: boolean;
}

const maxCached = 256;
const cache = new Map<string, ValidateFunction | Error>();

const draft04 = new AjvDraft04({ allErrors: true, strict: false, validateFormats: false });
const modern = new Ajv({ allErrors: true, strict: false, validateFormats: false });

/** Checks `parameters` against `schema` (a plan's `parameters` schema); an absent schema accepts all. */
export function checkParameters(schema: unknown, parameters: Record<string, unknown>): SchemaCheck {
  if (schema === undefined || schema === null) return { valid: true, errors: [] };
  const validate = compiled(schema);
  if (validate instanceof Error) return { valid: false, errors: [validate.message], invalidSchema: true };
  if (validate(parameters)) return { valid: true, errors: [] };
  const errors = (validate.errors ?? []).slice(0, 10).map((e) => {
    const where = e.instancePath === '' ? 'parameters' : `parameters${e.instancePath.replaceAll('/', '.')}`;
    return `${where} ${e.message ?? 'is invalid'}`;
  });
  return { valid: false, errors };
}

function compiled(schema: unknown): ValidateFunction | Error {
  const text = JSON.stringify(schema);
  const key = createHash('sha256').update(text).digest('hex');
  const hit = cache.get(key);
  if (hit !== undefined) {
    cache.delete(key);
    cache.set(key, hit);
    return hit;
  }
  let result: ValidateFunction | Error;
  try {
    if (typeof schema !== 'object' || Array.isArray(schema)) throw new Error('the schema is not an object');
    const dialect = (schema as Record<string, unknown>)['$schema'];
    const ajv = typeof dialect === 'string' && !dialect.includes('draft-04') ? modern : draft04;
    // Without its id, and removed from ajv's own cache once compiled, so schemas never accumulate there.
    const copy: Record<string, unknown> = { ...(schema as Record<string, unknown>) };
    delete copy['$id'];
    delete copy['id'];
    try {
      result = ajv.compile(copy);
    } finally {
      ajv.removeSchema(copy);
    }
  } catch (err) {
    result = new Error(`the plan's parameter schema is not a valid JSON schema: ${(err as Error).message}`);
  }
  cache.set(key, result);
  if (cache.size > maxCached) cache.delete(cache.keys().next().value as string);
  return result;
}
