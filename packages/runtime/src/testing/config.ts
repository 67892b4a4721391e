// A Config made of fakes, for one table row.

import { FakeClock } from '@bindery/kube';
import type { KubeObject } from '@bindery/kube';
import { pino } from 'pino';
import type { Config } from '../config.ts';
import { FakeClient, testEpoch } from './fake-client.ts';
import type { Reactor } from './fake-client.ts';
import { FakeRecorder } from './recorder.ts';
import { FakeTracker } from './tracker.ts';

/** How the fake API server serves kinds; the same for every row of a table. */
export interface FakeServerOptions {
  /** Kinds without a `/status` subresource (`Kind` or `Kind.group`); every other kind has one. */
  withoutStatusSubresource?: readonly string[];
  /** Plural resource names, by kind, where lowercase kind + `s` is wrong. */
  plurals?: Readonly<Record<string, string>>;
}

export interface TestConfigOptions extends FakeServerOptions {
  /** What the cluster holds: read by `client`, and by `apiReader` too. */
  givenObjects?: readonly KubeObject[];
  /**
   * What only the API server holds (reconciler.io's APIGivenObjects): when set,
   * `apiReader` is a client of its own seeded with `givenObjects` then these
   * (same key: these win), and writes through `client` are not seen by it.
   * When absent, `apiReader` is `client`.
   */
  apiGivenObjects?: readonly KubeObject[];
  /** Default: a FakeClock at `testEpoch`. */
  clock?: FakeClock;
  /** Added to `client` and, when it is separate, to `apiReader`. */
  reactors?: readonly Reactor[];
}

/** A Config whose parts are the kit's fakes, typed as such for assertions. */
export interface TestConfig extends Config {
  client: FakeClient;
  apiReader: FakeClient;
  recorder: FakeRecorder;
  tracker: FakeTracker;
  clock: FakeClock;
}

/** A Config of fakes: FakeClient, FakeRecorder, FakeTracker, a FakeClock and a silent logger. */
export function testConfig(options: TestConfigOptions = {}): TestConfig {
  const clock = options.clock ?? new FakeClock(testEpoch);
  const server = {
    clock,
    ...(options.withoutStatusSubresource
      ? { withoutStatusSubresource: options.withoutStatusSubresource }
      : {}),
    ...(options.plurals ? { plurals: options.plurals } : {}),
    ...(options.reactors ? { reactors: options.reactors } : {}),
  };
  const client = new FakeClient({ ...server, objects: options.givenObjects ?? [] });
  const apiReader =
    options.apiGivenObjects === undefined
      ? client
      : new FakeClient({ ...server, objects: [...(options.givenObjects ?? []), ...options.apiGivenObjects] });
  return {
    client,
    apiReader,
    recorder: new FakeRecorder(),
    tracker: new FakeTracker({ clock }),
    clock,
    log: pino({ level: 'silent' }),
  };
}
