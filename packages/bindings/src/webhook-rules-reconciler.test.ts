import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { WebhookRulesReconciler } from './webhook-rules-reconciler.ts';

const log = pino({ level: 'silent' });

async function until(what: string, ok: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!ok()) {
    assert.ok(Date.now() < deadline, what);
    await sleep(10);
  }
}

describe('WebhookRulesReconciler', () => {
  it('syncs once the bindings are in memory, and again when a kind comes or goes, not only at the resync', async () => {
    let synced: () => void = () => undefined;
    const inMemory = new Promise<void>((resolve) => (synced = resolve));
    let syncs = 0;
    const loop = new WebhookRulesReconciler({
      waitForSync: () => inMemory,
      sync: () => Promise.resolve((syncs++, 'synced')),
      resyncMs: 3_600_000,
      debounceMs: 10,
      log,
    });
    const stop = new AbortController();
    const running = loop.start(stop.signal);
    try {
      await sleep(30);
      assert.equal(syncs, 0, 'rules from a half-filled index would drop kinds still bound');
      synced();
      await until('first sync', () => syncs === 1);
      loop.kindsChanged();
      await until('sync after a kind change', () => syncs === 2);
    } finally {
      stop.abort();
      await running;
    }
  });

  it('retries a failed or incomplete sync with backoff, starting at 1 s', async () => {
    const results: Array<'retry' | Error> = [new Error('503'), 'retry'];
    const at: number[] = [];
    const loop = new WebhookRulesReconciler({
      waitForSync: () => Promise.resolve(),
      sync: () => {
        at.push(Date.now());
        const next = results.shift() ?? 'synced';
        return next instanceof Error ? Promise.reject(next) : Promise.resolve(next);
      },
      resyncMs: 3_600_000,
      log,
    });
    const stop = new AbortController();
    const running = loop.start(stop.signal);
    try {
      await until('three syncs', () => at.length === 3);
      const [first = 0, second = 0, third = 0] = at;
      assert.ok(second - first >= 900, `first retry after ${second - first} ms`);
      assert.ok(third - second >= 1_900, `second retry after ${third - second} ms: the backoff doubles`);
    } finally {
      stop.abort();
      await running;
    }
  });
});
