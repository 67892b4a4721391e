// SERVICE_BINDING_ROOT for one bound container (RI-4, RI-5, RI-7, AMB-6).

import { posix } from 'node:path';
import { ProjectionError } from './errors.ts';
import { getOwn, isObject } from './json.ts';
import { DEFAULT_SERVICE_BINDING_ROOT, SERVICE_BINDING_ROOT } from './names.ts';

/**
 * The container's root. A literal absolute `value` is used as is and never changed (RI-7).
 * Without an entry, `SERVICE_BINDING_ROOT=/bindings` is appended to `env` (RI-5, RI-6) —
 * also when the container has `envFrom`: a literal entry wins over `envFrom` in Kubernetes, so
 * the process sees the root the Secret is mounted under. An entry the projector cannot resolve
 * (`valueFrom`, empty, relative, or several that disagree) is an error rather than a relative
 * mount path.
 */
export function serviceBindingRoot(env: unknown[], where: string): string {
  const entries = env.filter((e) => isObject(e) && getOwn(e, 'name') === SERVICE_BINDING_ROOT);
  if (entries.length === 0) {
    env.push({ name: SERVICE_BINDING_ROOT, value: DEFAULT_SERVICE_BINDING_ROOT });
    return DEFAULT_SERVICE_BINDING_ROOT;
  }
  const fail = (why: string): never => {
    throw new ProjectionError('UnsupportedServiceBindingRoot', `${where}: ${SERVICE_BINDING_ROOT} ${why}`);
  };
  const values = entries.map((e) => {
    if (isObject(e) && getOwn(e, 'valueFrom') !== undefined) {
      fail(
        'is set with valueFrom; the projector cannot know the directory to mount under, so set a literal absolute value',
      );
    }
    const value = isObject(e) ? getOwn(e, 'value') : undefined;
    return typeof value === 'string' ? value : '';
  });
  const root = values[0] ?? '';
  if (values.some((v) => v !== root)) fail(`is set ${values.length} times with different values`);
  if (root === '') fail('is empty; set an absolute path or remove it to use /bindings');
  if (!root.startsWith('/')) fail(`must be an absolute path, got ${JSON.stringify(root)}`);
  return root;
}

/** `path.Join(root, name)`, as the RI computes mount paths. */
export function mountPath(root: string, name: string): string {
  return posix.join(root, name);
}

/** A mount path in comparable form: normalized, without a trailing slash. */
export function normalizeMountPath(path: string): string {
  const p = posix.normalize(path);
  return p.length > 1 && p.endsWith('/') ? p.slice(0, -1) : p;
}
