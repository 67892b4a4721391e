// Table tests over node:test, after reconciler.io's ReconcilerTests,
// SubReconcilerTests and AdmissionWebhookTests: each row is a named case of
// given objects and expected side effects; the runner makes one `it()` per row
// inside a `describe()` for the table. A failing row reports every expectation it
// missed at once, each with a path-by-path diff.
//
// `run*TestCase` run one row and throw an AssertionError when it fails: the
// runners call them, and so can a test that wants to check a row by hand.

import { AssertionError } from 'node:assert';
import { describe, it } from 'node:test';
import type { KubeObject, TypeRef } from '@bindery/kube';
import { applyJsonPatch } from '../json-patch.ts';
import type { JsonPatchOperation } from '../json-patch.ts';
import type { Reconciler, Request, SubReconciler } from '../reconciler.ts';
import type { Result } from '../result.ts';
import { Stash } from '../stash.ts';
import { testConfig } from './config.ts';
import type { FakeServerOptions, TestConfig } from './config.ts';
import { diff, formatDiff, formatValue } from './diff.ts';
import { checkError, checkExpectations, checkResult, checkStash, compareObject } from './expect.ts';
import type { Expectations, StashedValues } from './expect.ts';
import { jsonCopy } from './fake-client.ts';
import type { Reactor } from './fake-client.ts';

/** What every kind of row has: the world before, and what may be run around the test. */
export interface RowBase extends Expectations {
  /** Objects in the cluster (the informer cache and the API server). */
  givenObjects?: readonly KubeObject[];
  /** Objects only `config.apiReader` sees (reconciler.io's APIGivenObjects). */
  apiGivenObjects?: readonly KubeObject[];
  /** Reactors of the fake client, to inject failures. */
  withReactors?: readonly Reactor[];
  /** Fail the row unless the call throws (`true`), or throws an error whose message matches. */
  shouldErr?: boolean | RegExp;
  /** Skip the row; a string says why. */
  skip?: boolean | string;
  /** Run only focused rows of this table. The table then fails, so focus is not committed. */
  focus?: boolean;
  /** Runs before the reconciler is built: advance the clock, add objects, reactors. */
  prepare?(config: TestConfig): void | Promise<void>;
  /** Runs after the row, failed or not. */
  cleanUp?(config: TestConfig): void | Promise<void>;
}

export interface ReconcilerTestCase extends RowBase {
  request: Request;
  /** Seeds the reconcile's stash. */
  givenStashedValues?: StashedValues;
  /** The stash after the reconcile; only keys listed are compared. */
  expectStashedValues?: StashedValues;
  /** Default `{}`: no requeue. Not compared when the reconcile threw. */
  expectedResult?: Result;
  /** More checks; a throw fails the row, reported with the kit's own problems. */
  verify?(result: Result | undefined, error: unknown, config: TestConfig): void | Promise<void>;
}

export interface ReconcilerTestsOptions extends FakeServerOptions {
  reconciler: (config: TestConfig) => Reconciler;
  /** Passed as `ctx.resourceType`; a ResourceReconciler knows its own. */
  resourceType?: TypeRef;
}

export interface SubReconcilerTestCase<T extends KubeObject> extends RowBase {
  /**
   * The reconciled resource as given. It is stored in the fake client too (unless
   * `givenObjects` has it), and the sub-reconciler gets the stored copy, with
   * server-generated fields filled in.
   */
  resource: T;
  /**
   * The resource after the reconcile, compared in full (with the kit's rule for
   * server-generated fields): this is how status changes are asserted. Absent:
   * the resource must be unchanged.
   */
  expectResource?: T;
  givenStashedValues?: StashedValues;
  expectStashedValues?: StashedValues;
  expectedResult?: Result;
  verify?(result: Result | undefined, error: unknown, config: TestConfig, resource: T): void | Promise<void>;
}

export interface SubReconcilerTestsOptions<T extends KubeObject> extends FakeServerOptions {
  reconciler: (config: TestConfig) => SubReconciler<T>;
}

/** What the kit needs of an AdmissionRequest (the webhook layer's type satisfies it). */
export interface AdmissionRequestLike {
  uid: string;
  object?: unknown;
}

