// Validation results shaped like apimachinery's field.ErrorList, so an admission webhook can
// turn them into the same 422 Invalid a built-in resource answers with, and a user sees
// `spec.env[0].name: Invalid value: "1X": ...` whichever path rejected the object.

export type FieldErrorType = 'Required' | 'Invalid' | 'Forbidden' | 'Duplicate' | 'NotSupported';

/** A scalar shown back to the user. Only field values of the binding itself, never a Secret's. */
export type FieldValue = string | number | boolean;

export interface FieldError {
  type: FieldErrorType;
  /** A field path as Kubernetes writes it: `spec.versions[1].containers[0].path`. */
  field: string;
  value?: FieldValue;
  /** What was expected. */
  detail: string;
}

export const required = (field: string, detail: string): FieldError => ({ type: 'Required', field, detail });

export const invalid = (field: string, value: unknown, detail: string): FieldError =>
  withValue({ type: 'Invalid', field, detail }, value);

export const forbidden = (field: string, detail: string): FieldError => ({
  type: 'Forbidden',
  field,
  detail,
});

export const duplicate = (field: string, value: unknown, detail: string): FieldError =>
  withValue({ type: 'Duplicate', field, detail }, value);

export const notSupported = (field: string, value: unknown, supported: readonly string[]): FieldError =>
  withValue(
    { type: 'NotSupported', field, detail: `supported values: ${supported.map(quote).join(', ')}` },
    value,
  );

function withValue(error: FieldError, value: unknown): FieldError {
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean'
    ? { ...error, value }
    : error;
}

const typeText: Record<FieldErrorType, string> = {
  Required: 'Required value',
  Invalid: 'Invalid value',
  Forbidden: 'Forbidden',
  Duplicate: 'Duplicate value',
  NotSupported: 'Unsupported value',
};

const quote = (value: FieldValue): string =>
  typeof value === 'string' ? JSON.stringify(value) : String(value);

/** `field: Type[: value]: detail`, as field.Error.Error() prints it. */
export function formatFieldError(error: FieldError): string {
  const shown = error.type !== 'Required' && error.type !== 'Forbidden' && error.value !== undefined;
  return `${error.field}: ${typeText[error.type]}${shown ? `: ${quote(error.value as FieldValue)}` : ''}: ${error.detail}`;
}

/** The message of a 422, as the API server composes it: `ServiceBinding.servicebinding.io "x" is invalid: ...`. */
export function formatInvalid(groupKind: string, name: string, errors: readonly FieldError[]): string {
  const list = errors.map(formatFieldError);
  const body = list.length === 1 ? list[0] : `[${list.join(', ')}]`;
  return `${groupKind} ${JSON.stringify(name)} is invalid: ${body}`;
}

/** Ratcheting: drops errors the stored object already had, so an update (e.g. removing a finalizer) never fails for them. */
export function ratchet(errors: FieldError[], old: readonly FieldError[]): FieldError[] {
  const id = (e: FieldError): string => `${e.type}\u0000${e.field}\u0000${String(e.value)}\u0000${e.detail}`;
  const before = new Set(old.map(id));
  return errors.filter((e) => !before.has(id(e)));
}

/** Path helpers: `child('spec', 'env')`, `index('spec.env', 0)`, `key('x.matchLabels', 'app')`. */
export const child = (path: string, name: string): string => (path === '' ? name : `${path}.${name}`);
export const index = (path: string, i: number): string => `${path}[${i}]`;
export const key = (path: string, k: string): string => `${path}[${k}]`;
