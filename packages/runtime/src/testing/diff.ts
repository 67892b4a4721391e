// A structural diff of JSON values for assertion messages: one line per path that
// differs, `spec.template.spec.containers[0].env[1].value: expected "x", got "y"`.
// A key whose value is `undefined` counts as absent, as it does once serialized.

import { inspect } from 'node:util';
import { isObject } from '@bindery/kube';

export interface Difference {
  /** `spec.containers[0].image`; `(root)` for the values themselves. */
  path: string;
  /** `undefined` when the expected value has nothing at `path`. */
  expected: unknown;
  /** `undefined` when the actual value has nothing at `path`. */
  actual: unknown;
}

/** Every path at which `actual` differs from `expected`, in document order. */
export function diff(expected: unknown, actual: unknown): Difference[] {
  const out: Difference[] = [];
  walk(out, '', expected, actual);
  return out;
}

function walk(out: Difference[], path: string, expected: unknown, actual: unknown): void {
  if (expected === actual) return;
  if (isObject(expected) && isObject(actual)) {
    const keys = [...Object.keys(expected)];
    for (const k of Object.keys(actual)) if (!Object.hasOwn(expected, k)) keys.push(k);
    for (const k of keys) walk(out, joinKey(path, k), expected[k], actual[k]);
    return;
  }
  if (Array.isArray(expected) && Array.isArray(actual)) {
    const n = Math.max(expected.length, actual.length);
    for (let i = 0; i < n; i++) walk(out, `${path}[${i}]`, expected[i], actual[i]);
    return;
  }
  if (
    typeof expected === 'number' &&
    typeof actual === 'number' &&
    Number.isNaN(expected) &&
    Number.isNaN(actual)
  ) {
    return;
  }
  out.push({ path: path === '' ? '(root)' : path, expected, actual });
}

/** `a.b` for identifier-like keys, `a["app.kubernetes.io/name"]` for the rest. */
export function joinKey(path: string, key: string): string {
  if (/^[A-Za-z_$][\w$-]*$/.test(key)) return path === '' ? key : `${path}.${key}`;
  return `${path}[${JSON.stringify(key)}]`;
}

/** A value as it appears in a message: compact JSON, long values cut short; `nothing` for absent. */
export function formatValue(value: unknown, max = 160): string {
  if (value === undefined) return 'nothing';
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch {
    text = undefined;
  }
  text ??= inspect(value, { depth: 3, breakLength: Infinity });
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/**
 * The differences as message lines, each prefixed with `indent`; at most `limit`
 * lines, then a count of the rest.
 */
export function formatDiff(
  differences: readonly Difference[],
  options: { indent?: string; limit?: number } = {},
): string {
  const indent = options.indent ?? '';
  const limit = options.limit ?? 40;
  const lines = differences
    .slice(0, limit)
    .map((d) => `${indent}${d.path}: expected ${formatValue(d.expected)}, got ${formatValue(d.actual)}`);
  if (differences.length > limit) lines.push(`${indent}… and ${differences.length - limit} more`);
  return lines.join('\n');
}
