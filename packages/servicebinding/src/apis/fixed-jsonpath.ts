// Fixed JSONPath (spec §"Fixed JSONPath"): only fields joined by the child operator, so a path
// names exactly one location that can be read, created and written back. Accepts the
// client-go jsonpath dialect the reference implementation validates with: `.a.b`, `['a']`,
// an optional leading `$` or `@`, and `\` escapes in dotted fields. Everything else
// (wildcards, indexes, slices, filters, unions, recursive descent, literals) is rejected with
// the offset and what was expected.
//
// One deliberate difference from client-go (AMB-13): `['a.b']` is the single key `a.b`
// (client-go re-parses it as `.a.b`).
//
// The package's Fixed JSONPath parser: the webhook validates with it, and the projector compiles its
// mapping locations with it (projector/jsonpath/fixed.ts).

import { FORBIDDEN_JSONPATH_KEYS, MAX_JSONPATH_LENGTH } from './jsonpath.ts';

export class FixedJsonPathError extends Error {
  /** The expression that does not parse. */
  readonly expression: string;
  /** Where in the expression the problem starts. */
  readonly offset: number;

  constructor(expression: string, offset: number, problem: string) {
    super(
      `at offset ${offset}: ${problem}; expected fields joined by '.' or ['key'], e.g. .spec.template.spec.volumes`,
    );
    this.name = 'FixedJsonPathError';
    this.expression = expression;
    this.offset = offset;
  }
}

const terminators = new Set([' ', '\t', '\r', '\n', '.', ',', '[', ']', '$', '@', '{', '}']);

/**
 * The field names of a Fixed JSONPath, outermost first; `[]` for the object itself (`''`, `.`,
 * `$`, `@`, `$.`, `@.`, as in client-go, where `{.}` is the current object).
 */
export function parseFixedJsonPath(expr: string): string[] {
  if (expr.length > MAX_JSONPATH_LENGTH)
    throw new FixedJsonPathError(
      expr.slice(0, 64) + '…',
      MAX_JSONPATH_LENGTH,
      `longer than ${MAX_JSONPATH_LENGTH} characters`,
    );
  const fields: string[] = [];
  const push = (name: string, at: number): void => {
    // Code that indexes with obj[key] would walk into the prototype.
    if (FORBIDDEN_JSONPATH_KEYS.has(name))
      throw new FixedJsonPathError(expr, at, `the key ${JSON.stringify(name)} is not allowed`);
    fields.push(name);
  };
  let i = expr.startsWith('$') || expr.startsWith('@') ? 1 : 0;
  if (expr.slice(i) === '.') return fields;
  while (i < expr.length) {
    const c = expr[i] as string;
    if (c === '.') {
      if (expr[i + 1] === '.') throw new FixedJsonPathError(expr, i, "recursive descent '..' is not allowed");
      const [name, raw, next] = readField(expr, i + 1);
      if (raw === '') throw new FixedJsonPathError(expr, i + 1, "a field name must follow '.'");
      if (raw === '*') throw new FixedJsonPathError(expr, i + 1, "wildcard '*' is not allowed");
      push(name, i + 1);
      i = next;
    } else if (c === '[') {
      const [name, next] = readBracket(expr, i);
      push(name, i);
      i = next;
    } else {
      throw new FixedJsonPathError(expr, i, unexpected(expr, i));
    }
  }
  return fields;
}

/** Whether `expr` is a Fixed JSONPath. */
export function isFixedJsonPath(expr: string): boolean {
  try {
    parseFixedJsonPath(expr);
    return true;
  } catch {
    return false;
  }
}

/** Reads a dotted field from `start`: [unescaped name, raw text, index after it]. */
function readField(expr: string, start: number): [string, string, number] {
  let name = '';
  let i = start;
  while (i < expr.length && !terminators.has(expr[i] as string)) {
    if (expr[i] === '\\') {
      if (i + 1 >= expr.length)
        throw new FixedJsonPathError(expr, i, "a character must follow the escape '\\'");
      name += expr[i + 1];
      i += 2;
    } else {
      name += expr[i];
      i += 1;
    }
  }
  return [name, expr.slice(start, i), i];
}

/** Reads `['key']` at `start` (the `[`): [key, index after the `]`]. */
function readBracket(expr: string, start: number): [string, number] {
  if (expr[start + 1] === "'") {
    const close = expr.indexOf("'", start + 2);
    if (close < 0) throw new FixedJsonPathError(expr, start, "unterminated quoted key: expected ['key']");
    if (expr[close + 1] !== ']') {
      const problem =
        expr[close + 1] === ',' ? "union ',' is not allowed" : "expected ']' after the quoted key";
      throw new FixedJsonPathError(expr, close + 1, problem);
    }
    const key = expr.slice(start + 2, close);
    if (key === '') throw new FixedJsonPathError(expr, start, "a key must not be empty: expected ['key']");
    return [key, close + 2];
  }
  const end = expr.indexOf(']', start);
  const inside = expr.slice(start + 1, end < 0 ? undefined : end).trim();
  if (end < 0) throw new FixedJsonPathError(expr, start, "unterminated '[': expected ['key']");
  if (inside === '*') throw new FixedJsonPathError(expr, start, "wildcard '[*]' is not allowed");
  if (inside.startsWith('?'))
    throw new FixedJsonPathError(expr, start, `filter '[${inside}]' is not allowed`);
  if (inside.startsWith('"'))
    throw new FixedJsonPathError(
      expr,
      start,
      `'[${inside}]' is not a key: quote keys with single quotes, ['key']`,
    );
  if (inside.includes(',')) throw new FixedJsonPathError(expr, start, `union '[${inside}]' is not allowed`);
  if (inside.includes(':')) throw new FixedJsonPathError(expr, start, `slice '[${inside}]' is not allowed`);
  if (/^-?\d+$/.test(inside))
    throw new FixedJsonPathError(expr, start, `array index '[${inside}]' is not allowed`);
  throw new FixedJsonPathError(expr, start, `'[${inside}]' is not a key: expected ['key']`);
}

function unexpected(expr: string, i: number): string {
  const c = expr[i] as string;
  const rest = expr.slice(i);
  if (c === ' ' || c === '\t' || c === '\r' || c === '\n') return 'whitespace is not allowed';
  if (c === "'" || c === '"') return 'a text literal is not allowed';
  if (/^-?\d/.test(rest)) return 'a number is not allowed';
  if (/^(true|false)\b/.test(rest)) return 'a boolean is not allowed';
  if (c === ',') return "union ',' is not allowed";
  if (c === '{' || c === '}') return `'${c}' is not allowed (write the path without template braces)`;
  if (c === ']' || c === '$' || c === '@') return `unexpected '${c}'`;
  const word = /^[^ \t\r\n.,[\]$@{}]*/.exec(rest)?.[0] ?? c;
  return `identifier '${word}' is not allowed (did you mean '.${word}'?)`;
}
