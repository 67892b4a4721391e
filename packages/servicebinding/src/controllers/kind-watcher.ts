// Watches for the kinds bindings name beyond those watched from the start: a custom workload kind,
// a Provisioned Service kind. A kind is watched only once the controller is known to be allowed to
// list and watch it (a SelfSubjectAccessReview per verb, cluster-wide as the informer lists): an
// informer for a kind it may not list never syncs, holds whoever waits on it, and fails the
// manager's health checks. The informers are counted by the bindings that use them and stopped
// when none does.

import { objectKey } from '@bindery/kube';
import type { KubeObject, TransformFunc, TypeRef } from '@bindery/kube';
import type { Client, OnDemandInformers, Request } from '@bindery/runtime';
import type { ResourceFor } from '../resolver/index.ts';

/** Why a kind is not watched: the verbs the controller lacks on `resource` (`<plural>.<group>`). */
export interface WatchDenied {
  resource: string;
  missing: string[];
}

export interface WatchOptions {
  /** Watch metadata only. */
  metadataOnly?: boolean;
  /** What the cache keeps of an object (`provisionedServiceDuck`), when the informer starts here. */
  transform?: TransformFunc;
  signal?: AbortSignal;
}

/** What a binding's reconcile asks of the watches of the kinds it names. */
export interface KindWatcher {
  /**
   * Watches `type` for `holder` in `slot` (replacing what it held there), unless the controller may
   * not list and watch it: then `holder` holds nothing in `slot` and the answer says why. Throws
   * `NoKindMatchError` for a kind that is not served, and errors of the access check (retry them).
   */
  watch(
    holder: Request,
    slot: string,
    type: TypeRef,
    options?: WatchOptions,
  ): Promise<WatchDenied | undefined>;
  /** `holder` needs nothing in `slot` (any slot when absent) any more. */
  release(holder: Request, slot?: string): void;
}

export interface AccessCheckedKindWatcherOptions {
  /** Creates SelfSubjectAccessReviews as the controller (the manager's `KubeClient`). */
  client: Pick<Client, 'create'>;
  resourceFor: ResourceFor;
  informers: OnDemandInformers;
}

interface Review extends KubeObject {
  status?: { allowed?: boolean };
}

const verbs = ['list', 'watch'] as const;

export class AccessCheckedKindWatcher implements KindWatcher {
  readonly #options: AccessCheckedKindWatcherOptions;

  constructor(options: AccessCheckedKindWatcherOptions) {
    this.#options = options;
  }

  async watch(
    holder: Request,
    slot: string,
    type: TypeRef,
    options: WatchOptions = {},
  ): Promise<WatchDenied | undefined> {
    const key = {
      type: { apiVersion: type.apiVersion, kind: type.kind },
      ...(options.metadataOnly ? { metadataOnly: true } : {}),
    };
    const user = objectKey(holder);
    // Someone was allowed already: the informer runs, and this binding joins it.
    if (this.#options.informers.users(key) > 0) {
      this.#options.informers.use(user, slot, key, options.transform);
      return undefined;
    }
    let info;
    try {
      info = await this.#options.resourceFor(type);
    } catch (err) {
      this.#options.informers.release(user, slot);
      throw err;
    }
    const resource = info.group === '' ? info.resource : `${info.resource}.${info.group}`;
    const missing: string[] = [];
    for (const verb of verbs) {
      const review = await this.#options.client.create<Review>(
        {
          apiVersion: 'authorization.k8s.io/v1',
          kind: 'SelfSubjectAccessReview',
          metadata: {},
          spec: { resourceAttributes: { group: info.group, resource: info.resource, verb } },
        },
        options.signal ? { signal: options.signal } : {},
      );
      if (review.status?.allowed !== true) missing.push(verb);
    }
    if (missing.length > 0) {
      this.#options.informers.release(user, slot);
      return { resource, missing };
    }
    this.#options.informers.use(user, slot, key, options.transform);
    return undefined;
  }

  release(holder: Request, slot?: string): void {
    this.#options.informers.release(objectKey(holder), slot);
  }
}

/** `needs "list", "watch" on gizmos.example.com`. */
export function describeDenied(denied: WatchDenied): string {
  return `needs ${denied.missing.map((v) => `"${v}"`).join(', ')} on ${denied.resource}`;
}
