// Table tests over node:test, after reconciler.io's ReconcilerTests and
// SubReconcilerTests: each row is a named case of given objects and expected side
// effects; the runner makes one `it()` per row inside a `describe()` for the table.
// A failing row reports every expectation it missed at once, each with a
// path-by-path diff. (Admission handler tables: admission-table.ts.)
//
// `run*TestCase` run one row and throw an AssertionError when it fails: the
// runners call them, and so can a test that wants to check a row by hand.

import { refOf } from '@bindery/kube';
import type { KubeObject, TypeRef } from '@bindery/kube';
import type { Reconciler, Request, SubReconciler } from '../reconciler.ts';
import type { Result } from '../result.ts';
import { Stash } from '../stash.ts';
import type { FakeServerOptions, TestConfig } from './config.ts';
import { checkError, checkResult, checkStash, compareObject } from './expect.ts';
import type { StashedValues } from './expect.ts';
import { jsonCopy } from './object-store.ts';
import { checkConfigs, fail, rowConfig, table, verifying, withCleanUp } from './table-runner.ts';
import type { RowBase } from './table-runner.ts';

export type { AdditionalConfig, RowBase } from './table-runner.ts';

/**
 * A further reconcile of a row (reconciler.io's AdditionalReconciles): a row of its own — its
 * world, its expectations — run after the row by the same reconciler instance, so that what the
 * reconciler keeps in memory between reconciles (counters, caches, backoff) is what is tested. The
 * world does not carry over: give each reconcile the objects it should find. `name` labels its
 * problems.
 */
export type AdditionalReconcile<Row> = Omit<Row, 'skip' | 'focus' | 'additionalReconciles'> & {
  name?: string;
};

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
  /** Reconciles after this one, in order, by the same reconciler. */
  additionalReconciles?: ReadonlyArray<AdditionalReconcile<ReconcilerTestCase>>;
}

export interface ReconcilerTestsOptions extends FakeServerOptions {
  /**
   * Called once per row, with the row's config; the additional reconciles reuse what it returned,
   * each with a config of its own in `ctx.config` (so read the config from `ctx`, not from here).
   */
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
  /** Reconciles after this one, in order, by the same sub-reconciler. */
  additionalReconciles?: ReadonlyArray<AdditionalReconcile<SubReconcilerTestCase<T>>>;
}

