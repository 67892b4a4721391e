// What a validating webhook for ServiceBinding checks beyond the CRD schema (which, to stay
// portable, is exactly the exemplar's). Pure, so the webhook, the reconciler and tests share it.
import { isObject } from '@bindery/kube';
import {
  child,
  duplicate,
  forbidden,
  index,
  invalid,
  ratchet,
  required,
  type FieldError,
} from './field-errors.ts';
import { at, FieldReader, typeName, type JsonObject } from './read-fields.ts';
import { validateLabelSelector } from './validate-label-selector.ts';
import {
  apiVersionProblems,
  bindingNameProblems,
  envVarNameProblems,
  pathSegmentNameProblems,
  secretKeyProblems,
} from './validation.ts';

/** Set by the runtime on every bound container; a binding may not map a Secret entry onto it. */
export const serviceBindingRootEnv = 'SERVICE_BINDING_ROOT';

/**
 * Validates a ServiceBinding; on update pass the stored object as `old`. An update is not
 * rejected for a problem `old` already had (ratcheting), so a binding stored before a rule
 * existed can still be edited and have its finalizer removed. Returns [] when valid.
 */
export function validateServiceBinding(obj: unknown, old?: unknown): FieldError[] {
  const errors = validateObject(obj);
  if (old === undefined) return errors;
  return [...immutability(obj, old), ...ratchet(errors, validateObject(old))];
}

function validateObject(obj: unknown): FieldError[] {
  if (!isObject(obj))
    return [invalid('<object>', obj, `expected a ServiceBinding object, got ${typeName(obj)}`)];
  const r = new FieldReader();
  const metadata = r.object(obj, '', 'metadata') ?? {};
  const spec = r.object(obj, '', 'spec', 'expected the service to bind and the workload to bind it to');
  if (spec === undefined) return r.errors;

  // WP-2: the binding name is a directory name; check the one in effect, defaulted or not.
  const name = r.string(spec, 'spec', 'name');
  const metadataName = r.string(metadata, 'metadata', 'name');
  if (name !== undefined) r.check('spec.name', name, bindingNameProblems(name));
  else if (metadataName !== undefined)
    r.check(
      'metadata.name',
      metadataName,
      bindingNameProblems(metadataName).map(
        (p) => `used as the binding name when spec.name is not set: ${p}`,
      ),
    );
  else r.errors.push(required('spec.name', 'expected spec.name or metadata.name: the binding name'));
  r.string(spec, 'spec', 'type');
  r.string(spec, 'spec', 'provider');

  validateService(r, spec);
  validateWorkload(r, spec);
  validateEnv(r, spec);
  return r.errors;
}

function validateService(r: FieldReader, spec: JsonObject): void {
  const path = 'spec.service';
  const service = r.object(
    spec,
    'spec',
    'service',
    'expected a reference to a Provisioned Service (apiVersion, kind, name), or to a Secret (apiVersion v1, kind Secret)',
  );
  if (service === undefined) return;
  const apiVersion = r.string(
    service,
    path,
    'apiVersion',
    'expected the API version of the service, e.g. v1',
  );
  if (apiVersion !== undefined)
    r.check(child(path, 'apiVersion'), apiVersion, apiVersionProblems(apiVersion));
  r.string(service, path, 'kind', 'expected the kind of the service, e.g. Secret');
  const name = r.string(service, path, 'name', 'expected the name of the service');
  if (name !== undefined) r.check(child(path, 'name'), name, pathSegmentNameProblems(name));
}

function validateWorkload(r: FieldReader, spec: JsonObject): void {
  const path = 'spec.workload';
  const workload = r.object(
    spec,
    'spec',
    'workload',
    'expected a reference to the workload: apiVersion, kind, and a name or a selector',
  );
  if (workload === undefined) return;
  const apiVersion = r.string(
    workload,
    path,
    'apiVersion',
    'expected the API version of the workload, e.g. apps/v1',
  );
  if (apiVersion !== undefined)
    r.check(child(path, 'apiVersion'), apiVersion, apiVersionProblems(apiVersion));
  r.string(workload, path, 'kind', 'expected the kind of the workload, e.g. Deployment');

  // SB-5, SB-6: by name or by selector, never both.
  const name = r.string(workload, path, 'name');
  if (name !== undefined) r.check(child(path, 'name'), name, pathSegmentNameProblems(name));
  const selector = r.object(workload, path, 'selector');
  const oneOf = child(path, '[name, selector]');
  const given = (v: unknown): boolean => v !== undefined && v !== null && v !== '';
  const hasName = given(workload['name']);
  const hasSelector = given(workload['selector']);
  if (!hasName && !hasSelector)
    r.errors.push(required(oneOf, 'expected exactly one of name and selector, got neither'));
  if (hasName && hasSelector)
    r.errors.push(invalid(oneOf, undefined, 'expected exactly one of name and selector, got both'));
  if (selector !== undefined) validateLabelSelector(r, selector, child(path, 'selector'));

  // SB-10: a list of strings.
  const containers = r.array(workload, path, 'containers') ?? [];
  containers.forEach((c, i) => {
    if (typeof c !== 'string')
      r.errors.push(
        invalid(index(child(path, 'containers'), i), c, `expected a container name, got ${typeName(c)}`),
      );
  });
}

function validateEnv(r: FieldReader, spec: JsonObject): void {
  const env = r.array(spec, 'spec', 'env') ?? [];
  const seen = new Map<string, number>();
  env.forEach((e, i) => {
    const path = index('spec.env', i);
    if (!isObject(e)) {
      r.errors.push(invalid(path, e, `expected an object with name and key, got ${typeName(e)}`));
      return;
    }
    // SB-15: both name and key.
    const name = r.string(e, path, 'name', 'expected the name of the environment variable to set');
    if (name !== undefined) {
      const field = child(path, 'name');
      r.check(field, name, envVarNameProblems(name));
      const first = seen.get(name);
      if (name === serviceBindingRootEnv)
        r.errors.push(
          forbidden(
            field,
            `${serviceBindingRootEnv} is set by the runtime to locate bindings; expected another name`,
          ),
        );
      else if (first !== undefined)
        r.errors.push(
          duplicate(field, name, `also set by spec.env[${first}]; expected each environment variable once`),
        );
      else seen.set(name, i);
    }
    // SB-16: a key a Secret can have.
    const key = r.string(e, path, 'key', 'expected the key of an entry of the binding Secret');
    if (key !== undefined) r.check(child(path, 'key'), key, secretKeyProblems(key));
  });
}

/** Fields that choose what a binding touches; changing them would strand earlier projections. */
const immutableFields: ReadonlyArray<readonly [string, string, string]> = [
  ['workload', 'apiVersion', 'Workload apiVersion'],
  ['workload', 'kind', 'Workload kind'],
  ['service', 'apiVersion', 'Service apiVersion'],
  ['service', 'kind', 'Service kind'],
  ['service', 'name', 'Service name'],
];

function immutability(obj: unknown, old: unknown): FieldError[] {
  const errors: FieldError[] = [];
  for (const [ref, field, what] of immutableFields) {
    const before = at(old, 'spec', ref, field);
    const after = at(obj, 'spec', ref, field);
    if (typeof before === 'string' && before !== '' && after !== before)
      errors.push(
        forbidden(
          `spec.${ref}.${field}`,
          `${what} is immutable: expected ${JSON.stringify(before)}. Delete and recreate the ServiceBinding to change it.`,
        ),
      );
  }
  return errors;
}
