import type { TypeRef } from '@bindery/kube';
import type { ReconcileContext, Request } from '../reconciler.ts';
import { Stash } from '../stash.ts';

/** What a top-level reconciler is handed: a context that may not name the resource type yet. */
export type OuterContext = Omit<ReconcileContext, 'resourceType'> & { resourceType?: TypeRef };

/**
 * The context a resource-level reconciler gives its sub-reconcilers: a fresh stash for this request,
 * a logger naming the reconciler and kind, and `resourceType` set to the type it reconciles.
 */
export function resourceContext(
  outer: OuterContext,
  name: string,
  type: TypeRef,
  request: Request,
): ReconcileContext {
  return {
    config: outer.config,
    originalConfig: outer.originalConfig,
    stash: new Stash(),
    signal: outer.signal,
    log: outer.log.child({ reconciler: name, kind: type.kind }),
    request,
    resourceType: type,
  };
}
