// Rows that reach beyond one reconcile in one cluster: additional configs (the clusters a
// WithConfig switches to) and additional reconciles (the same reconciler, again).

import assert from 'node:assert/strict';
import { AssertionError } from 'node:assert';
import { describe, it } from 'node:test';
import type { KubeObject } from '@bindery/kube';
import type { Reconciler, SubReconciler } from '../reconciler.ts';
import { WithConfig } from '../reconcilers/with-config.ts';
import { newEvent } from './recorder.ts';
import {
  reconcilerTests,
  runReconcilerTestCase,
  runSubReconcilerTestCase,
  subReconcilerTests,
} from './table.ts';
import type { SubReconcilerTestCase, SubReconcilerTestsOptions } from './table.ts';

interface Mirror extends KubeObject {
  status?: { copied?: boolean; attempts?: number };
}

const mirror = (status?: Mirror['status']): Mirror => ({
  apiVersion: 'example.com/v1',
  kind: 'Mirror',
  metadata: { namespace: 'ns', name: 'm', uid: 'm-uid' },
  ...(status ? { status } : {}),
});

const configMap = (name: string): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { namespace: 'ns', name },
  data: { from: 'here' },
});

/** Writes `copy` in whatever cluster `ctx.config` is, and says so there. */
const writeCopy: SubReconciler<Mirror> = {
  name: 'WriteCopy',
  async reconcile(ctx, m) {
    await ctx.config.client.create(configMap('copy'));
    ctx.config.recorder.event(m, { type: 'Normal', reason: 'Copied', note: 'wrote copy' });
    m.status = { copied: true };
  },
};

const remoteOptions: SubReconcilerTestsOptions<Mirror> = {
  reconciler: (config) =>
    new WithConfig<Mirror>({ config: () => config.additionalConfig('remote'), reconciler: writeCopy }),
};

const remoteRow: SubReconcilerTestCase<Mirror> = {
  resource: mirror(),
  additionalConfigs: {
    remote: {
      givenObjects: [configMap('already-there')],
      expectCreates: [configMap('copy')],
      expectEvents: [newEvent(mirror(), 'Normal', 'Copied', 'wrote copy')],
    },
  },
  expectResource: mirror({ copied: true }),
};

subReconcilerTests<Mirror>('additionalConfigs', {
  ...remoteOptions,
  rows: { 'the writes land in the remote cluster, and the row expects them there': remoteRow },
});

/** Fails until its third reconcile: state kept in the reconciler, which is what additional reconciles test. */
function thirdTimeLucky(): SubReconciler<Mirror> {
  let attempts = 0;
  return {
    name: 'ThirdTimeLucky',
    reconcile(_ctx, m) {
      attempts++;
      if (attempts < 3) return Promise.reject(new Error(`attempt ${attempts} failed`));
      m.status = { attempts };
      return Promise.resolve({});
    },
  };
}

let built = 0;
const retryOptions: SubReconcilerTestsOptions<Mirror> = {
  reconciler: () => {
    built++;
    return thirdTimeLucky();
  },
};
const retryRow: SubReconcilerTestCase<Mirror> = {
  resource: mirror(),
  shouldErr: /attempt 1 failed/,
  prepare: () => {
    built = 0;
  },
  additionalReconciles: [
    { name: 'second', resource: mirror(), shouldErr: /attempt 2 failed/ },
    {
      name: 'third',
      resource: mirror(),
      expectResource: mirror({ attempts: 3 }),
      verify: () => assert.equal(built, 1, 'one reconciler for the row and its additional reconciles'),
    },
  ],
};

subReconcilerTests<Mirror>('additionalReconciles', {
  ...retryOptions,
  rows: { 'the same reconciler runs again, keeping what it remembers': retryRow },
});

/** Reports what its world holds, so each reconcile shows which config it was given. */
const census: Reconciler = {
  name: 'Census',
  async reconcile(ctx) {
    const list = await ctx.config.client.list({ apiVersion: 'v1', kind: 'ConfigMap' }, { namespace: 'ns' });
    const names = list.items.map((o) => o.metadata.name ?? '').join(',');
    ctx.config.recorder.event(configMap('census'), { type: 'Normal', reason: 'Counted', note: names });
    return {};
  },
};

const counted = (note: string): ReturnType<typeof newEvent> =>
  newEvent(configMap('census'), 'Normal', 'Counted', note);

reconcilerTests('additionalReconciles of a Reconciler', {
  reconciler: () => census,
  rows: {
    'each reconcile has a world of its own': {
      request: { namespace: 'ns', name: 'census' },
      givenObjects: [configMap('a')],
      expectEvents: [counted('a')],
      additionalReconciles: [
        {
          request: { namespace: 'ns', name: 'census' },
          givenObjects: [configMap('b'), configMap('c')],
          expectEvents: [counted('b,c')],
        },
      ],
    },
  },
});

async function failure(run: Promise<void>): Promise<string> {
  try {
    await run;
  } catch (err) {
    assert.ok(err instanceof AssertionError, `expected an AssertionError, got ${String(err)}`);
    return err.message;
  }
  assert.fail('the row passed');
}

describe('a row with additional configs or reconciles fails', () => {
  it('when an additional config sees writes its row does not expect, naming the config', async () => {
    const message = await failure(
      runSubReconcilerTestCase(remoteOptions, { ...remoteRow, additionalConfigs: { remote: {} } }),
    );
    assert.match(message, /^2 expectations not met:/);
    assert.match(message, /- additionalConfigs\.remote: unexpected create of ConfigMap ns\/copy/);
    assert.match(message, /- additionalConfigs\.remote: unexpected Normal Copied event about Mirror ns\/m/);
  });

  it('when the writes land in the row config instead of the additional one', async () => {
    const local = { reconciler: () => writeCopy };
    const message = await failure(runSubReconcilerTestCase(local, remoteRow));
    assert.match(message, /- unexpected create of ConfigMap ns\/copy/);
    assert.match(
      message,
      /- additionalConfigs\.remote: expectCreates\[0\]: missing create of ConfigMap ns\/copy/,
    );
  });

  it('when the factory asks for a config the row does not give', async () => {
    const { additionalConfigs: _, ...row } = remoteRow;
    await assert.rejects(runSubReconcilerTestCase(remoteOptions, row), /no additional config "remote"/);
  });

  it('when an additional reconcile misses, labelled with its place and name', async () => {
    const message = await failure(
      runSubReconcilerTestCase(retryOptions, {
        ...retryRow,
        additionalReconciles: [
          { name: 'second', resource: mirror(), shouldErr: /attempt 2 failed/ },
          { name: 'third', resource: mirror(), expectResource: mirror({ attempts: 4 }) },
        ],
      }),
    );
    assert.match(
      message,
      /^1 expectation not met:\n- additionalReconciles\[1\] \(third\): expectResource differs:\n {4}status\.attempts: expected 4, got 3$/,
    );
  });

  it('when an additional reconcile of a Reconciler misses, reported with the first reconcile', async () => {
    const message = await failure(
      runReconcilerTestCase(
        { reconciler: () => census },
        {
          request: { namespace: 'ns', name: 'census' },
          expectEvents: [counted('wrong')],
          additionalReconciles: [{ request: { namespace: 'ns', name: 'census' }, expectEvents: [] }],
        },
      ),
    );
    assert.match(
      message,
      /^2 expectations not met:\n- expectEvents\[0\] differs:\n {4}note: expected "wrong", got ""\n/,
    );
    assert.match(
      message,
      /- additionalReconciles\[0\]: unexpected Normal Counted event about ConfigMap ns\/census ""$/,
    );
  });
});
