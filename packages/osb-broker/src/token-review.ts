// Bearer tokens checked by the Kubernetes API server, as osb-starter-pack did: a TokenReview says who
// the token belongs to, then a SubjectAccessReview asks whether that user may use the request's
// non-resource URL with the request's verb. Grant it with a ClusterRole such as
//   rules: [{ nonResourceURLs: ['/v2', '/v2/*'], verbs: ['get', 'put', 'patch', 'delete'] }]
// The broker's own identity needs `create` on tokenreviews and subjectaccessreviews (the built-in
// ClusterRole `system:auth-delegator`). Answers are cached briefly, in a bounded map, so a platform
// polling `last_operation` does not cost two API requests per poll.

import { createHash } from 'node:crypto';
import { LruCache } from '@bindery/kube';
import type { KubeClient } from '@bindery/kube';
import type { AuthResult, Authenticator } from './auth.ts';
import type { AuthenticatedUser } from './broker.ts';

export interface TokenReviewAuthOptions {
  /** Acts as the broker: needs create on tokenreviews and subjectaccessreviews. */
  client: KubeClient;
  /** Audiences the token must be valid for; default: the API server's own. */
  audiences?: string[];
  /** How long an answer is reused. Default 10 s; 0 turns the cache off. */
  cacheTtlMs?: number;
  /** Most answers kept. Default 1,000. */
  cacheSize?: number;
}

interface TokenReviewStatus {
  authenticated?: boolean;
  user?: { username?: string; uid?: string; groups?: string[]; extra?: Record<string, string[]> };
  audiences?: string[];
}

/** Bearer tokens checked with TokenReview and authorized with SubjectAccessReview. */
export function tokenReviewAuth(options: TokenReviewAuthOptions): Authenticator {
  const ttlMs = options.cacheTtlMs ?? 10_000;
  const cache =
    ttlMs > 0
      ? new LruCache<string, AuthResult>({ maxEntries: options.cacheSize ?? 1000, ttlMs })
      : undefined;
  const client = options.client;
  return {
    scheme: 'Bearer',
    async authenticate(token, request) {
      const verb = request.method.toLowerCase();
      // The token itself is never a key: only its digest is kept in memory.
      const key = `${createHash('sha256').update(token).digest('hex')} ${verb} ${request.path}`;
      const cached = cache?.get(key);
      if (cached) return cached;

      const review = await client.request<{ status?: TokenReviewStatus }>({
        method: 'POST',
        path: '/apis/authentication.k8s.io/v1/tokenreviews',
        body: {
          apiVersion: 'authentication.k8s.io/v1',
          kind: 'TokenReview',
          spec: { token, ...(options.audiences && { audiences: options.audiences }) },
        },
        signal: request.signal,
      });
      const status = review.status ?? {};
      let result: AuthResult;
      if (!status.authenticated || !status.user?.username) {
        result = { allowed: false, status: 401 };
      } else {
        const user = status.user;
        const access = await client.request<{ status?: { allowed?: boolean } }>({
          method: 'POST',
          path: '/apis/authorization.k8s.io/v1/subjectaccessreviews',
          body: {
            apiVersion: 'authorization.k8s.io/v1',
            kind: 'SubjectAccessReview',
            spec: {
              user: user.username,
              ...(user.uid !== undefined && { uid: user.uid }),
              groups: user.groups ?? [],
              ...(user.extra !== undefined && { extra: user.extra }),
              nonResourceAttributes: { path: request.path, verb },
            },
          },
          signal: request.signal,
        });
        const authenticated: AuthenticatedUser = { username: user.username ?? '' };
        if (user.uid !== undefined) authenticated.uid = user.uid;
        if (user.groups !== undefined) authenticated.groups = user.groups;
        result = access.status?.allowed
          ? { allowed: true, user: authenticated }
          : { allowed: false, status: 403 };
      }
      cache?.set(key, result);
      return result;
    },
  };
}
