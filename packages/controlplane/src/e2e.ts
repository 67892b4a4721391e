// Helpers for the e2e suites that run against this package's control plane.

import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Retries `check` every 100 ms until it stops throwing, and returns what it returned; after
 * `timeoutMs` the last error is thrown. For e2e tests, where the API server and controllers converge
 * asynchronously.
 */
export async function eventually<T>(check: () => T | Promise<T>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await sleep(100);
    }
  }
}

/**
 * `{ skip }` for an e2e suite's describe(): a reason when BINDERY_SKIP_E2E=1 (a contributor's
 * machine without Go or binaries; CI never sets it), otherwise false so the suite runs.
 */
export const skipE2E: string | false = process.env['BINDERY_SKIP_E2E'] === '1' && 'BINDERY_SKIP_E2E=1';
