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
