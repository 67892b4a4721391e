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
import type { FieldError, ServiceBinding } from '../apis/index.ts';
import { checkDeniedEnv } from '../controllers/env-policy.ts';
import { ProjectionError } from '../projector/index.ts';

export interface ValidateServiceBindingOptions {
  /**
   * The manager's deny list of variable names: a binding that asks for one is allowed (it is
   * valid; the cluster's policy, not the spec, forbids it) with a warning, so its author learns at
   * `kubectl apply` that it will not be projected.
   */
  deniedEnvNames?: readonly string[];
}

export function validateServiceBindingWebhook(options: ValidateServiceBindingOptions = {}): AdmissionHandler {
  const denied = new Set(options.deniedEnvNames ?? []);
  return validating<KubeObject>((ctx) => {
    const result = verdict(ctx.request, serviceBindingKind, (obj, old) => validateServiceBinding(obj, old));
    const warning = result.allowed ? deniedEnvWarning(ctx.request, denied) : undefined;
    return warning === undefined ? result : { ...result, warnings: [warning] };
  });
}

/** The deny-list warning for a CREATE or UPDATE of a binding, if it names a denied variable. */
function deniedEnvWarning(
  request: AdmissionRequest<KubeObject>,
  denied: ReadonlySet<string>,
): string | undefined {
  if (denied.size === 0 || (request.operation !== 'CREATE' && request.operation !== 'UPDATE'))
    return undefined;
  if (request.subResource !== undefined && request.subResource !== '') return undefined;
  const obj = request.object;
  if (!isObject(obj) || !isObject(obj['spec'])) return undefined;
  try {
    checkDeniedEnv(obj as ServiceBinding, denied);
    return undefined;
  } catch (err) {
    if (!(err instanceof ProjectionError)) throw err;
    return err.message;
  }
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
  // The object failed validation: its metadata may be anything.
  const metadata = isObject(request.object) ? request.object['metadata'] : undefined;
  const name =
    request.name ?? (isObject(metadata) && typeof metadata['name'] === 'string' ? metadata['name'] : '');
  // The same 422 Invalid the API server answers for its own types.
  return {
    allowed: false,
    code: 422,
    reason: 'Invalid',
    message: formatInvalid(`${kind}.${group}`, name, errors),
  };
}
