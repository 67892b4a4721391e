// ClusterWorkloadResourceMapping handling: version selection (WM-7, RB-1, RB-2), validation of
// every expression (FJ-3), and the JSON the RI stashes on the workload so unprojection uses the
// projection's mapping (RB-3). The defaults (WM-9, WM-11, WM-13, WM-18, WM-20), the shipped
// CronJob mapping and the Fixed JSONPath grammar are apis/'s; this module applies them.

import type { MappingContainer, MappingTemplate } from '../apis/clusterworkloadresourcemapping.ts';
import { cronJobMapping, cronJobMappingName } from '../apis/default-mappings.ts';
import { defaultMappingTemplate } from '../apis/defaults.ts';
import type { DefaultedMappingTemplate } from '../apis/defaults.ts';
import { FixedJsonPathError } from '../apis/fixed-jsonpath.ts';
import { deepFreeze } from '../apis/freeze.ts';
import { ProjectionError } from './errors.ts';
import { isObject } from './json.ts';
import { JsonPathError } from './jsonpath/error.ts';
import { compileFixedJsonPath } from './jsonpath/fixed.ts';
import type { FixedJsonPath } from './jsonpath/fixed.ts';
import { parseJsonPath } from './jsonpath/full.ts';
import type { JsonPath } from './jsonpath/full.ts';
import type { DefaultedMappingSpec, MappingSpec } from './types.ts';

/**
 * The mapping of a PodSpec-able workload: an empty template, defaulted as the RI does (init
 * containers first: the spec's example lists containers first; the RI's order is what its stash
 * records).
 */
export const PODSPECABLE_MAPPING: DefaultedMappingSpec = deepFreeze({
  versions: [defaultMappingTemplate({ version: '*' })],
});

/** The name of the mapping for CronJobs (`<plural>.<group>`, WM-4). */
export const CRONJOB_MAPPING_NAME = cronJobMappingName;

/** The spec of the mapping the RI installs for `batch/v1` CronJobs, as it ships it (not defaulted). */
export const CRONJOB_MAPPING: MappingSpec = cronJobMapping.spec;

/** Defaults every version; no mapping at all (or no versions) means PodSpec-able (RB-2). */
export function defaultMappingSpec(spec: MappingSpec | undefined): DefaultedMappingSpec {
  const versions =
    spec?.versions !== undefined && spec.versions.length > 0 ? spec.versions : [{ version: '*' }];
  return { versions: versions.map(defaultMappingTemplate) };
}

/**
 * The template for a workload `version` (WM-7): the exact version, else `*`, else the
 * PodSpec-able defaults — a version without a mapping reverts to the default.
 */
export function selectMappingTemplate(
  spec: MappingSpec | undefined,
  version: string,
): DefaultedMappingTemplate {
  let exact: MappingTemplate | undefined;
  let wildcard: MappingTemplate = { version: '*' };
  for (const t of spec?.versions ?? []) {
    if (t.version === version) exact = t;
    else if (t.version === '*') wildcard = t;
  }
  return defaultMappingTemplate(exact ?? wildcard);
}

/** A template whose expressions are parsed, ready to evaluate. */
export interface CompiledMappingTemplate {
  template: DefaultedMappingTemplate;
  annotations: FixedJsonPath;
  volumes: FixedJsonPath;
  containers: CompiledMappingContainer[];
}

export interface CompiledMappingContainer {
  path: JsonPath;
  /** Where `path` came from, for messages: `spec.versions[0].containers[1].path`. */
  field: string;
  name: FixedJsonPath | undefined;
  env: FixedJsonPath;
  volumeMounts: FixedJsonPath;
}

/** Parses every expression of a defaulted template; `field` prefixes error locations. */
export function compileMappingTemplate(
  template: DefaultedMappingTemplate,
  field = 'spec.versions[0]',
): CompiledMappingTemplate {
  return {
    template,
    annotations: location(template.annotations, `${field}.annotations`),
    volumes: location(template.volumes, `${field}.volumes`),
    containers: template.containers.map((c, i) => {
      const at = `${field}.containers[${i}]`;
      return {
        path: wrap(() => parseJsonPath(c.path), `${at}.path`),
        field: `${at}.path`,
        name: c.name === undefined ? undefined : wrap(() => compileFixedJsonPath(c.name ?? ''), `${at}.name`),
        env: location(c.env, `${at}.env`),
        volumeMounts: location(c.volumeMounts, `${at}.volumeMounts`),
      };
    }),
  };
}

/**
 * Validates a mapping spec as the RI's webhook does, after defaulting: versions present,
 * non-empty and unique; every Fixed JSONPath fixed (FJ-3); every `path` a JSONPath.
 */