/** What the kit needs of an AdmissionResponse (the webhook layer's type satisfies it). */
export interface AdmissionResponseLike {
  uid: string;
  allowed: boolean;
  patch?: string;
  patchType?: 'JSONPatch';
  status?: { code?: number; message?: string; reason?: string };
  warnings?: string[];
}

export interface ExpectedAdmissionResponse {
  allowed: boolean;
  /** The JSON Patch, decoded; absent: the response must carry no patch (or an empty one). */
  patch?: readonly JsonPatchOperation[];
  /** Compared field by field, only the fields set; `message` may be a RegExp. */
  status?: { code?: number; message?: string | RegExp; reason?: string };
  /** Compared when set. */
  warnings?: readonly string[];
}

export type AdmissionHandler<Req extends AdmissionRequestLike> = (
  request: Req,
) => Promise<AdmissionResponseLike>;

export interface AdmissionWebhookTestCase<Req extends AdmissionRequestLike> extends RowBase {
  /** The `request` of the AdmissionReview the API server sends. */
  request: Req;
  /** Default `{ allowed: true }`. The response's `uid` must always be the request's. */
  expectResponse?: ExpectedAdmissionResponse;
  /** `request.object` with the response's patch applied, compared in full. */
  expectPatchedObject?: unknown;
  verify?(
    response: AdmissionResponseLike | undefined,
    error: unknown,
    config: TestConfig,
  ): void | Promise<void>;
}

export interface AdmissionWebhookTestsOptions<Req extends AdmissionRequestLike> extends FakeServerOptions {
  handler: (config: TestConfig) => AdmissionHandler<Req>;
}

/** A table of Reconciler rows: `describe(name)` with one `it()` per row. */
export function reconcilerTests(
  name: string,
  options: ReconcilerTestsOptions & { rows: Record<string, ReconcilerTestCase> },
): void {
  table(name, options.rows, (row) => runReconcilerTestCase(options, row));
}

/** A table of SubReconciler rows: `describe(name)` with one `it()` per row. */
export function subReconcilerTests<T extends KubeObject>(
  name: string,
  options: SubReconcilerTestsOptions<T> & { rows: Record<string, SubReconcilerTestCase<T>> },
): void {
  table(name, options.rows, (row) => runSubReconcilerTestCase(options, row));
}

/** A table of admission handler rows: `describe(name)` with one `it()` per row. */
export function admissionWebhookTests<Req extends AdmissionRequestLike>(
  name: string,
  options: AdmissionWebhookTestsOptions<Req> & { rows: Record<string, AdmissionWebhookTestCase<Req>> },
): void {
  table(name, options.rows, (row) => runAdmissionWebhookTestCase(options, row));
}

function table<R extends RowBase>(
  name: string,
  rows: Record<string, R>,
  run: (row: R) => Promise<void>,
): void {
  const focused = Object.entries(rows)
    .filter(([, row]) => row.focus)
    .map(([rowName]) => rowName);
  describe(name, () => {
    for (const [rowName, row] of Object.entries(rows)) {
      const skip: boolean | string =
        typeof row.skip === 'string' || row.skip === true
          ? row.skip
          : focused.length > 0 && !row.focus
            ? 'another row is focused'
            : false;
      it(rowName, { skip }, () => run(row));
    }
    if (focused.length > 0) {
      it('has no focused rows', () => {
        throw new AssertionError({
          message: `${focused.length === 1 ? 'row' : 'rows'} ${focused.map((n) => JSON.stringify(n)).join(', ')} ${focused.length === 1 ? 'is' : 'are'} focused; remove focus before committing`,
        });
      });
    }
  });
}

/** Runs one ReconcilerTests row; throws an AssertionError listing every expectation it missed. */
export async function runReconcilerTestCase(
  options: ReconcilerTestsOptions,
  row: ReconcilerTestCase,
): Promise<void> {
  const config = rowConfig(options, row, []);
  await withCleanUp(config, row, async () => {
    await row.prepare?.(config);
    const stash = givenStash(row.givenStashedValues);
    const reconciler = options.reconciler(config);
    const controller = new AbortController();
    let result: Result | undefined;
    let error: unknown;
    try {
      result = await reconciler.reconcile(
        {
          config,
          stash,
          signal: controller.signal,
          log: config.log,
          request: row.request,
          originalConfig: config,
          ...(options.resourceType ? { resourceType: options.resourceType } : {}),
        },
        row.request,
      );
    } catch (err) {
      error = err ?? new Error(String(err));
    } finally {
      controller.abort();
    }
    const problems = [
      ...checkError(row.shouldErr, error),
      ...(error === undefined ? checkResult(row.expectedResult, result) : []),
      ...checkExpectations(config, row),
      ...checkStash(row.expectStashedValues, stash),
      ...(await verifying(() => row.verify?.(result, error, config))),
    ];
    fail(problems);
  });
}

