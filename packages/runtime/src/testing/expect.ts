// What a table row expects, and how the kit compares it with what happened. Each
// check returns the problems it found as message lines; the table runners
// collect them and fail the row with all of them at once.
//
// The comparison rule, the same everywhere an object is compared: the fields the
// API server generates — metadata.uid, resourceVersion, generation,
// creationTimestamp and managedFields — are ignored unless the expected object
// sets them. Everything else is compared exactly; an `undefined` field counts as
// absent.

import { isObject } from '@bindery/kube';
import type { KubeObject, PatchType } from '@bindery/kube';
import type { Result } from '../result.ts';
import type { Stash, StashKey } from '../stash.ts';
import { diff, formatDiff, formatValue } from './diff.ts';
import type { Action, ActionRef } from './actions.ts';
import type { FakeClient } from './fake-client.ts';
import { jsonCopy } from './object-store.ts';
import type { FakeRecorder, RecordedEvent } from './recorder.ts';
import type { FakeTracker, TrackRequest } from './tracker.ts';

/** Metadata fields ignored in comparisons unless the expected object sets them. */
export const serverGeneratedFields = [
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'managedFields',
] as const;

/** A patch a row expects (reconciler.io's `PatchRef`). `apiVersion` is compared when set. */
export interface PatchRef {
  apiVersion?: string;
  kind: string;
  namespace?: string;
  name: string;
  patchType: PatchType;
  /** The patch as JSON (a string patch is parsed before comparing). */
  patch: unknown;
  /** `status` for a patch of the status subresource. */
  subresource?: string;
}

/** A delete a row expects. `apiVersion` is compared when set. */
export interface DeleteRef {
  apiVersion?: string;
  kind: string;
  namespace?: string;
  name: string;
}

/**
 * The side effects a row expects. An absent list means "none": an action nobody
 * expected fails the row, and so does an expected one that did not happen. Lists
 * are compared in order. Writes are compared as they were sent, failed ones
 * included (a reactor that fails an update still leaves the attempt to compare).
 */
export interface Expectations {
  expectTracks?: readonly TrackRequest[];
  expectEvents?: readonly RecordedEvent[];
  /** Objects as sent to `create`. */
  expectCreates?: readonly KubeObject[];
  /** Objects as sent to `update`. */
  expectUpdates?: readonly KubeObject[];
  expectPatches?: readonly PatchRef[];
  expectDeletes?: readonly DeleteRef[];
  /** Objects as sent to `updateStatus`. */
  expectStatusUpdates?: readonly KubeObject[];
}

/** Stash entries, as `[key, value]` pairs; build them with `stashed(key, value)` to check types. */
export type StashedValues = ReadonlyArray<readonly [StashKey<unknown>, unknown]>;

/** One stash entry, typed by its key. */
export function stashed<T>(key: StashKey<T>, value: T): readonly [StashKey<unknown>, unknown] {
  return [key, value];
}

/** The DeleteRef of an object. */
export function newDeleteRef(obj: KubeObject): DeleteRef {
  return {
    ...(obj.apiVersion ? { apiVersion: obj.apiVersion } : {}),
    kind: obj.kind ?? '',
    ...(obj.metadata.namespace ? { namespace: obj.metadata.namespace } : {}),
    name: obj.metadata.name ?? '',
  };
}

/**
 * A JSON copy of `actual` without the server-generated metadata fields that
 * `expected` does not set: what `actual` is compared as.
 */
export function normalizeObject(actual: unknown, expected: unknown): unknown {
  const copy = jsonCopy(actual);
  if (!isObject(copy) || !isObject(copy['metadata'])) return copy;
  const expectedMeta = isObject(expected) && isObject(expected['metadata']) ? expected['metadata'] : {};
  const meta = copy['metadata'];
  for (const field of serverGeneratedFields) {
    if (expectedMeta[field] === undefined) delete meta[field];
  }
  return copy;
}

/** The problems comparing `actual` with `expected` under the kit's rule, indented under `header`. */
export function compareObject(header: string, expected: unknown, actual: unknown): string[] {
  const differences = diff(jsonCopy(expected), normalizeObject(actual, expected));
  return differences.length === 0 ? [] : [`${header}:\n${formatDiff(differences, { indent: '    ' })}`];
}

/** `Deployment ns/web`; `ConfigMap ns/web-*` for a create by generateName. */
export function describeRef(ref: ActionRef | DeleteRef | PatchRef): string {
  const name = ref.name ?? ('generateName' in ref && ref.generateName ? `${ref.generateName}*` : '');
  return `${ref.kind} ${ref.namespace ? `${ref.namespace}/` : ''}${name}`;
}

