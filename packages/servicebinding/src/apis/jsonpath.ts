// Full JSONPath for `containers[].path`, in the kubectl dialect the RI evaluates (client-go
// util/jsonpath, without the surrounding `{}`): `.field`, `['key']`, `[n]` (negative counts from
// the end), `[a:b:c]`, `[*]`/`.*`, unions `[0,2]`/`['a','b']`, recursive descent `..`, and
// filters `[?(@.x == 'v')]`. The parser lives here so the mapping webhook validates with the
// grammar the projector evaluates (projector/jsonpath/full.ts).
//
// Mappings are written by cluster admins, but a stash annotation carrying one is written by
// anyone who may edit a workload: an expression is bounded in length and steps, and never names
// `__proto__`, `constructor` or `prototype`.

import { JsonPathError } from './jsonpath-error.ts';

/** The longest expression accepted; real mapping paths are well under 100 characters. */
export const MAX_JSONPATH_LENGTH = 1024;
/** The most steps (`.a`, `[*]`, `..`, …) an expression may have. */
export const MAX_JSONPATH_STEPS = 64;
/** Keys that would reach an object's prototype where code indexes with `obj[key]`. */
export const FORBIDDEN_JSONPATH_KEYS: ReadonlySet<string> = new Set([
  '__proto__',
  'constructor',
  'prototype',
]);

type Literal = string | number | boolean | null;
type Comparison = '==' | '!=' | '<' | '<=' | '>' | '>=';

export type JsonPathStep =
  | { kind: 'field'; name: string }
  | { kind: 'keys'; names: string[] }
  | { kind: 'wildcard' }
  | { kind: 'recursive' }
  | { kind: 'indexes'; indexes: number[] }
  | { kind: 'slice'; start: number | undefined; end: number | undefined; step: number }
  | { kind: 'filter'; fields: string[]; op: Comparison | undefined; value: Literal };

export interface JsonPath {
  readonly expression: string;
  readonly steps: readonly JsonPathStep[];
}

const FIELD_END = new Set([
  ' ',
  '\t',
  '\r',
  '\n',
  '.',
  ',',
  '[',
  ']',
  '$',
  '@',
  '{',
  '}',
  '(',
  ')',
  '=',
  '!',
  '<',
  '>',
]);

/** Parses `expression`; throws a `JsonPathError` naming the offset and the problem. */
export function parseJsonPath(expression: string): JsonPath {
  if (expression.length > MAX_JSONPATH_LENGTH) {
    throw new JsonPathError(
      expression.slice(0, 64) + '…',
      MAX_JSONPATH_LENGTH,
      `longer than ${MAX_JSONPATH_LENGTH} characters`,
    );
  }
  const p = new Parser(expression);
  return { expression, steps: p.parse() };
}

class Parser {
  private i = 0;
  private readonly s: string;

  constructor(s: string) {
    this.s = s;
  }

  parse(): JsonPathStep[] {
    const steps: JsonPathStep[] = [];
    if (this.s.startsWith('$') || this.s.startsWith('@')) this.i = 1;
    if (this.s.slice(this.i) === '.') return steps;
    while (this.i < this.s.length) {
      if (steps.length >= MAX_JSONPATH_STEPS) this.fail(`more than ${MAX_JSONPATH_STEPS} steps`);
      const c = this.s[this.i];
      if (c === '.') {
        this.i++;
        if (this.peek() === '.') {
          this.i++;
          steps.push({ kind: 'recursive' });
          if (this.peek() === '[') continue;
        }
        if (this.peek() === '*') {
          this.i++;
          steps.push({ kind: 'wildcard' });
        } else {
          steps.push({ kind: 'field', name: this.field() });
        }
      } else if (c === '[') {
        steps.push(this.bracket());
      } else {
        this.fail(
          this.i === 0
            ? `must start with "." or "[", got ${JSON.stringify(c)}`
            : `unexpected ${JSON.stringify(c)}`,
        );
      }
    }
    return steps;
  }

