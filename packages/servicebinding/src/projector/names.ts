// The RI's names for everything it writes into a workload. Using the same strings is what lets
// a cluster move between the RI and Bindery without a single workload changing.

import { bindingName } from '../apis/defaults.ts';
import { bindingNameProblems, dns1123SubdomainProblems } from '../apis/validation.ts';
import { ProjectionError } from './errors.ts';
import type { ServiceBindingLike } from './types.ts';

export const SERVICE_BINDING_ROOT = 'SERVICE_BINDING_ROOT';
/** RI-6: the RECOMMENDED root, set where a container has none. */
export const DEFAULT_SERVICE_BINDING_ROOT = '/bindings';
export const PROJECTOR_GROUP = 'projector.servicebinding.io';
export const VOLUME_PREFIX = 'servicebinding-';
export const SECRET_ANNOTATION_PREFIX = `${PROJECTOR_GROUP}/secret-`;
export const TYPE_ANNOTATION_PREFIX = `${PROJECTOR_GROUP}/type-`;
export const PROVIDER_ANNOTATION_PREFIX = `${PROJECTOR_GROUP}/provider-`;
export const MAPPING_ANNOTATION_PREFIX = `${PROJECTOR_GROUP}/mapping-`;
/** 0644: files readable by the workload whatever its user. */
export const VOLUME_DEFAULT_MODE = 0o644;

export const volumeName = (uid: string): string => `${VOLUME_PREFIX}${uid}`;
export const secretAnnotation = (uid: string): string => `${SECRET_ANNOTATION_PREFIX}${uid}`;
export const typeAnnotation = (uid: string): string => `${TYPE_ANNOTATION_PREFIX}${uid}`;
export const providerAnnotation = (uid: string): string => `${PROVIDER_ANNOTATION_PREFIX}${uid}`;
export const mappingAnnotation = (uid: string): string => `${MAPPING_ANNOTATION_PREFIX}${uid}`;
/** A downward-API field path reading a pod annotation. */
export const annotationFieldPath = (key: string): string => `metadata.annotations['${key}']`;

/** The binding's uid, which names every projected artifact. */
export function bindingUid(binding: ServiceBindingLike): string {
  const uid = binding.metadata.uid;
  if (typeof uid !== 'string' || uid === '') {
    throw new ProjectionError('InvalidBinding', 'is required to name the projected volume', 'metadata.uid');
  }
  return uid;
}

/**
 * apis' `bindingName` (RI-2, RI-3: `spec.name`, else `metadata.name`), checked: it becomes the
 * directory under `$SERVICE_BINDING_ROOT`, so WP-2 anchored and never `.` or `..`, which would
 * mount the Secret outside the root (ERR-6). The error names the field the name came from.
 */
export function checkedBindingName(binding: ServiceBindingLike): string {
  const name = bindingName(binding);
  validateBindingName(name, binding.spec?.name ? 'spec.name' : 'metadata.name');
  return name;
}

/** Throws `InvalidBindingName` with apis' `bindingNameProblems` (the webhook's rule). */
export function validateBindingName(name: string, field = 'spec.name'): void {
  const problems = bindingNameProblems(name);
  if (problems.length > 0) {
    throw new ProjectionError('InvalidBindingName', `${JSON.stringify(name)} ${problems.join('; ')}`, field);
  }
}

/** A Secret name is a DNS subdomain: what the API server accepts as one (apis' rule). */
export function validateSecretName(name: string): void {
  const problems = dns1123SubdomainProblems(name);
  if (problems.length > 0) {
    throw new ProjectionError(
      'InvalidSecretName',
      `${JSON.stringify(name)} is not a valid Secret name: ${problems.join('; ')}`,
      'status.binding.name',
    );
  }
}