const verbWords: Record<Action['verb'], string> = {
  get: 'get',
  list: 'list',
  create: 'create',
  update: 'update',
  updateStatus: 'status update',
  patch: 'patch',
  delete: 'delete',
};

/** Checks the writes recorded by `client`, the events of `recorder` and the tracks of `tracker`. */
export function checkExpectations(
  config: { client: FakeClient; recorder: FakeRecorder; tracker: FakeTracker },
  expected: Expectations,
): string[] {
  const writes = config.client.writes();
  const of = (verb: Action['verb']): Action[] => writes.filter((a) => a.verb === verb);
  return [
    ...compareList('expectCreates', expected.expectCreates, of('create'), compareWrite),
    ...compareList('expectUpdates', expected.expectUpdates, of('update'), compareWrite),
    ...compareList('expectStatusUpdates', expected.expectStatusUpdates, of('updateStatus'), compareWrite),
    ...compareList('expectPatches', expected.expectPatches, of('patch'), comparePatch),
    ...compareList('expectDeletes', expected.expectDeletes, of('delete'), compareDelete),
    ...compareEvents(expected.expectEvents, config.recorder.events),
    ...compareTracks(expected.expectTracks, config.tracker.tracks),
  ];
}

function compareList<E extends object>(
  field: string,
  expected: readonly E[] | undefined,
  actual: readonly Action[],
  compare: (header: string, e: E, a: Action) => string[],
): string[] {
  return compareInOrder(expected, actual, {
    missing: (e, i) => `${field}[${i}]: missing ${verbOf(field)} of ${describeExpected(e)}`,
    unexpected: (a) => {
      const what = a.object ?? a.patch;
      return `unexpected ${verbWords[a.verb]} of ${describeRef(a.ref)}${what !== undefined ? `: ${formatValue(what, 600)}` : ''}`;
    },
    differs: (e, a, i) =>
      compare(`${field}[${i}]: ${verbWords[a.verb]} of ${describeRef(a.ref)} differs`, e, a),
  });
}

/** What `compareInOrder` says of a position where an entry is missing, unexpected or different. */
interface InOrder<E, A> {
  missing: (expected: E, index: number) => string;
  unexpected: (actual: A) => string;
  differs: (expected: E, actual: A, index: number) => string[];
}

/** Compares the expected entries with the actual ones position by position. */
function compareInOrder<E, A>(
  expected: readonly E[] | undefined,
  actual: readonly A[],
  say: InOrder<E, A>,
): string[] {
  const exp = expected ?? [];
  const problems: string[] = [];
  for (let i = 0; i < Math.max(exp.length, actual.length); i++) {
    const e = exp[i];
    const a = actual[i];
    if (a === undefined && e !== undefined) problems.push(say.missing(e, i));
    else if (a !== undefined && e === undefined) problems.push(say.unexpected(a));
    else if (a !== undefined && e !== undefined) problems.push(...say.differs(e, a, i));
  }
  return problems;
}

/** `header:` and a path-by-path diff of the two (as JSON), or nothing when they are the same. */
function differs(header: string, expected: unknown, actual: unknown): string[] {
  const differences = diff(jsonCopy(expected), jsonCopy(actual));
  return differences.length === 0 ? [] : [`${header}:\n${formatDiff(differences, { indent: '    ' })}`];
}

function verbOf(field: string): string {
  return (
    {
      expectCreates: 'create',
      expectUpdates: 'update',
      expectStatusUpdates: 'status update',
      expectPatches: 'patch',
      expectDeletes: 'delete',
    }[field] ?? field
  );
}

function describeExpected(e: object): string {
  if ('metadata' in e) {
    const obj = e as KubeObject;
    return describeRef({
      apiVersion: obj.apiVersion ?? '',
      kind: obj.kind ?? '',
      ...(obj.metadata.namespace ? { namespace: obj.metadata.namespace } : {}),
      ...(obj.metadata.name ? { name: obj.metadata.name } : {}),
      ...(obj.metadata.generateName ? { generateName: obj.metadata.generateName } : {}),
    });
  }
  return describeRef(e as DeleteRef);
}

function compareWrite(header: string, expected: KubeObject, action: Action): string[] {
  return compareObject(header, expected, action.object);
}