export interface SubReconcilerTestsOptions<T extends KubeObject> extends FakeServerOptions {
  /** Called once per row; the additional reconciles reuse what it returned (see ReconcilerTestsOptions). */
  reconciler: (config: TestConfig) => SubReconciler<T>;
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

/** Runs one ReconcilerTests row; throws an AssertionError listing every expectation it missed. */
export async function runReconcilerTestCase(
  options: ReconcilerTestsOptions,
  row: ReconcilerTestCase,
): Promise<void> {
  await runWithAdditional(options, row, reconcilerRowProblems);
}

/** Runs one SubReconcilerTests row; throws an AssertionError listing every expectation it missed. */
export async function runSubReconcilerTestCase<T extends KubeObject>(
  options: SubReconcilerTestsOptions<T>,
  row: SubReconcilerTestCase<T>,
): Promise<void> {
  await runWithAdditional(options, row, subReconcilerRowProblems);
}

/**
 * The row, then its additional reconciles, all with the one reconciler the table's factory builds
 * for the row; fails once, with the problems of every reconcile.
 */
async function runWithAdditional<R, O extends { reconciler: (config: TestConfig) => R }, Row>(
  options: O,
  row: Row & { additionalReconciles?: ReadonlyArray<AdditionalReconcile<Row>> },
  problemsOf: (options: O, row: AdditionalReconcile<Row>) => Promise<string[]>,
): Promise<void> {
  let built: R | undefined;
  const once = { ...options, reconciler: (config: TestConfig) => (built ??= options.reconciler(config)) };
  const problems = await problemsOf(once, row);
  for (const [i, again] of (row.additionalReconciles ?? []).entries()) {
    const label = additionalLabel(i, again.name);
    problems.push(...(await problemsOf(once, again)).map((p) => `${label}: ${p}`));
  }
  fail(problems);
}

function additionalLabel(index: number, name: string | undefined): string {
  return `additionalReconciles[${index}]${name ? ` (${name})` : ''}`;
}

async function reconcilerRowProblems(
  options: ReconcilerTestsOptions,
  row: AdditionalReconcile<ReconcilerTestCase>,
): Promise<string[]> {
  const config = rowConfig(options, row, []);
  let problems: string[] = [];
  await withCleanUp(config, row, async () => {
    await row.prepare?.(config);
    const reconciler = options.reconciler(config);
    const fields = {
      request: row.request,
      ...(options.resourceType ? { resourceType: options.resourceType } : {}),
    };
    const { result, error, stash } = await reconcileWith(config, row.givenStashedValues, fields, (ctx) =>
      reconciler.reconcile(ctx, row.request),
    );
    problems = [
      ...checkError(row.shouldErr, error),
      ...(error === undefined ? checkResult(row.expectedResult, result) : []),
      ...checkConfigs(config, row),
      ...checkStash(row.expectStashedValues, stash),
      ...(await verifying(() => row.verify?.(result, error, config))),
    ];
  });
  return problems;
}

async function subReconcilerRowProblems<T extends KubeObject>(
  options: SubReconcilerTestsOptions<T>,
  row: AdditionalReconcile<SubReconcilerTestCase<T>>,
): Promise<string[]> {
  const given = jsonCopy(row.resource);
  if (!given.apiVersion || !given.kind || !given.metadata.name) {
    throw new Error('subReconcilerTests: the row resource needs apiVersion, kind and metadata.name');
  }
  const type: TypeRef = { apiVersion: given.apiVersion, kind: given.kind };
  const ref = refOf(given);
  const alreadyGiven = (row.givenObjects ?? []).some(
    (o) =>
      o.kind === given.kind &&
      o.metadata.name === given.metadata.name &&
      (o.metadata.namespace ?? '') === (given.metadata.namespace ?? ''),
  );
  const config = rowConfig(options, row, alreadyGiven ? [] : [given]);
  let problems: string[] = [];
  await withCleanUp(config, row, async () => {
    await row.prepare?.(config);
    const resource = config.client.stored<T>(ref) ?? given;
    const reconciler = options.reconciler(config);
    const request = { name: ref.name, ...(ref.namespace ? { namespace: ref.namespace } : {}) };
    const { result, error, stash } = await reconcileWith(
      config,
      row.givenStashedValues,
      { request, resourceType: type },
      (ctx) => reconciler.reconcile(ctx, resource),
    );
    problems = [
      ...checkError(row.shouldErr, error),
      ...(error === undefined ? checkResult(row.expectedResult, result) : []),
      ...compareObject(
        `expectResource${row.expectResource ? '' : ' (unchanged)'} differs`,
        row.expectResource ?? row.resource,
        resource,
      ),
      ...checkConfigs(config, row),
      ...checkStash(row.expectStashedValues, stash),
      ...(await verifying(() => row.verify?.(result, error, config, resource))),
    ];
  });
  return problems;
}

/** What every reconcile of a row is given besides its request and resource type. */
interface RowContext {
  config: TestConfig;
  originalConfig: TestConfig;
  stash: Stash;
  signal: AbortSignal;
  log: TestConfig['log'];
}

/**
 * Calls the reconciler with a context on `config` (its own original config), a stash seeded with
 * `stashed`, and a signal that aborts once it returns: what it returned, or threw, and the stash.
 */
async function reconcileWith<F extends object>(
  config: TestConfig,
  stashed: StashedValues | undefined,
  fields: F,
  call: (ctx: RowContext & F) => Promise<Result | void>,
): Promise<{ result: Result | undefined; error: unknown; stash: Stash }> {
  const stash = givenStash(stashed);
  const controller = new AbortController();
  const ctx = {
    config,
    originalConfig: config,
    stash,
    signal: controller.signal,
    log: config.log,
    ...fields,
  };
  try {
    return { result: (await call(ctx)) ?? undefined, error: undefined, stash };
  } catch (err) {
    return { result: undefined, error: err ?? new Error(String(err)), stash };
  } finally {
    controller.abort();
  }
}

function givenStash(values: StashedValues | undefined): Stash {
  const stash = new Stash();
  for (const [key, value] of values ?? []) stash.set(key, value);
  return stash;
}
