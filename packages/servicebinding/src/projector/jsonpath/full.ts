// Evaluates a full JSONPath (`containers[].path`; grammar and parser in apis/jsonpath.ts).
// Results are references into the input, so callers can edit the matched container-like objects
// in place. Each step works on distinct nodes, and every node produced counts against a budget,
// so no expression (unions of repeated keys, chained `..`) can multiply its work or memory.

import { getOwn, isObject } from '../json.ts';
import { JsonPathLimitError } from './error.ts';
import type { JsonPath, JsonPathStep } from '../../apis/jsonpath.ts';

export { parseJsonPath } from '../../apis/jsonpath.ts';
export type { JsonPath, JsonPathStep } from '../../apis/jsonpath.ts';

/** Default budget: a large workload has a few tens of thousands of nodes. */
export const DEFAULT_JSONPATH_MAX_NODES = 100_000;
/** How deep `..` descends; Kubernetes objects are rarely 30 levels deep. */
export const DEFAULT_JSONPATH_MAX_DEPTH = 128;

/** What evaluations may still spend; share one between the expressions of one mapping. */
export class JsonPathBudget {
  readonly maxNodes: number;
  readonly maxDepth: number;
  #spent = 0;

  constructor(options: { maxNodes?: number; maxDepth?: number } = {}) {
    this.maxNodes = options.maxNodes ?? DEFAULT_JSONPATH_MAX_NODES;
    this.maxDepth = options.maxDepth ?? DEFAULT_JSONPATH_MAX_DEPTH;
  }

  /** Nodes produced so far. */
  get spent(): number {
    return this.#spent;
  }

  spend(n: number, expression: string): void {
    this.#spent += n;
    if (this.#spent > this.maxNodes) throw new JsonPathLimitError(expression, 'nodes', this.maxNodes);
  }
}

/**
 * Every value `path` selects in `root`, in document order, without duplicates. Throws a
 * `JsonPathLimitError` when it would spend more than `budget` (default: a fresh one).
 */
export function evaluateJsonPath(
  root: unknown,
  path: JsonPath,
  budget: JsonPathBudget = new JsonPathBudget(),
): unknown[] {
  let nodes: unknown[] = [root];
  for (const step of path.steps) {
    // A node reached twice yields the same matches twice: dropping it keeps the result (and its
    // order, first occurrence first) and stops a union like ['a','a','a'] from multiplying.
    const next = new Set<unknown>();
    for (const node of nodes) {
      const produced = apply(step, node, budget, path.expression);
      budget.spend(produced.length, path.expression);
      for (const value of produced) next.add(value);
    }
    nodes = [...next];
  }
  return nodes;
}

function apply(step: JsonPathStep, node: unknown, budget: JsonPathBudget, expression: string): unknown[] {
  switch (step.kind) {
    case 'field':
      return isObject(node) && Object.hasOwn(node, step.name) ? [node[step.name]] : [];
    case 'keys':
      return isObject(node) ? step.names.filter((n) => Object.hasOwn(node, n)).map((n) => node[n]) : [];
    case 'wildcard':
      return children(node);
    case 'recursive':
      return descendants(node, budget, expression);
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

function children(node: unknown): unknown[] {
  return Array.isArray(node) ? [...(node as unknown[])] : isObject(node) ? Object.values(node) : [];
}

/** `node` and everything under it, in document order (pre-order), without recursion. */
function descendants(node: unknown, budget: JsonPathBudget, expression: string): unknown[] {
  const out: unknown[] = [];
  const stack: Array<[unknown, number]> = [[node, 0]];
  for (let top = stack.pop(); top !== undefined; top = stack.pop()) {
    const [current, depth] = top;
    out.push(current);
    const kids = children(current);
    if (kids.length === 0) continue;
    if (depth >= budget.maxDepth) throw new JsonPathLimitError(expression, 'depth', budget.maxDepth);
    // Counted as they are found, so a wide document fails before `out` grows past the budget.
    budget.spend(kids.length, expression);
    for (let i = kids.length - 1; i >= 0; i--) stack.push([kids[i], depth + 1]);
  }
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

type Comparison = NonNullable<Extract<JsonPathStep, { kind: 'filter' }>['op']>;
