// The `parameters` of a provision, update or bind: inline `parameters` merged with the JSON objects
// held in Secret keys (`parametersFrom`), as Service Catalog merged them (a top-level key set twice is
// an error). What came from a Secret is redacted in what status records; the checksum covers all.

import { createHash } from 'node:crypto';

export const redacted = '<redacted>';

/** One `parametersFrom` entry: a Secret key holding a JSON object. */
export interface ParametersSource {
  secretKeyRef: { name: string; key: string };
}

/** Reads one key of a Secret in the object's namespace: its value, or `undefined` if either is missing. */
export type SecretKeyReader = (name: string, key: string) => Promise<string | undefined>;

export interface ParametersInput {
  /** Names the object in errors: `ServiceInstance apps/db`. */
  owner: string;
  parameters?: Record<string, unknown> | undefined;
  parametersFrom?: readonly ParametersSource[] | undefined;
  readSecretKey: SecretKeyReader;
}

export interface ResolvedParameters {
  /** What is sent to the broker. */
  parameters: Record<string, unknown>;
  /** What status may show: values from Secrets replaced by `<redacted>`. */
  redacted: Record<string, unknown>;
  /** SHA-256 (hex) of the canonical JSON of `parameters`. */
  checksum: string;
}

export class ParametersError extends Error {
  readonly reason: string;
  constructor(reason: string, message: string) {
    super(message);
    this.name = 'ParametersError';
    this.reason = reason;
  }
}

/** Merges inline parameters and parametersFrom; throws `ParametersError` naming the field, never a value. */
export async function resolveParameters(input: ParametersInput): Promise<ResolvedParameters> {
  const parameters: Record<string, unknown> = {};
  const shown: Record<string, unknown> = {};
  const sources = new Map<string, string>();
  const put = (key: string, value: unknown, source: string, secret: boolean): void => {
    const previous = sources.get(key);
    if (previous !== undefined) {
      throw new ParametersError(
        'DuplicateParameter',
        `${input.owner}: parameter ${JSON.stringify(key)} is set by both ${previous} and ${source}`,
      );
    }
    sources.set(key, source);
    parameters[key] = value;
    shown[key] = secret ? redacted : value;
  };
  for (const [i, ref] of (input.parametersFrom ?? []).entries()) {
    const { name, key } = ref.secretKeyRef;
    const field = `spec.parametersFrom[${i}]`;
    const raw = await input.readSecretKey(name, key);
    if (raw === undefined) {
      throw new ParametersError(
        'ParametersSecretNotFound',
        `${input.owner}: ${field}: key ${JSON.stringify(key)} of Secret ${JSON.stringify(name)} not found`,
      );
    }
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch {
      value = undefined;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new ParametersError(
        'InvalidParametersFrom',
        `${input.owner}: ${field}: key ${JSON.stringify(key)} of Secret ${JSON.stringify(name)} must hold a JSON object`,
      );
    }
    for (const [k, v] of Object.entries(value)) put(k, v, `${field} (Secret ${name})`, true);
  }
  for (const [k, v] of Object.entries(input.parameters ?? {})) put(k, v, 'spec.parameters', false);
  return { parameters, redacted: shown, checksum: checksum(parameters) };
}

/** SHA-256 of JSON with object keys sorted, so the same parameters always hash alike. */
export function checksum(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex');
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