export function validateMappingSpec(spec: MappingSpec): void {
  const seen = new Map<string, number>();
  for (const [i, t] of (spec.versions ?? []).entries()) {
    if (t.version === '')
      throw new ProjectionError('InvalidMapping', 'is required', `spec.versions[${i}].version`);
    const prior = seen.get(t.version);
    if (prior !== undefined) {
      throw new ProjectionError(
        'InvalidMapping',
        `duplicate version ${JSON.stringify(t.version)}`,
        `spec.versions[${prior}, ${i}].version`,
      );
    }
    seen.set(t.version, i);
    compileMappingTemplate(defaultMappingTemplate(t), `spec.versions[${i}]`);
  }
}

/**
 * The stash the RI writes to `projector.servicebinding.io/mapping-<uid>`: the defaulted spec as
 * Go's encoding/json renders it — struct field order, `omitempty`, and `<`, `>`, `&`, U+2028,
 * U+2029 escaped — so both implementations read each other's stashes and write identical ones.
 */
export function stashMapping(spec: DefaultedMappingSpec): string {
  const versions = spec.versions.map((t) => ({
    version: t.version,
    ...omitEmpty('annotations', t.annotations),
    ...(t.containers.length > 0
      ? {
          containers: t.containers.map((c) => ({
            path: c.path,
            ...omitEmpty('name', c.name),
            ...omitEmpty('env', c.env),
            ...omitEmpty('volumeMounts', c.volumeMounts),
          })),
        }
      : {}),
    ...omitEmpty('volumes', t.volumes),
  }));
  return JSON.stringify(versions.length > 0 ? { versions } : {}).replace(
    /[<>&\u2028\u2029]/g,
    (c) => `\\u${(c.codePointAt(0) ?? 0).toString(16).padStart(4, '0')}`,
  );
}

/** Reads a stash back; `field` names the annotation in errors. */
export function parseMappingStash(text: string, field: string): MappingSpec {
  const fail = (why: string): never => {
    throw new ProjectionError(
      'InvalidMappingStash',
      `${why}; remove the annotation to unproject with the current mapping instead`,
      field,
    );
  };
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return fail('is not JSON');
  }
  if (!isObject(raw)) return fail('is not a JSON object');
  const versions = raw['versions'] ?? [];
  if (!Array.isArray(versions)) return fail('"versions" is not an array');
  const str = (o: Record<string, unknown>, k: string): string | undefined => {
    const v = o[k];
    if (v === undefined || v === null) return undefined;
    return typeof v === 'string' ? v : fail(`"${k}" is not a string`);
  };
  return {
    versions: (versions as unknown[]).map((t): MappingTemplate => {
      if (!isObject(t)) return fail('a version entry is not an object');
      const containers = t['containers'] ?? [];
      if (!Array.isArray(containers)) return fail('"containers" is not an array');
      return dropUndefined({
        version: str(t, 'version') ?? '',
        annotations: str(t, 'annotations'),
        volumes: str(t, 'volumes'),
        containers: (containers as unknown[]).map((c): MappingContainer => {
          if (!isObject(c)) return fail('a container entry is not an object');
          return dropUndefined({
            path: str(c, 'path') ?? '',
            name: str(c, 'name'),
            env: str(c, 'env'),
            volumeMounts: str(c, 'volumeMounts'),
          });
        }),
      });
    }),
  };
}

function location(expression: string, field: string): FixedJsonPath {
  const path = wrap(() => compileFixedJsonPath(expression), field);
  if (path.fields.length === 0) {
    throw new ProjectionError('InvalidMapping', `${JSON.stringify(expression)} must name a field`, field);
  }
  return path;
}

function wrap<T>(parse: () => T, field: string): T {
  try {
    return parse();
  } catch (err) {
    if (err instanceof JsonPathError) throw new ProjectionError('InvalidMapping', err.message, field);
    if (err instanceof FixedJsonPathError) {
      const message = `invalid Fixed JSONPath ${JSON.stringify(err.expression)} ${err.message}`;
      throw new ProjectionError('InvalidMapping', message, field);
    }
    throw err;
  }
}

function omitEmpty<K extends string>(key: K, value: string | undefined): Partial<Record<K, string>> {
  return value === undefined || value === '' ? {} : ({ [key]: value } as Record<K, string>);
}

type DropUndefined<T> = { [K in keyof T as undefined extends T[K] ? never : K]: T[K] } & {
  [K in keyof T as undefined extends T[K] ? K : never]?: Exclude<T[K], undefined>;
};

function dropUndefined<T extends object>(obj: T): DropUndefined<T> {
  return Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== undefined)) as DropUndefined<T>;
}
