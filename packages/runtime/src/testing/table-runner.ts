// What every table has in common, whatever it tests: the row fields about the world before and
// around the reconcile, the `describe()`/`it()` layout with skip and focus, the Config a row runs
// with, and failing a row with every problem at once. The kinds of rows are in table.ts
// (reconcilers) and admission-table.ts (admission handlers).

import { AssertionError } from 'node:assert';
import { describe, it } from 'node:test';
import type { KubeObject } from '@bindery/kube';
import { testConfig } from './config.ts';
import type { FakeServerOptions, TestConfig } from './config.ts';
import { checkExpectations } from './expect.ts';
import type { Expectations } from './expect.ts';
import type { Reactor } from './actions.ts';

/** One more fake cluster a row runs with, and what must happen in it. */
export interface AdditionalConfig extends Expectations {
  givenObjects?: readonly KubeObject[];
  apiGivenObjects?: readonly KubeObject[];
  withReactors?: readonly Reactor[];
}

/** What every kind of row has: the world before, and what may be run around the test. */
export interface RowBase extends Expectations {
  /** Objects in the cluster (the informer cache and the API server). */
  givenObjects?: readonly KubeObject[];
  /** Objects only `config.apiReader` sees (reconciler.io's APIGivenObjects). */
  apiGivenObjects?: readonly KubeObject[];
  /** Reactors of the fake client, to inject failures. */
  withReactors?: readonly Reactor[];
  /**
   * Further fake clusters by name (reconciler.io's AdditionalConfigs), reached with
   * `config.additionalConfig(name)` — typically what a `WithConfig` under test switches to. Each
   * one's expectations are checked like the row's own: absent means none.
   */
  additionalConfigs?: Readonly<Record<string, AdditionalConfig>>;
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

/** `describe(name)` with one `it()` per row, honouring `skip` and `focus`. */
export function table<R extends RowBase>(
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

/** The Config of a row: its world, the table's server options, and its additional configs. */
export function rowConfig(
  server: FakeServerOptions,
  row: Omit<RowBase, 'skip' | 'focus'>,
  extra: readonly KubeObject[],
): TestConfig {
  return testConfig({
    givenObjects: [...(row.givenObjects ?? []), ...extra],
    ...(row.apiGivenObjects ? { apiGivenObjects: row.apiGivenObjects } : {}),
    ...(row.withReactors ? { reactors: row.withReactors } : {}),
    ...(server.withoutStatusSubresource ? { withoutStatusSubresource: server.withoutStatusSubresource } : {}),
    ...(server.plurals ? { plurals: server.plurals } : {}),
    ...(server.served ? { served: server.served } : {}),
    ...(row.additionalConfigs
      ? {
          additionalConfigs: Object.fromEntries(
            Object.entries(row.additionalConfigs).map(([name, c]) => [
              name,
              {
                ...(c.givenObjects ? { givenObjects: c.givenObjects } : {}),
                ...(c.apiGivenObjects ? { apiGivenObjects: c.apiGivenObjects } : {}),
                ...(c.withReactors ? { reactors: c.withReactors } : {}),
              },
            ]),
          ),
        }
      : {}),
  });
}

/** The side effects of the row's config and of each additional config, checked against the row. */
export function checkConfigs(config: TestConfig, row: Omit<RowBase, 'skip' | 'focus'>): string[] {
  return [
    ...checkExpectations(config, row),
    ...Object.entries(row.additionalConfigs ?? {}).flatMap(([name, expected]) =>
      checkExpectations(config.additionalConfig(name), expected).map(
        (problem) => `additionalConfigs.${name}: ${problem}`,
      ),
    ),
  ];
}

export async function withCleanUp(
  config: TestConfig,
  row: Omit<RowBase, 'skip' | 'focus'>,
  body: () => Promise<void>,
): Promise<void> {
  try {
    await body();
  } finally {
    await row.cleanUp?.(config);
  }
}

/** The problems a `verify` reported by throwing. */
export async function verifying(fn: () => void | Promise<void>): Promise<string[]> {
  try {
    await fn();
    return [];
  } catch (err) {
    return [`verify: ${err instanceof Error ? err.message : String(err)}`];
  }
}

/** Throws one AssertionError listing every problem, if there is any. */
export function fail(problems: readonly string[]): void {
  if (problems.length === 0) return;
  const header =
    problems.length === 1 ? '1 expectation not met:' : `${problems.length} expectations not met:`;
  throw new AssertionError({ message: `${header}\n- ${problems.join('\n- ')}` });
}