/** Runs one SubReconcilerTests row; throws an AssertionError listing every expectation it missed. */
export async function runSubReconcilerTestCase<T extends KubeObject>(
  options: SubReconcilerTestsOptions<T>,
  row: SubReconcilerTestCase<T>,
): Promise<void> {
  const given = jsonCopy(row.resource);
  if (!given.apiVersion || !given.kind || !given.metadata.name) {
    throw new Error('subReconcilerTests: the row resource needs apiVersion, kind and metadata.name');
  }
  const type: TypeRef = { apiVersion: given.apiVersion, kind: given.kind };
  const ref = {
    ...type,
    name: given.metadata.name,
    ...(given.metadata.namespace ? { namespace: given.metadata.namespace } : {}),
  };
  const alreadyGiven = (row.givenObjects ?? []).some(
    (o) =>
      o.kind === given.kind &&
      o.metadata.name === given.metadata.name &&
      (o.metadata.namespace ?? '') === (given.metadata.namespace ?? ''),
  );
  const config = rowConfig(options, row, alreadyGiven ? [] : [given]);
  await withCleanUp(config, row, async () => {
    await row.prepare?.(config);
    const resource = config.client.stored<T>(ref) ?? given;
    const stash = givenStash(row.givenStashedValues);
    const reconciler = options.reconciler(config);
    const controller = new AbortController();
    let result: Result | undefined;
    let error: unknown;
    try {
      result =
        (await reconciler.reconcile(
          {
            config,
            stash,
            signal: controller.signal,
            log: config.log,
            request: {
              name: ref.name,
              ...(ref.namespace ? { namespace: ref.namespace } : {}),
            },
            resourceType: type,
            originalConfig: config,
          },
          resource,
        )) ?? undefined;
    } catch (err) {
      error = err ?? new Error(String(err));
    } finally {
      controller.abort();
    }
    const problems = [
      ...checkError(row.shouldErr, error),
      ...(error === undefined ? checkResult(row.expectedResult, result) : []),
      ...compareObject(
        `expectResource${row.expectResource ? '' : ' (unchanged)'} differs`,
        row.expectResource ?? row.resource,
        resource,
      ),
      ...checkExpectations(config, row),
      ...checkStash(row.expectStashedValues, stash),
      ...(await verifying(() => row.verify?.(result, error, config, resource))),
    ];
    fail(problems);
  });
}

/** Runs one AdmissionWebhookTests row; throws an AssertionError listing every expectation it missed. */
export async function runAdmissionWebhookTestCase<Req extends AdmissionRequestLike>(
  options: AdmissionWebhookTestsOptions<Req>,
  row: AdmissionWebhookTestCase<Req>,
): Promise<void> {
  const config = rowConfig(options, row, []);
  await withCleanUp(config, row, async () => {
    await row.prepare?.(config);
    const handler = options.handler(config);
    let response: AdmissionResponseLike | undefined;
    let error: unknown;
    try {
      response = await handler(jsonCopy(row.request));
    } catch (err) {
      error = err ?? new Error(String(err));
    }
    const problems = [
      ...checkError(row.shouldErr, error),
      ...(response !== undefined ? checkResponse(row, response) : []),
      ...checkExpectations(config, row),
      ...(await verifying(() => row.verify?.(response, error, config))),
    ];
    fail(problems);
  });
}

/** The JSON Patch of an admission response, decoded from base64. */
export function decodeAdmissionPatch(response: Pick<AdmissionResponseLike, 'patch'>): JsonPatchOperation[] {
  if (response.patch === undefined || response.patch === '') return [];
  const ops: unknown = JSON.parse(Buffer.from(response.patch, 'base64').toString('utf8'));
  if (!Array.isArray(ops)) throw new Error('the patch is not a JSON array');
  return ops as JsonPatchOperation[];
}

