// Validating webhooks for the API: ServiceBinding and ClusterWorkloadResourceMapping, with apis'
// validation. Every message names the field. Ratcheting: on UPDATE only problems the stored
// object did not already have are refused, and DELETE, subresources (status, finalizers) and
// updates of an object being deleted are always allowed — so a binding stored before a rule
// existed can still be deleted (finalizer removal is an UPDATE) and have its status written.

import { isObject } from '@bindery/kube';
import type { KubeObject } from '@bindery/kube';
import { validating } from '@bindery/runtime';
import type { AdmissionHandler, AdmissionRequest, ValidationResult } from '@bindery/runtime';
import {
  clusterWorkloadResourceMappingKind,
  formatFieldError,
  formatInvalid,
  group,
  serviceBindingKind,
  validateClusterWorkloadResourceMapping,
  validateServiceBinding,
} from '../apis/index.ts';
import type { FieldError } from '../apis/index.ts';

export function validateServiceBindingWebhook(): AdmissionHandler {
  return validating<KubeObject>((ctx) =>
    verdict(ctx.request, serviceBindingKind, (obj, old) => validateServiceBinding(obj, old)),
  );
}

export function validateMappingWebhook(): AdmissionHandler {
  return validating<KubeObject>((ctx) =>
    verdict(ctx.request, clusterWorkloadResourceMappingKind, (obj, old) => {
      const errors = validateClusterWorkloadResourceMapping(obj);
      if (old === undefined) return errors;
      const before = new Set(validateClusterWorkloadResourceMapping(old).map(formatFieldError));
      return errors.filter((e) => !before.has(formatFieldError(e)));
    }),
  );
}

function verdict(
  request: AdmissionRequest<KubeObject>,
  kind: string,
  validate: (obj: unknown, old: unknown) => FieldError[],
): ValidationResult {
  if (request.operation !== 'CREATE' && request.operation !== 'UPDATE') return { allowed: true };
  if (request.subResource !== undefined && request.subResource !== '') return { allowed: true };
  const old = request.operation === 'UPDATE' ? (request.oldObject ?? undefined) : undefined;
  if (isObject(old) && isObject(old['metadata']) && old['metadata']['deletionTimestamp'] !== undefined) {
    return { allowed: true };
  }
  const errors = validate(request.object, old);
  if (errors.length === 0) return { allowed: true };
  const name = request.name ?? request.object?.metadata.name ?? '';
  // The same 422 Invalid the API server answers for its own types.
  return {
    allowed: false,
    code: 422,
    reason: 'Invalid',
    message: formatInvalid(`${kind}.${group}`, name, errors),
  };
}
