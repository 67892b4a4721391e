// The default ClusterWorkloadResourceMappings (`cronjobs.batch`), created once this replica leads
// and never updated after, so an operator's edit wins.

import { isAlreadyExists, isNotFound, realClock, sleep } from '@bindery/kube';
import type { ObjectRef } from '@bindery/kube';
import { deepCopy } from '@bindery/runtime';
import type { Manager, Runnable } from '@bindery/runtime';
import type { Logger } from 'pino';
import { defaultMappings } from '../apis/index.ts';
import type { ClusterWorkloadResourceMapping } from '../apis/index.ts';

/** Who creates the default mappings (`metadata.managedFields`). */
export const defaultMappingsFieldManager = 'bindery-default-mappings';

export interface DefaultMappingsRunnableOptions {
  /** Default `defaultMappings`. */
  mappings?: readonly ClusterWorkloadResourceMapping[];
  /** First retry delay, doubled up to `maxBackoffMs`. Default 1 s. */
  initialBackoffMs?: number;
  /** Default 30 s. */
  maxBackoffMs?: number;
}

/**
 * A leader-only Runnable that creates each default ClusterWorkloadResourceMapping that does not
 * exist (GET, then CREATE; AlreadyExists counts as done) and then returns. An existing mapping is
 * never updated, so an operator's edit wins; to go without one, turn this off
 * (`ensureDefaultMappings: false`). Any other error is retried with backoff until the signal
 * aborts: on a first install the validating webhook (served by this same pod) may not answer yet.
 */
export function defaultMappingsRunnable(
  client: Pick<Manager['client'], 'get' | 'create'>,
  log: Logger,
  options: DefaultMappingsRunnableOptions = {},
): Runnable {
  const mappings = options.mappings ?? defaultMappings;
  const initialBackoffMs = options.initialBackoffMs ?? 1_000;
  const maxBackoffMs = options.maxBackoffMs ?? 30_000;
  return {
    name: 'default-mappings',
    needLeaderElection: true,
    start: async (signal) => {
      for (const mapping of mappings) {
        const name = mapping.metadata.name ?? '';
        const ref = { apiVersion: mapping.apiVersion ?? '', kind: mapping.kind ?? '', name };
        let backoffMs = initialBackoffMs;
        for (;;) {
          if (signal.aborted) return;
          try {
            const outcome = await ensureMapping(client, ref, mapping, signal);
            log.info(
              { mapping: name },
              outcome === 'created' ? 'created default mapping' : 'default mapping exists',
            );
            break;
          } catch (err) {
            if (signal.aborted) return;
            log.info(
              { err, mapping: name, retryInMs: backoffMs },
              'could not ensure default mapping; retrying',
            );
            await sleep(realClock, backoffMs, signal);
            backoffMs = Math.min(backoffMs * 2, maxBackoffMs);
          }
        }
      }
    },
  };
}

async function ensureMapping(
  client: Pick<Manager['client'], 'get' | 'create'>,
  ref: ObjectRef,
  mapping: ClusterWorkloadResourceMapping,
  signal: AbortSignal,
): Promise<'created' | 'exists'> {
  try {
    await client.get(ref, { signal });
    return 'exists';
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  try {
    await client.create(deepCopy(mapping), {
      fieldManager: defaultMappingsFieldManager,
      signal,
    });
    return 'created';
  } catch (err) {
    if (isAlreadyExists(err)) return 'exists';
    throw err;
  }
}
