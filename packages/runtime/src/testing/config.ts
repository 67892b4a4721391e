// A Config made of fakes, for one table row.

import { FakeClock } from '@bindery/kube';
import type { KubeObject } from '@bindery/kube';
import { pino } from 'pino';
import type { Config } from '../config.ts';
import type { Reactor } from './actions.ts';
import { FakeClient } from './fake-client.ts';
import { testEpoch } from './object-store.ts';
import { FakeRecorder } from './recorder.ts';
import { FakeTracker } from './tracker.ts';

/** How the fake API server serves kinds; the same for every row of a table. */
export interface FakeServerOptions {
  /** Kinds without a `/status` subresource (`Kind` or `Kind.group`); every other kind has one. */
  withoutStatusSubresource?: readonly string[];
  /** Plural resource names, by kind, where lowercase kind + `s` is wrong. */
  plurals?: Readonly<Record<string, string>>;
  /** The kinds served (`Kind` or `Kind.group`); others fail with `NoKindMatchError`. Default: all. */
  served?: readonly string[];
}

/** The world of one fake cluster: what it holds and the reactors on its clients. */
export interface FakeWorldOptions {
  /** What the cluster holds: read by `client`, and by `apiReader` too. */
  givenObjects?: readonly KubeObject[];
  /**
   * What only the API server holds (reconciler.io's APIGivenObjects): when set,
   * `apiReader` is a client of its own seeded with `givenObjects` then these
   * (same key: these win), and writes through `client` are not seen by it.
   * When absent, `apiReader` reads `client`'s store directly (`client.uncached()`).
   */
  apiGivenObjects?: readonly KubeObject[];
  /** Added to `client` and, when it is separate, to `apiReader`. */
  reactors?: readonly Reactor[];
}

export interface TestConfigOptions extends FakeServerOptions, FakeWorldOptions {
  /** Default: a FakeClock at `testEpoch`. Shared with the additional configs. */
  clock?: FakeClock;
  /**
   * Further Configs by name, each a fake cluster of its own (reconciler.io's AdditionalConfigs):
   * what a `WithConfig` under test switches to. They share the clock and the server options.
   */
  additionalConfigs?: Readonly<Record<string, FakeWorldOptions>>;
}

/** A Config whose parts are the kit's fakes, typed as such for assertions. */
export interface TestConfig extends Config {
  /** Stands for the manager's cached client: it refuses field selectors as the cache does. */
  client: FakeClient;
  apiReader: FakeClient;
  recorder: FakeRecorder;
  tracker: FakeTracker;
  clock: FakeClock;
  /** The additional configs, by name. */
  additionalConfigs: Readonly<Record<string, TestConfig>>;
  /** The additional config `name`; throws, naming the ones there are, if there is none. */
  additionalConfig(name: string): TestConfig;
}

/** A Config of fakes: FakeClient, FakeRecorder, FakeTracker, a FakeClock and a silent logger. */
export function testConfig(options: TestConfigOptions = {}): TestConfig {
  const clock = options.clock ?? new FakeClock(testEpoch);
  const additionalConfigs = Object.fromEntries(
    Object.entries(options.additionalConfigs ?? {}).map(([name, world]) => [
      name,
      testConfig({ ...serverOptions(options), ...world, clock }),
    ]),
  );
  const server = {
    clock,
    ...serverOptions(options),
    ...(options.reactors ? { reactors: options.reactors } : {}),
  };
  const client = new FakeClient({ ...server, objects: options.givenObjects ?? [], cache: true });
  const apiReader =
    options.apiGivenObjects === undefined
      ? client.uncached()
      : new FakeClient({ ...server, objects: [...(options.givenObjects ?? []), ...options.apiGivenObjects] });
  return {
    client,
    apiReader,
    recorder: new FakeRecorder(),
    tracker: new FakeTracker({ clock }),
    clock,
    log: pino({ level: 'silent' }),
    additionalConfigs,
    additionalConfig(name) {
      const config = additionalConfigs[name];
      if (config) return config;
      const names = Object.keys(additionalConfigs);
      throw new Error(
        `no additional config ${JSON.stringify(name)}: ${names.length > 0 ? `there are ${names.map((n) => JSON.stringify(n)).join(', ')}` : 'the row gives none (additionalConfigs)'}`,
      );
    },
  };
}

function serverOptions(options: FakeServerOptions): FakeServerOptions {
  return {
    ...(options.withoutStatusSubresource
      ? { withoutStatusSubresource: options.withoutStatusSubresource }
      : {}),
    ...(options.plurals ? { plurals: options.plurals } : {}),
    ...(options.served ? { served: options.served } : {}),
  };
}