function checkResponse<Req extends AdmissionRequestLike>(
  row: AdmissionWebhookTestCase<Req>,
  response: AdmissionResponseLike,
): string[] {
  const problems: string[] = [];
  const expected = row.expectResponse ?? { allowed: true };
  if (response.uid !== row.request.uid) {
    problems.push(
      `response.uid: expected ${formatValue(row.request.uid)} (the request's), got ${formatValue(response.uid)}`,
    );
  }
  if (response.allowed !== expected.allowed) {
    const why = response.status?.message ? ` (${response.status.message})` : '';
    problems.push(`response.allowed: expected ${expected.allowed}, got ${response.allowed}${why}`);
  }
  let ops: JsonPatchOperation[] | undefined;
  try {
    ops = decodeAdmissionPatch(response);
  } catch (err) {
    problems.push(`response.patch: cannot decode ${formatValue(response.patch)}: ${(err as Error).message}`);
  }
  if (ops !== undefined) {
    if (ops.length > 0 && response.patchType !== 'JSONPatch') {
      problems.push(
        `response.patchType: expected "JSONPatch" with a patch, got ${formatValue(response.patchType)}`,
      );
    }
    const differences = diff(jsonCopy(expected.patch ?? []), ops);
    if (differences.length > 0) {
      problems.push(`response.patch differs:\n${formatDiff(differences, { indent: '    ' })}`);
    }
    if (row.expectPatchedObject !== undefined) {
      try {
        const patched = applyJsonPatch(row.request.object, ops);
        problems.push(...compareObject('expectPatchedObject differs', row.expectPatchedObject, patched));
      } catch (err) {
        problems.push(
          `expectPatchedObject: the patch does not apply to request.object: ${(err as Error).message}`,
        );
      }
    }
  }
  if (expected.status) {
    const actual = response.status ?? {};
    const { code, reason, message } = expected.status;
    if (code !== undefined && actual.code !== code) {
      problems.push(`response.status.code: expected ${code}, got ${formatValue(actual.code)}`);
    }
    if (reason !== undefined && actual.reason !== reason) {
      problems.push(
        `response.status.reason: expected ${formatValue(reason)}, got ${formatValue(actual.reason)}`,
      );
    }
    if (
      message instanceof RegExp
        ? !message.test(actual.message ?? '')
        : message !== undefined && actual.message !== message
    ) {
      problems.push(
        `response.status.message: expected ${message instanceof RegExp ? String(message) : formatValue(message)}, got ${formatValue(actual.message)}`,
      );
    }
  }
  if (expected.warnings) {
    const differences = diff(jsonCopy(expected.warnings), response.warnings ?? []);
    if (differences.length > 0) {
      problems.push(`response.warnings differs:\n${formatDiff(differences, { indent: '    ' })}`);
    }
  }
  return problems;
}

function rowConfig(server: FakeServerOptions, row: RowBase, extra: readonly KubeObject[]): TestConfig {
  return testConfig({
    givenObjects: [...(row.givenObjects ?? []), ...extra],
    ...(row.apiGivenObjects ? { apiGivenObjects: row.apiGivenObjects } : {}),
    ...(row.withReactors ? { reactors: row.withReactors } : {}),
    ...(server.withoutStatusSubresource ? { withoutStatusSubresource: server.withoutStatusSubresource } : {}),
    ...(server.plurals ? { plurals: server.plurals } : {}),
  });
}

function givenStash(values: StashedValues | undefined): Stash {
  const stash = new Stash();
  for (const [key, value] of values ?? []) stash.set(key, value);
  return stash;
}

async function withCleanUp(config: TestConfig, row: RowBase, body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } finally {
    await row.cleanUp?.(config);
  }
}

async function verifying(fn: () => void | Promise<void>): Promise<string[]> {
  try {
    await fn();
    return [];
  } catch (err) {
    return [`verify: ${err instanceof Error ? err.message : String(err)}`];
  }
}

function fail(problems: readonly string[]): void {
  if (problems.length === 0) return;
  const header =
    problems.length === 1 ? '1 expectation not met:' : `${problems.length} expectations not met:`;
  throw new AssertionError({ message: `${header}\n- ${problems.join('\n- ')}` });
}
