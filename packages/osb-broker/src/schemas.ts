// Plan parameter schemas, validated before a handler runs. OSB asks platforms and brokers to support at
// least JSON Schema draft-04; the `$schema` of each schema picks the draft (04, 06, 07, 2019-09,
// 2020-12; none means 07). Compiled validators are kept per schema object, so a catalog that is built
// once compiles once, and a catalog rebuilt per request does not grow the cache (it is a WeakMap).

import { Ajv } from 'ajv';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { ErrorObject, ValidateFunction } from 'ajv';
import AjvDraft04Module from 'ajv-draft-04';
import draft06 from 'ajv/dist/refs/json-schema-draft-06.json' with { type: 'json' };
import type { JsonSchema } from './catalog.ts';

type Draft = '04' | '06' | '07' | '2019-09' | '2020-12';

// ajv-draft-04 is CommonJS with only a default export; under NodeNext its type is the module object.
const AjvDraft04 = ((AjvDraft04Module as unknown as { default?: unknown }).default ??
  AjvDraft04Module) as unknown as typeof Ajv;

const options = {
  allErrors: true,
  // Catalog schemas may carry keywords of other drafts or vendors: ignore them rather than fail.
  strict: false,
  // No format vocabulary is installed: `format` is an annotation here.
  validateFormats: false,
} as const;

const engines = new Map<Draft, Ajv>();

function engine(draft: Draft): Ajv {
  let ajv = engines.get(draft);
  if (!ajv) {
    if (draft === '04') ajv = new AjvDraft04(options);
    else if (draft === '2019-09') ajv = new Ajv2019(options);
    else if (draft === '2020-12') ajv = new Ajv2020(options);
    else {
      ajv = new Ajv(options);
      if (draft === '06') ajv.addMetaSchema(draft06);
    }
    engines.set(draft, ajv);
  }
  return ajv;
}

/** The draft a schema's `$schema` names. */
export function schemaDraft(schema: JsonSchema): Draft {
  const uri = schema['$schema'];
  if (uri === undefined) return '07';
  if (typeof uri !== 'string') throw new Error('$schema is not a string');
  if (uri.includes('draft-04')) return '04';
  if (uri.includes('draft-06')) return '06';
  if (uri.includes('draft-07')) return '07';
  if (uri.includes('2019-09')) return '2019-09';
  if (uri.includes('2020-12')) return '2020-12';
  throw new Error(`$schema ${JSON.stringify(uri)} is not a JSON Schema draft this broker supports`);
}

const compiled = new WeakMap<JsonSchema, ValidateFunction>();

/** Compiles (once per schema object) and returns the validator; throws if the schema is invalid. */
export function compileSchema(schema: JsonSchema): ValidateFunction {
  let validate = compiled.get(schema);
  if (!validate) {
    const ajv = engine(schemaDraft(schema));
    // Drop `$id` so that two catalogs with the same `$id` do not collide in ajv's registry.
    const { $id: _id, id: _legacyId, ...rest } = schema;
    validate = ajv.compile(rest);
    compiled.set(schema, validate);
  }
  return validate;
}

/**
 * Problems with `parameters` against `schema`, one line each (`parameters/size must be <= 10`), or an
 * empty list. The messages name paths and schema constraints, never the values sent.
 */
export function validateParameters(schema: JsonSchema, parameters: unknown): string[] {
  const validate = compileSchema(schema);
  if (validate(parameters ?? {})) return [];
  return (validate.errors ?? []).slice(0, 20).map(describeError);
}

function describeError(error: ErrorObject): string {
  const path = `parameters${error.instancePath}`;
  if (error.keyword === 'additionalProperties') {
    const extra = (error.params as { additionalProperty?: string }).additionalProperty;
    return `${path} must not have property ${JSON.stringify(extra)}`;
  }
  return `${path} ${error.message ?? `fails ${error.keyword}`}`;
}
