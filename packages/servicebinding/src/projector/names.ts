// The RI's names for everything it writes into a workload. Using the same strings is what lets
// a cluster move between the RI and Bindery without a single workload changing.

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

const BINDING_NAME = /^[a-z0-9.-]{1,253}$/;
// DNS subdomain: what the API server accepts as a Secret name.
const SECRET_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** The binding's uid, which names every projected artifact. */
export function bindingUid(binding: ServiceBindingLike): string {
  const uid = binding.metadata.uid;
  if (typeof uid !== 'string' || uid === '') {
    throw new ProjectionError('InvalidBinding', 'is required to name the projected volume', 'metadata.uid');
  }
  return uid;
}

/**
 * The directory name under `$SERVICE_BINDING_ROOT` (RI-2, RI-3): `spec.name`, else
 * `metadata.name`. Checked against WP-2 anchored, and `.`/`..` refused: the name becomes a path,
 * and `..` would mount the Secret outside the root (ERR-6).
 */
export function bindingName(binding: ServiceBindingLike): string {
  const specName = binding.spec?.name;
  const [name, field] =
    specName !== undefined && specName !== ''
      ? [specName, 'spec.name']
      : [binding.metadata.name ?? '', 'metadata.name'];
  validateBindingName(name, field);
  return name;
}

export function validateBindingName(name: string, field = 'spec.name'): void {
  if (!BINDING_NAME.test(name)) {
    throw new ProjectionError(
      'InvalidBindingName',
      `${JSON.stringify(name)} must consist of lower case alphanumeric characters, '-' or '.', and must be no more than 253 characters`,
      field,
    );
  }
  if (name === '.' || name === '..') {
    throw new ProjectionError('InvalidBindingName', 'must not be "." or ".."', field);
  }
}

export function validateSecretName(name: string): void {
  if (name.length > 253 || !SECRET_NAME.test(name)) {
    throw new ProjectionError(
      'InvalidSecretName',
      `${JSON.stringify(name)} is not a valid Secret name (a DNS subdomain: lower case alphanumerics, '-' and '.', at most 253 characters)`,
      'status.binding.name',
    );
  }
}
