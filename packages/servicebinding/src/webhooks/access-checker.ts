// May the controller do `verb` on a resource? Asked with SelfSubjectAccessReview
// (`authorization.k8s.io/v1`), cached for a while. Admission webhooks bypass RBAC: without this,
// a binding could make the interceptor project into a kind the controller may not update.

import { LruCache } from '@bindery/kube';
import type { Clock, KubeObject } from '@bindery/kube';
import type { Client } from '@bindery/runtime';

export interface AccessCheckerOptions {
  /** Creates the reviews as the controller's own identity (the manager's `KubeClient`). */
  client: Pick<Client, 'create'>;
  /** How long an answer is kept. Default 5 min (the RI's). */
  ttlMs?: number;
  /** The most answers kept (least recently used dropped first): bindings name any kind. Default 1024. */
  maxEntries?: number;
  clock?: Pick<Clock, 'now'>;
}

export interface ResourceAccess {
  group: string;
  resource: string;
  verb: string;
}

interface Review extends KubeObject {
  spec: { resourceAttributes: { group: string; resource: string; verb: string } };
  status?: { allowed?: boolean };
}

export class AccessChecker {
  readonly #options: AccessCheckerOptions;
  readonly #cache: LruCache<string, boolean>;
  /** The last answer per key, however old: what stands when a review fails. As bounded as `#cache`. */
  readonly #lastKnown: LruCache<string, boolean>;

  constructor(options: AccessCheckerOptions) {
    this.#options = options;
    this.#cache = new LruCache({
      maxEntries: options.maxEntries ?? 1024,
      ttlMs: options.ttlMs ?? 5 * 60_000,
      ...(options.clock ? { clock: options.clock } : {}),
    });
    this.#lastKnown = new LruCache({ maxEntries: options.maxEntries ?? 1024 });
  }

  /** How many answers are cached. */
  get size(): number {
    return this.#cache.size;
  }

  /**
   * Whether the verb is allowed cluster-wide. When the review fails, the last answer stands even if
   * expired; with no answer yet the error is thrown: a transient failure is not a denial.
   */
  async allowed(access: ResourceAccess, signal?: AbortSignal): Promise<boolean> {
    const key = `${access.verb} ${access.resource}.${access.group}`;
    const cached = this.#cache.get(key);
    if (cached !== undefined) return cached;
    let allowed: boolean;
    try {
      const review = await this.#options.client.create<Review>(
        {
          apiVersion: 'authorization.k8s.io/v1',
          kind: 'SelfSubjectAccessReview',
          metadata: {},
          spec: { resourceAttributes: { ...access } },
        },
        signal ? { signal } : {},
      );
      allowed = review.status?.allowed === true;
    } catch (err) {
      const last = this.#lastKnown.get(key);
      if (last !== undefined) return last;
      throw err;
    }
    this.#cache.set(key, allowed);
    this.#lastKnown.set(key, allowed);
    return allowed;
  }
}
