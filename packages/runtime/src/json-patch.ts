// JSON Patch (RFC 6902) and JSON Merge Patch (RFC 7386) over plain JSON values.
// Admission webhooks answer with a JSON Patch; CastResource and the mutation
// cache of ResourceManager use them to carry changes from one object to another.

import { isObject } from '@bindery/kube';
import { deepCopy, deepEqual } from './equality.ts';

export type JsonPatchOperation =
  | { op: 'add'; path: string; value: unknown }
  | { op: 'remove'; path: string }
  | { op: 'replace'; path: string; value: unknown }
  | { op: 'test'; path: string; value: unknown }
  | { op: 'move'; from: string; path: string }
  | { op: 'copy'; from: string; path: string };

/** Escapes one JSON Pointer segment (RFC 6901): `~` → `~0`, `/` → `~1`. */
export function escapePointer(segment: string): string {
  if (!segment.includes('~') && !segment.includes('/')) return segment;
  return segment.replaceAll('~', '~0').replaceAll('/', '~1');
}

function unescapePointer(segment: string): string {
  return segment.replaceAll('~1', '/').replaceAll('~0', '~');
}

/**
 * Sets an own property, even one named `__proto__`: JSON.parse makes that an own key,
 * and a plain assignment would replace the object's prototype instead.
 */
function setKey(obj: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') {
    Object.defineProperty(obj, key, { value, writable: true, enumerable: true, configurable: true });
  } else {
    obj[key] = value;
  }
}

/**
 * The operations that turn `from` into `to`. Objects are diffed key by key and
 * arrays index by index (then trailing elements added or removed, from the end
 * so earlier indexes stay valid), so a change deep inside a container of a pod
 * template is one small `replace`, not a rewrite of the whole list.
 */
export function jsonPatchDiff(from: unknown, to: unknown): JsonPatchOperation[] {
  const ops: JsonPatchOperation[] = [];
  diffInto(ops, [], from, to);
  return ops;
}

/** The JSON Pointer of `segments` (already escaped), plus `last` (raw) if given. */
function pointer(segments: string[], last?: string): string {
  const head = segments.length ? `/${segments.join('/')}` : '';
  return last === undefined ? head : `${head}/${escapePointer(last)}`;
}

// `path` holds the escaped segments down to `a` and `b`; strings are built only for operations.
function diffInto(ops: JsonPatchOperation[], path: string[], a: unknown, b: unknown): void {
  if (a === b) return;
  // Containers are walked without comparing them whole first: an equal subtree yields no
  // operations anyway, and comparing at every level would cost O(size × depth).
  if (isObject(a) && isObject(b)) {
    for (const key of Object.keys(a)) {
      if (a[key] !== undefined && ownValue(b, key) === undefined)
        ops.push({ op: 'remove', path: pointer(path, key) });
    }
    for (const key of Object.keys(b)) {
      const value = b[key];
      const previous = ownValue(a, key);
      if (value === undefined || previous === value) continue;
      if (previous === undefined) {
        ops.push({ op: 'add', path: pointer(path, key), value: deepCopy(value) });
      } else {
        path.push(escapePointer(key));
        diffInto(ops, path, previous, value);
        path.pop();
      }
    }
    return;
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    const common = Math.min(a.length, b.length);
    for (let i = 0; i < common; i++) {
      if (a[i] === b[i]) continue;
      path.push(String(i));
      diffInto(ops, path, a[i], b[i]);
      path.pop();
    }
    for (let i = common; i < b.length; i++)
      ops.push({ op: 'add', path: pointer(path, String(i)), value: deepCopy(b[i]) });
    for (let i = a.length - 1; i >= common; i--) ops.push({ op: 'remove', path: pointer(path, String(i)) });
    return;
  }
  if (deepEqual(a, b)) return;
  ops.push({ op: 'replace', path: pointer(path), value: deepCopy(b) });
}

/** `obj[key]` if `key` is an own property (so `__proto__` and `constructor` read as absent). */
function ownValue(obj: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(obj, key) ? obj[key] : undefined;
}

/** Applies `ops` to a copy of `doc` and returns it; throws naming the failing operation. */
export function applyJsonPatch<T = unknown>(doc: unknown, ops: readonly JsonPatchOperation[]): T {
  let root: unknown = deepCopy(doc);
  ops.forEach((op, i) => {
    try {
      root = applyOne(root, op);
    } catch (err) {
      throw new Error(`json patch operation ${i} (${op.op} ${op.path}): ${(err as Error).message}`, {
        cause: err,
      });
    }
  });
  return root as T;
}