  private bracket(): JsonPathStep {
    const open = this.i;
    this.i++;
    this.skipSpace();
    let step: JsonPathStep;
    if (this.peek() === '*') {
      this.i++;
      step = { kind: 'wildcard' };
    } else if (this.peek() === '?') {
      step = this.filter();
    } else if (this.peek() === "'" || this.peek() === '"') {
      const names = [this.quoted()];
      while ((this.skipSpace(), this.peek() === ',')) {
        this.i++;
        this.skipSpace();
        names.push(this.quoted());
      }
      step =
        names.length === 1 && names[0] !== undefined
          ? { kind: 'field', name: names[0] }
          : { kind: 'keys', names };
    } else {
      const close = this.s.indexOf(']', this.i);
      if (close < 0) this.fail('unterminated "["', open);
      const inner = this.s.slice(this.i, close);
      step = inner.includes(':') ? this.slice(inner) : this.indexes(inner);
      this.i = close;
    }
    this.skipSpace();
    if (this.peek() !== ']') this.fail('expected "]"');
    this.i++;
    return step;
  }

  private slice(inner: string): JsonPathStep {
    const parts = inner.split(':').map((p) => p.trim());
    if (parts.length > 3) this.fail(`invalid slice [${inner}]`);
    const num = (p: string | undefined): number | undefined => {
      if (p === undefined || p === '') return undefined;
      if (!/^-?\d+$/.test(p)) this.fail(`invalid slice [${inner}]`);
      return Number(p);
    };
    const step = num(parts[2]) ?? 1;
    if (step <= 0) this.fail(`slice step must be positive in [${inner}]`);
    return { kind: 'slice', start: num(parts[0]), end: num(parts[1]), step };
  }

  private indexes(inner: string): JsonPathStep {
    const parts = inner.split(',').map((p) => p.trim());
    if (parts.some((p) => !/^-?\d+$/.test(p))) this.fail(`invalid array index [${inner}]`);
    return { kind: 'indexes', indexes: parts.map(Number) };
  }

  private filter(): JsonPathStep {
    this.i++; // '?'
    if (this.peek() !== '(') this.fail('expected "(" after "?"');
    this.i++;
    this.skipSpace();
    if (this.peek() !== '@') this.fail('a filter must start with "@"');
    this.i++;
    const fields: string[] = [];
    while (this.peek() === '.' || this.peek() === '[') {
      if (this.peek() === '.') {
        this.i++;
        fields.push(this.field());
      } else {
        this.i++;
        fields.push(this.quoted());
        if (this.peek() !== ']') this.fail('expected "]"');
        this.i++;
      }
    }
    this.skipSpace();
    let op: Comparison | undefined;
    let value: Literal = null;
    const m = /^(==|!=|<=|>=|<|>)/.exec(this.s.slice(this.i));
    if (m?.[1] !== undefined) {
      op = m[1] as Comparison;
      this.i += m[1].length;
      this.skipSpace();
      value = this.literal();
      this.skipSpace();
    }
    if (this.peek() !== ')') this.fail('expected ")" to close the filter');
    this.i++;
    return { kind: 'filter', fields, op, value };
  }

  private literal(): Literal {
    const c = this.peek();
    if (c === "'" || c === '"') return this.quoted();
    const m = /^(-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?|true|false|null)/.exec(this.s.slice(this.i));
    if (m?.[1] === undefined) return this.fail('expected a string, number, true, false or null');
    this.i += m[1].length;
    return m[1] === 'true' ? true : m[1] === 'false' ? false : m[1] === 'null' ? null : Number(m[1]);
  }

  private field(): string {
    const start = this.i;
    let name = '';
    while (this.i < this.s.length && !FIELD_END.has(this.s[this.i] ?? '')) {
      if (this.s[this.i] === '\\') {
        if (this.i + 1 >= this.s.length) this.fail('dangling "\\"');
        this.i++;
      }
      name += this.s[this.i] ?? '';
      this.i++;
    }
    if (name === '') this.fail('expected a field name');
    return this.allowed(name, start);
  }

  private quoted(): string {
    const q = this.peek();
    if (q !== "'" && q !== '"') return this.fail('expected a quoted key');
    const close = this.s.indexOf(q, this.i + 1);
    if (close < 0) this.fail('unterminated quoted key');
    const text = this.allowed(this.s.slice(this.i + 1, close), this.i);
    this.i = close + 1;
    return text;
  }

  private allowed(key: string, offset: number): string {
    if (FORBIDDEN_JSONPATH_KEYS.has(key)) this.fail(`the key ${JSON.stringify(key)} is not allowed`, offset);
    return key;
  }

  private peek(): string | undefined {
    return this.s[this.i];
  }

  private skipSpace(): void {
    while (this.peek() === ' ') this.i++;
  }

  private fail(reason: string, offset = this.i): never {
    throw new JsonPathError(this.s, offset, reason);
  }
}