function comparePatch(header: string, expected: PatchRef, action: Action): string[] {
  const actual: Record<string, unknown> = {
    kind: action.ref.kind,
    namespace: action.ref.namespace,
    name: action.ref.name,
    patchType: action.patchType,
    subresource: action.subresource,
    patch: action.patch,
  };
  if (expected.apiVersion !== undefined) actual['apiVersion'] = action.ref.apiVersion;
  const exp = {
    ...expected,
    patch: typeof expected.patch === 'string' ? parseJson(expected.patch) : expected.patch,
  };
  return differs(header, exp, actual);
}

function compareDelete(header: string, expected: DeleteRef, action: Action): string[] {
  const actual: Record<string, unknown> = {
    kind: action.ref.kind,
    namespace: action.ref.namespace,
    name: action.ref.name,
  };
  if (expected.apiVersion !== undefined) actual['apiVersion'] = action.ref.apiVersion;
  return differs(header, expected, actual);
}

function compareEvents(
  expected: readonly RecordedEvent[] | undefined,
  actual: readonly RecordedEvent[],
): string[] {
  const describe = (ev: RecordedEvent): string =>
    `${ev.type} ${ev.reason} event about ${describeRef(ev.regarding)} ${JSON.stringify(ev.note)}`;
  return compareInOrder(expected, actual, {
    missing: (e, i) => `expectEvents[${i}]: missing ${describe(e)}`,
    unexpected: (a) => `unexpected ${describe(a)}`,
    differs: (e, a, i) => {
      const actualEvent: RecordedEvent = { ...a };
      if (e.action === undefined) delete actualEvent.action;
      return differs(`expectEvents[${i}] differs`, e, actualEvent);
    },
  });
}

function compareTracks(
  expected: readonly TrackRequest[] | undefined,
  actual: readonly TrackRequest[],
): string[] {
  const describe = (t: TrackRequest): string =>
    `track of ${t.tracked.kind} ${t.tracked.namespace ? `${t.tracked.namespace}/` : ''}${t.tracked.name ?? `(selector ${JSON.stringify(t.tracked.selector ?? '')})`} by ${describeRef(t.by)}`;
  return compareInOrder(expected, actual, {
    missing: (e, i) => `expectTracks[${i}]: missing ${describe(e)}`,
    unexpected: (a) => `unexpected ${describe(a)}`,
    differs: (e, a, i) => differs(`expectTracks[${i}] differs`, e, a),
  });
}

/**
 * Checks the stash against `expected`: only the keys listed are compared, and an
 * expected value of `undefined` means "nothing stashed under this key".
 */
export function checkStash(expected: StashedValues | undefined, stash: Stash): string[] {
  const problems: string[] = [];
  for (const [key, value] of expected ?? []) {
    if (value === undefined) {
      if (stash.has(key)) {
        problems.push(
          `expectStashedValues "${key.name}": expected nothing, got ${formatValue(stash.get(key))}`,
        );
      }
      continue;
    }
    if (!stash.has(key)) {
      problems.push(`expectStashedValues "${key.name}": expected ${formatValue(value)}, got nothing`);
      continue;
    }
    problems.push(...compareObject(`expectStashedValues "${key.name}" differs`, value, stash.get(key)));
  }
  return problems;
}

/** Checks a thrown error against `shouldErr`: `true` any error, a RegExp one whose message matches. */
export function checkError(shouldErr: boolean | RegExp | undefined, error: unknown): string[] {
  if (error === undefined) {
    return shouldErr
      ? [`expected an error${shouldErr instanceof RegExp ? ` matching ${String(shouldErr)}` : ''}, got none`]
      : [];
  }
  const message = error instanceof Error ? error.message : formatValue(error);
  if (!shouldErr) {
    const stack = error instanceof Error && error.stack ? error.stack : message;
    return [`unexpected error: ${stack.split('\n').join('\n    ')}`];
  }
  if (shouldErr instanceof RegExp && !shouldErr.test(message)) {
    return [`error ${JSON.stringify(message)} does not match ${String(shouldErr)}`];
  }
  return [];
}

/** A Result with its defaults dropped: `{}` means "done, no requeue". */
export function normalizeResult(result: Result | undefined): Result {
  const out: Result = {};
  if (result?.requeue) out.requeue = true;
  if (result?.requeueAfterMs !== undefined && result.requeueAfterMs > 0)
    out.requeueAfterMs = result.requeueAfterMs;
  return out;
}

/** Checks a reconcile's result; `expected` absent means `{}` (no requeue). */
export function checkResult(expected: Result | undefined, actual: Result | undefined): string[] {
  const differences = diff(normalizeResult(expected), normalizeResult(actual));
  return differences.length === 0
    ? []
    : [`expectedResult differs:\n${formatDiff(differences, { indent: '    ' })}`];
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
