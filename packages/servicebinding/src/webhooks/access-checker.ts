// May the controller do `verb` on a resource? Asked with SelfSubjectAccessReview
// (`authorization.k8s.io/v1`), cached for a while. Admission webhooks bypass RBAC: without this,
// a binding could make the interceptor project into a kind the controller may not update.

import type { Clock, KubeObject } from '@bindery/kube';
import type { Client } from '@bindery/runtime';

export interface AccessCheckerOptions {
  /** Creates the reviews as the controller's own identity (the manager's `KubeClient`). */
  client: Pick<Client, 'create'>;
  /** How long an answer is kept. Default 5 min (the RI's). */
  ttlMs?: number;
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
  readonly #cache = new Map<string, { allowed: boolean; expiresAt: number }>();

  constructor(options: AccessCheckerOptions) {
    this.#options = options;
  }

  /** Whether the verb is allowed cluster-wide; an error counts as denied (and is not cached). */
  async allowed(access: ResourceAccess, signal?: AbortSignal): Promise<boolean> {
    const key = `${access.verb} ${access.resource}.${access.group}`;
    const now = this.#options.clock?.now() ?? Date.now();
    const cached = this.#cache.get(key);
    if (cached && cached.expiresAt > now) return cached.allowed;
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
    } catch {
      return false;
    }
    this.#cache.set(key, { allowed, expiresAt: now + (this.#options.ttlMs ?? 5 * 60_000) });
    return allowed;
  }
}
