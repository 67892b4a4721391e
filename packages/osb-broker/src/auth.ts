// Authentication of platform requests. OSB's default is HTTP Basic on every request; bearer tokens by
// agreement (see token-review.ts for Kubernetes tokens). A refusal is 401 (who are you?) or 403 (not
// allowed) and says nothing more: no hint of which part of the credentials was wrong.

import { createHash, timingSafeEqual } from 'node:crypto';
import type { AuthenticatedUser } from './broker.ts';

export type AuthResult = { allowed: true; user: AuthenticatedUser } | { allowed: false; status: 401 | 403 };

export interface AuthRequest {
  method: string;
  /** The request path without the query, e.g. `/v2/catalog`. */
  path: string;
  signal: AbortSignal;
}

/** Checks the credentials of one `Authorization` scheme. Throwing means "cannot tell now" (503). */
export interface Authenticator {
  /** `Basic` or `Bearer`, compared case-insensitively. */
  scheme: string;
  authenticate(credentials: string, request: AuthRequest): Promise<AuthResult>;
}

export interface BasicCredentials {
  username: string;
  password: string;
}

const digest = (text: string | Buffer): Buffer => createHash('sha256').update(text).digest();

/** Equal digests of equal length: the time taken does not depend on where the inputs differ. */
function constantTimeEqual(a: Buffer, b: Buffer): boolean {
  return timingSafeEqual(digest(a), digest(b));
}

/** HTTP Basic against one set of credentials, compared in constant time. */
export function basicAuth(expected: BasicCredentials): Authenticator {
  if (expected.username === '' || expected.password === '') {
    throw new Error('basicAuth: username and password must not be empty');
  }
  const username = Buffer.from(expected.username, 'utf8');
  const password = Buffer.from(expected.password, 'utf8');
  return {
    scheme: 'Basic',
    authenticate(credentials) {
      const decoded = Buffer.from(credentials, 'base64');
      const colon = decoded.indexOf(0x3a);
      const user = colon < 0 ? decoded : decoded.subarray(0, colon);
      const pass = colon < 0 ? Buffer.alloc(0) : decoded.subarray(colon + 1);
      // Both comparisons always run, so a right user name with a wrong password takes as long.
      const userOk = constantTimeEqual(user, username);
      const passOk = constantTimeEqual(pass, password);
      return Promise.resolve(
        userOk && passOk && colon >= 0
          ? { allowed: true, user: { username: expected.username } }
          : { allowed: false, status: 401 },
      );
    },
  };
}

/**
 * Runs the authenticator whose scheme the `Authorization` header names; 401 when the header is
 * missing, malformed, or names a scheme none of them takes.
 */
export async function authenticate(
  authenticators: readonly Authenticator[],
  header: string | undefined,
  request: AuthRequest,
): Promise<AuthResult> {
  const match = header === undefined ? null : /^\s*(\S+)\s+(\S+)\s*$/.exec(header);
  if (!match) return { allowed: false, status: 401 };
  const scheme = (match[1] ?? '').toLowerCase();
  const authenticator = authenticators.find((a) => a.scheme.toLowerCase() === scheme);
  if (!authenticator) return { allowed: false, status: 401 };
  return authenticator.authenticate(match[2] ?? '', request);
}
