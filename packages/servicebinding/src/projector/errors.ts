// One error type for everything that stops a projection, so a reconciler can report it on the
// binding's Ready condition (`code` as the reason) and a webhook can deny with the message.

export type ProjectionErrorCode =
  /** The binding lacks something the projector needs (`metadata.uid`, a well-formed `spec.env`). */
  | 'InvalidBinding'
  /** The binding name cannot be a directory under `$SERVICE_BINDING_ROOT`. */
  | 'InvalidBindingName'
  /** The Secret name is not a valid object name. */
  | 'InvalidSecretName'
  /** A mapping expression does not parse, or points at the wrong kind of location. */
  | 'InvalidMapping'
  /** The mapping stashed on the workload at projection time cannot be read back. */
  | 'InvalidMappingStash'
  /** A location named by the mapping holds a value of the wrong type. */
  | 'InvalidWorkload'
  /** `SERVICE_BINDING_ROOT` is set in a way the projector cannot mount under. */
  | 'UnsupportedServiceBindingRoot'
  /** Another volume (usually another binding with the same name) is mounted at the same path. */
  | 'BindingNameCollision'
  /** `spec.env` names a variable on the manager's deny list (`--deny-env`). */
  | 'EnvNameDenied';

export class ProjectionError extends Error {
  readonly code: ProjectionErrorCode;
  /** The offending field, as a path: `spec.name`, `spec.versions[0].containers[1].path`. */
  readonly field: string | undefined;

  constructor(code: ProjectionErrorCode, message: string, field?: string) {
    super(field === undefined ? message : `${field}: ${message}`);
    this.name = 'ProjectionError';
    this.code = code;
    this.field = field;
  }
}
