// What a validating webhook for ClusterWorkloadResourceMapping checks beyond the CRD schema. A
// mapping has no immutable fields (RB-4 re-projects bindings when it changes), so there is no
// `old` to compare with.
import { isObject } from '@bindery/kube';
import { child, duplicate, index, invalid, type FieldError } from './field-errors.ts';
import { parseFixedJsonPath } from './fixed-jsonpath.ts';
import { parseJsonPath } from './jsonpath.ts';
import { FieldReader, typeName, type JsonObject } from './read-fields.ts';
import { dns1035LabelProblems, dns1123SubdomainProblems } from './validation.ts';

/** Returns [] when valid. */
export function validateClusterWorkloadResourceMapping(obj: unknown): FieldError[] {
  if (!isObject(obj))
    return [
      invalid('<object>', obj, `expected a ClusterWorkloadResourceMapping object, got ${typeName(obj)}`),
    ];
  const r = new FieldReader();
  const metadata = r.object(obj, '', 'metadata') ?? {};
  const name = r.string(metadata, 'metadata', 'name');
  if (name !== undefined) r.check('metadata.name', name, mappingNameProblems(name));

  const spec = r.object(
    obj,
    '',
    'spec',
    'expected spec.versions: the mappings, one per version of the resource',
  );
  if (spec === undefined) return r.errors;
  // WM-5: versions must be there; WM-6: each names a version.
  const versions =
    r.array(
      spec,
      'spec',
      'versions',
      'expected a mapping per version of the resource, e.g. [{version: "*"}]',
    ) ?? [];
  const seen = new Map<string, number>();
  versions.forEach((t, i) => {
    const path = index('spec.versions', i);
    if (!isObject(t)) {
      r.errors.push(invalid(path, t, `expected an object with a version, got ${typeName(t)}`));
      return;
    }
    const version = r.string(
      t,
      path,
      'version',
      'expected a version of the resource, e.g. v1, or * for any other',
    );
    if (version !== undefined) {
      const field = child(path, 'version');
      // WM-7: `*` is the wildcard; anything else is a Kubernetes version name.
      if (version !== '*')
        r.check(
          field,
          version,
          dns1035LabelProblems(version).length > 0 ? ['expected * or a version such as v1'] : [],
        );
      const first = seen.get(version);
      if (first !== undefined)
        r.errors.push(
          duplicate(field, version, `also mapped by spec.versions[${first}]; expected each version once`),
        );
      else seen.set(version, i);
    }
    // FJ-3: the template's locations are Fixed JSONPaths.
    fixed(r, t, path, 'annotations');
    fixed(r, t, path, 'volumes');
    const containers = r.array(t, path, 'containers') ?? [];
    containers.forEach((c, j) => {
      const cPath = index(child(path, 'containers'), j);
      if (!isObject(c)) {
        r.errors.push(invalid(cPath, c, `expected an object with a path, got ${typeName(c)}`));
        return;
      }
      // WM-14: a JSONPath to the container-like objects; the full grammar is the projector's.
      const p = r.string(
        c,
        cPath,
        'path',
        'expected a JSONPath to container-like objects, e.g. .spec.template.spec.containers[*]',
      );
      if (p !== undefined && !/^[.$@[]/.test(p))
        r.errors.push(
          invalid(
            child(cPath, 'path'),
            p,
            "expected a JSONPath starting with '.', e.g. .spec.template.spec.containers[*]",
          ),
        );
      else if (p !== undefined) jsonPath(r, p, child(cPath, 'path'));
      fixed(r, c, cPath, 'name');
      fixed(r, c, cPath, 'env');
      fixed(r, c, cPath, 'volumeMounts');
    });
  });
  return r.errors;
}

const mustNameAField = 'expected at least one field, e.g. .spec.template.spec.volumes';

/**
 * FJ-3, and a location: `.` (or `$`) parses as the object itself, which the projector cannot
 * write annotations, volumes, env or mounts to, nor read a name from.
 */
function fixed(r: FieldReader, parent: JsonObject, path: string, name: string): void {
  const expr = r.string(parent, path, name);
  if (expr === undefined) return;
  try {
    if (parseFixedJsonPath(expr).length === 0)
      r.errors.push(invalid(child(path, name), expr, `names the object itself; ${mustNameAField}`));
  } catch (err) {
    r.errors.push(invalid(child(path, name), expr, `not a Fixed JSONPath: ${(err as Error).message}`));
  }
}

/** WM-14: the grammar (and the bounds) the projector evaluates `path` with. */
function jsonPath(r: FieldReader, expr: string, field: string): void {
  try {
    parseJsonPath(expr);
  } catch (err) {
    const reason = (err as { reason?: string }).reason ?? (err as Error).message;
    const offset = (err as { offset?: number }).offset ?? 0;
    // The value is shown once (bounded), so a 1 KiB path does not make a 2 KiB message.
    r.errors.push(
      invalid(
        field,
        expr.length > 128 ? `${expr.slice(0, 128)}…` : expr,
        `not a JSONPath: at offset ${offset}: ${reason}`,
      ),
    );
  }
}

/** WM-4: `<plural>.<group>` of the mapped resource. */
function mappingNameProblems(name: string): string[] {
  const dot = name.indexOf('.');
  const plural = dot < 0 ? name : name.slice(0, dot);
  const group = dot < 0 ? '' : name.slice(dot + 1);
  return dot < 0 || dns1035LabelProblems(plural).length > 0 || dns1123SubdomainProblems(group).length > 0
    ? ['expected <plural>.<group> of the mapped resource, e.g. cronjobs.batch (core kinds cannot be mapped)']
    : [];
}
