// Full JSONPath for `containers[].path`, in the kubectl dialect the RI evaluates (client-go
// util/jsonpath, without the surrounding `{}`): `.field`, `['key']`, `[n]` (negative counts from
// the end), `[a:b:c]`, `[*]`/`.*`, unions `[0,2]`/`['a','b']`, recursive descent `..`, and
// filters `[?(@.x == 'v')]`. Results are references into the input, so callers can edit the
// matched container-like objects in place.

import { getOwn, isObject } from '../json.ts';
import { JsonPathError } from './error.ts';

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

export function parseJsonPath(expression: string): JsonPath {
  const p = new Parser(expression);
  return { expression, steps: p.parse() };
}

/** Every value `path` selects in `root`, in document order, without duplicates. */
export function evaluateJsonPath(root: unknown, path: JsonPath): unknown[] {
  let nodes: unknown[] = [root];
  for (const step of path.steps) nodes = nodes.flatMap((node) => apply(step, node));
  return [...new Set(nodes)];
}

function apply(step: JsonPathStep, node: unknown): unknown[] {
  switch (step.kind) {
    case 'field':
      return isObject(node) && Object.hasOwn(node, step.name) ? [node[step.name]] : [];
    case 'keys':
      return isObject(node) ? step.names.filter((n) => Object.hasOwn(node, n)).map((n) => node[n]) : [];
    case 'wildcard':
      return Array.isArray(node) ? [...(node as unknown[])] : isObject(node) ? Object.values(node) : [];
    case 'recursive':
      return descendants(node);
    case 'indexes': {
      if (!Array.isArray(node)) return [];
      const list = node as unknown[];
      return step.indexes
        .map((i) => (i < 0 ? list.length + i : i))
        .filter((i) => i >= 0 && i < list.length)
        .map((i) => list[i]);
    }
    case 'slice': {
      if (!Array.isArray(node)) return [];
      const list = node as unknown[];
      const clamp = (i: number): number => Math.min(Math.max(i < 0 ? list.length + i : i, 0), list.length);
      const out: unknown[] = [];
      for (let i = clamp(step.start ?? 0); i < clamp(step.end ?? list.length); i += step.step)
        out.push(list[i]);
      return out;
    }
    case 'filter':
      return Array.isArray(node) ? (node as unknown[]).filter((item) => matches(step, item)) : [];
  }
}

function descendants(node: unknown): unknown[] {
  const out: unknown[] = [node];
  const children = Array.isArray(node) ? (node as unknown[]) : isObject(node) ? Object.values(node) : [];
  for (const child of children) out.push(...descendants(child));
  return out;
}

function matches(step: Extract<JsonPathStep, { kind: 'filter' }>, item: unknown): boolean {
  let value: unknown = item;
  for (const field of step.fields) value = isObject(value) ? getOwn(value, field) : undefined;
  if (step.op === undefined) return value !== undefined && value !== null && value !== false;
  const expected = step.value;
  switch (step.op) {
    case '==':
      return value === expected;
    case '!=':
      return value !== expected;
    default: {
      if (typeof value === 'number' && typeof expected === 'number') return compare(step.op, value, expected);
      if (typeof value === 'string' && typeof expected === 'string') return compare(step.op, value, expected);
      return false;
    }
  }
}

function compare<T extends number | string>(op: Comparison, a: T, b: T): boolean {
  return op === '<' ? a < b : op === '<=' ? a <= b : op === '>' ? a > b : a >= b;
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
    return name;
  }

  private quoted(): string {
    const q = this.peek();
    if (q !== "'" && q !== '"') return this.fail('expected a quoted key');
    const close = this.s.indexOf(q, this.i + 1);
    if (close < 0) this.fail('unterminated quoted key');
    const text = this.s.slice(this.i + 1, close);
    this.i = close + 1;
    return text;
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
