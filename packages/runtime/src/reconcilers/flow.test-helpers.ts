// Shared by the tests of the flow reconcilers (Sequence, IfThen, While, TryCatch, ...):
// a resource whose status records which sub-reconcilers ran.

import type { KubeObject } from '@bindery/kube';
import type { Builder, SetupContext } from '../reconciler.ts';
import type { Result } from '../result.ts';
import type { TestConfig } from '../testing/index.ts';
import { SyncReconciler } from './sync-reconciler.ts';

export interface Thing extends KubeObject {
  spec?: { n?: number; flag?: boolean };
  status?: { calls?: string[]; n?: number };
}

export function thing(calls?: string[], spec: Thing['spec'] = {}): Thing {
  return {
    apiVersion: 'example.com/v1',
    kind: 'Thing',
    metadata: { namespace: 'ns', name: 't' },
    spec,
    ...(calls ? { status: { calls } } : {}),
  };
}

/** A sub-reconciler that appends `name` to `status.calls`, then returns `result` or throws `error`. */
export function record(
  name: string,
  outcome: { result?: Result; error?: Error } = {},
): SyncReconciler<Thing> {
  return new SyncReconciler<Thing>({
    name,
    setup: (ctx) => ctx.builder.index({ apiVersion: 'v1', kind: 'Setup' }, name, () => []),
    sync: (_ctx, t) => {
      t.status = { ...t.status, calls: [...(t.status?.calls ?? []), name] };
      if (outcome.error !== undefined) throw outcome.error;
      return outcome.result;
    },
  });
}

/** Runs `setup` with a builder that records the names of declared indexes (what `record` declares). */
export async function setupNames(
  r: { setup?(ctx: SetupContext): void | Promise<void> },
  config: TestConfig,
): Promise<string[]> {
  const names: string[] = [];
  const builder: Builder = {
    owns: () => undefined,
    watches: () => undefined,
    index: (_type, name) => names.push(name),
  };
  await r.setup?.({
    config,
    builder,
    log: config.log,
    resourceType: { apiVersion: 'example.com/v1', kind: 'Thing' },
  });
  return names;
}