function parsePointer(path: string): string[] {
  if (path === '') return [];
  if (!path.startsWith('/')) throw new Error('path must be empty or start with "/"');
  return path.slice(1).split('/').map(unescapePointer);
}

function getAt(root: unknown, segments: string[]): unknown {
  let cur = root;
  for (const s of segments) {
    if (Array.isArray(cur)) {
      const i = arrayIndex(s, cur.length, false);
      cur = cur[i];
    } else if (isObject(cur) && Object.hasOwn(cur, s)) {
      cur = cur[s];
    } else {
      throw new Error(`"${s}" does not exist`);
    }
  }
  return cur;
}

function arrayIndex(segment: string, length: number, forAdd: boolean): number {
  if (forAdd && segment === '-') return length;
  if (!/^(0|[1-9][0-9]*)$/.test(segment)) throw new Error(`"${segment}" is not an array index`);
  const i = Number(segment);
  if (i > length || (!forAdd && i === length)) throw new Error(`index ${i} is out of bounds`);
  return i;
}

function applyOne(root: unknown, op: JsonPatchOperation): unknown {
  const segments = parsePointer(op.path);
  switch (op.op) {
    case 'test':
      if (!deepEqual(getAt(root, segments), op.value)) throw new Error('test failed');
      return root;
    case 'add':
      return add(root, segments, deepCopy(op.value));
    case 'remove':
      return remove(root, segments).root;
    case 'replace':
      getAt(root, segments);
      return add(remove(root, segments).root, segments, deepCopy(op.value));
    case 'copy':
      return add(root, segments, deepCopy(getAt(root, parsePointer(op.from))));
    case 'move': {
      const from = parsePointer(op.from);
      if (op.path.startsWith(`${op.from}/`)) throw new Error('cannot move a value into itself');
      const removed = remove(root, from);
      return add(removed.root, segments, removed.value);
    }
  }
  throw new Error(`unknown operation "${(op as { op: string }).op}"`);
}

function add(root: unknown, segments: string[], value: unknown): unknown {
  if (segments.length === 0) return value;
  const parent = getAt(root, segments.slice(0, -1));
  const last = segments[segments.length - 1] as string;
  if (Array.isArray(parent)) parent.splice(arrayIndex(last, parent.length, true), 0, value);
  else if (isObject(parent)) setKey(parent, last, value);
  else throw new Error('parent is not a container');
  return root;
}

function remove(root: unknown, segments: string[]): { root: unknown; value: unknown } {
  if (segments.length === 0) return { root: undefined, value: root };
  const parent = getAt(root, segments.slice(0, -1));
  const last = segments[segments.length - 1] as string;
  if (Array.isArray(parent)) {
    const value: unknown = parent.splice(arrayIndex(last, parent.length, false), 1)[0];
    return { root, value };
  }
  if (isObject(parent) && Object.hasOwn(parent, last)) {
    const value = parent[last];
    delete parent[last];
    return { root, value };
  }
  throw new Error(`"${last}" does not exist`);
}

/**
 * The JSON Merge Patch that turns `from` into `to`: changed keys carry their new
 * value, removed keys `null`, arrays are replaced whole. Returns `undefined`
 * when the two are equal.
 */
export function createMergePatch(from: unknown, to: unknown): unknown {
  if (deepEqual(from, to)) return undefined;
  if (!isObject(from) || !isObject(to)) return deepCopy(to);
  const patch: Record<string, unknown> = {};
  for (const key of Object.keys(from)) {
    if (from[key] !== undefined && ownValue(to, key) === undefined) setKey(patch, key, null);
  }
  for (const key of Object.keys(to)) {
    const value = to[key];
    if (value === undefined) continue;
    const previous = ownValue(from, key);
    const sub = previous === undefined ? deepCopy(value) : createMergePatch(previous, value);
    if (sub !== undefined) setKey(patch, key, sub);
  }
  return patch;
}

/** Applies a JSON Merge Patch to a copy of `target` (RFC 7386). */
export function applyMergePatch<T = unknown>(target: unknown, patch: unknown): T {
  if (!isObject(patch)) return deepCopy(patch) as T;
  const out: Record<string, unknown> = isObject(target) ? deepCopy(target) : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else if (value !== undefined)
      setKey(out, key, applyMergePatch(Object.hasOwn(out, key) ? out[key] : undefined, value));
  }
  return out as T;
}
