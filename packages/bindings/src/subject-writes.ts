// The write loop for a binding's subjects (workloads), shared by every binding controller: each
// subject is patched with only what the binding changed, led by a resourceVersion precondition
// (`DuckClient.patchChanges`), never written back whole. So fields outside the binding's edit —
// those a cache transform left out too (status, kubectl's last-applied annotation) — stay as
// stored, and an edit computed from a stale copy is refused (409) instead of applied.

import { isConflict } from '@bindery/kube';
import type { KubeObject } from '@bindery/kube';
import type { DuckClient } from '@bindery/runtime';

/** What one subject should become. */
export interface SubjectChange {
  /** The subject as read (from a cache or the API server), with its resourceVersion. */
  original: KubeObject;
  /** A changed copy of `original`. Deep-equal to it: nothing is written. */
  desired: KubeObject;
}

/** How the write of one subject went. */
export type SubjectWrite = SubjectChange &
  (
    | { outcome: 'unchanged' }
    /** `stored` is the object as the API server answered, after mutating admission. */
    | { outcome: 'patched'; stored: KubeObject }
    /** 409, or the edit was reverted as it was stored: a fresh read on the next reconcile will do. */
    | { outcome: 'conflict'; stored?: KubeObject }
    /** Any other error, for the caller to classify (404, 403, 422…). */
    | { outcome: 'failed'; error: unknown }
  );

export interface WriteSubjectsOptions {
  ducks: Pick<DuckClient, 'patchChanges'>;
  signal: AbortSignal;
  /**
   * Whether `stored` (the API server's answer) lost the edit: a mutating webhook that has not seen
   * the binding's latest state may have undone it. Such a write counts as a conflict.
   */
  reverted?: (stored: KubeObject, change: SubjectChange) => boolean | Promise<boolean>;
}

/** Patches each subject in turn; one failure never stops the others. */
export async function writeSubjects(
  changes: Iterable<SubjectChange>,
  options: WriteSubjectsOptions,
): Promise<SubjectWrite[]> {
  const writes: SubjectWrite[] = [];
  for (const change of changes) {
    let stored: KubeObject | undefined;
    try {
      stored = await options.ducks.patchChanges(change.original, change.desired, { signal: options.signal });
    } catch (error) {
      writes.push(
        isConflict(error) ? { ...change, outcome: 'conflict' } : { ...change, outcome: 'failed', error },
      );
      continue;
    }
    if (stored === undefined) writes.push({ ...change, outcome: 'unchanged' });
    else if (options.reverted !== undefined && (await options.reverted(stored, change))) {
      writes.push({ ...change, outcome: 'conflict', stored });
    } else writes.push({ ...change, outcome: 'patched', stored });
  }
  return writes;
}
