import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Registry } from 'prom-client';
import { FakeClock } from './clock.ts';
import { ItemExponentialFailureRateLimiter } from './rate-limiter.ts';
import { WorkQueue } from './workqueue.ts';

/** Lets every pending promise continuation and immediate run. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

const pending = Symbol('pending');
/** The promise's value if it has settled by the next macrotask, else `pending`. */
async function peek<T>(promise: Promise<T>): Promise<T | typeof pending> {
  return Promise.race([promise, settle().then((): typeof pending => pending)]);
}

/** Takes every ready item, marking each done; the order they came in. */
async function drainReady<T extends NonNullable<unknown>>(queue: WorkQueue<T>): Promise<T[]> {
  const items: T[] = [];
  while (queue.length > 0) {
    const item = await queue.get();
    assert.ok(item !== undefined);
    items.push(item);
    queue.done(item);
  }
  return items;
}

describe('WorkQueue', () => {
  it('hands items out in FIFO order, each once however often it was added', async () => {
    const queue = new WorkQueue({ clock: new FakeClock() });
    for (const key of ['a', 'b', 'a', 'c', 'b', 'a']) queue.add(key);
    assert.equal(queue.length, 3);
    assert.deepEqual(await drainReady(queue), ['a', 'b', 'c']);
    assert.equal(await peek(queue.get()), pending);
    queue.shutDown();
  });

  it('queues an item added while it is processed again only after done, never to two workers', async () => {
    const queue = new WorkQueue({ clock: new FakeClock() });
    queue.add('a');
    assert.equal(await queue.get(), 'a');
    queue.add('a');
    queue.add('a');
    assert.equal(queue.length, 0, 'dirty, not queued, while a worker holds it');
    const second = queue.get();
    assert.equal(await peek(second), pending);
    queue.add('b');
    assert.equal(await second, 'b', 'another worker gets other items meanwhile');
    queue.done('a');
    assert.equal(queue.length, 1);
    assert.equal(await queue.get(), 'a');
    queue.done('a');
    queue.done('b');
    assert.equal(queue.length, 0);
  });

  it('ignores done for an item that is not being processed', async () => {
    const queue = new WorkQueue({ clock: new FakeClock() });
    queue.add('a');
    queue.done('a');
    queue.done('a');
    assert.equal(queue.length, 1);
    assert.deepEqual(await drainReady(queue), ['a']);
  });

  it('compares object items by keyOf', async () => {
    const queue = new WorkQueue<{ ns: string; name: string }>({
      clock: new FakeClock(),
      keyOf: (r) => `${r.ns}/${r.name}`,
    });
    queue.add({ ns: 'a', name: 'x' });
    queue.add({ ns: 'a', name: 'x' });
    queue.add({ ns: 'b', name: 'x' });
    assert.equal(queue.length, 2);
    const first = await queue.get();
    queue.add({ ns: 'a', name: 'x' });
    assert.ok(first);
    queue.done({ ...first });
    assert.deepEqual(await drainReady(queue), [
      { ns: 'b', name: 'x' },
      { ns: 'a', name: 'x' },
    ]);
  });

  it('keeps its guarantees under any interleaving of adds, gets and dones', async () => {
    // Model: `needed` holds keys added since they were last handed out; `inFlight` those held by workers.
    const op = fc.oneof(
      fc.record({ kind: fc.constant('add' as const), key: fc.integer({ min: 0, max: 5 }) }),
      fc.record({ kind: fc.constant('get' as const) }),
      fc.record({ kind: fc.constant('done' as const), pick: fc.nat() }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 80 }), async (ops) => {
        const queue = new WorkQueue<number>({ clock: new FakeClock() });
        const needed = new Set<number>();
        const inFlight: number[] = [];
        const take = async (): Promise<void> => {
          const key = await queue.get();
          assert.ok(key !== undefined);
          assert.ok(!inFlight.includes(key), `key ${key} handed out while in flight`);
          assert.ok(needed.delete(key), `key ${key} handed out without a pending add`);
          inFlight.push(key);
        };
        const ready = (): number => [...needed].filter((k) => !inFlight.includes(k)).length;
        for (const o of ops) {
          if (o.kind === 'add') {
            queue.add(o.key);
            needed.add(o.key);
          } else if (o.kind === 'get') {
            if (queue.length > 0) await take();
          } else if (inFlight.length > 0) {
            const [key] = inFlight.splice(o.pick % inFlight.length, 1);
            queue.done(key as number);
          }
          assert.equal(queue.length, ready());
        }
        // Finish everything: every add must have been served.
        while (inFlight.length > 0 || queue.length > 0) {
          for (const key of inFlight.splice(0)) queue.done(key);
          while (queue.length > 0) await take();
        }
        assert.deepEqual([...needed], []);
      }),
      { numRuns: 300 },
    );
  });

  it('get() waits for an add, and waiting workers are served in order', async () => {
    const queue = new WorkQueue({ clock: new FakeClock() });
    const first = queue.get();
    const second = queue.get();
    assert.equal(await peek(first), pending);
    queue.add('x');
    queue.add('y');
    assert.equal(await first, 'x');
    assert.equal(await second, 'y');
    assert.equal(queue.length, 0);
  });

  describe('addAfter', () => {
    it('adds items when they are due, earliest first', async () => {
      const clock = new FakeClock();
      const queue = new WorkQueue({ clock });
      queue.addAfter('c', 30);
      queue.addAfter('a', 10);
      queue.addAfter('b', 20);
      queue.addAfter('now', 0);
      assert.deepEqual(await drainReady(queue), ['now']);
      clock.advance(9);
      assert.equal(queue.length, 0);
      clock.advance(1);
      assert.deepEqual(await drainReady(queue), ['a']);
      clock.advance(100);
      assert.deepEqual(await drainReady(queue), ['b', 'c']);
      assert.equal(clock.pendingTimers, 0);
    });

    it('keeps the earliest time when the same item is added after twice', async () => {
      const clock = new FakeClock();
      const queue = new WorkQueue({ clock });
      queue.addAfter('a', 100);
      queue.addAfter('a', 10);
      queue.addAfter('b', 10);
      queue.addAfter('b', 100);
      clock.advance(10);
      assert.deepEqual(await drainReady(queue), ['a', 'b']);
      clock.advance(1000);
      assert.equal(queue.length, 0, 'the later times were dropped');
    });

    it('dedups a due item against the same item already queued', async () => {
      const clock = new FakeClock();
      const queue = new WorkQueue({ clock });
      queue.add('a');
      queue.addAfter('a', 5);
      clock.advance(5);
      assert.deepEqual(await drainReady(queue), ['a']);
    });

    it('releases items due at the same time in the order they were added', async () => {
      const clock = new FakeClock();
      const queue = new WorkQueue<number>({ clock });
      // Interleave other delays so that the heap reorders itself between the ties.
      for (let i = 0; i < 40; i++) queue.addAfter(i, i % 3 === 0 ? 10 : 5 + (i % 7) * 3);
      clock.advance(100);
      const got = await drainReady(queue);
      const delay = (i: number): number => (i % 3 === 0 ? 10 : 5 + (i % 7) * 3);
      const expected = Array.from({ length: 40 }, (_, i) => i).sort((a, b) => delay(a) - delay(b));
      assert.deepEqual(got, expected);
    });

    it('releases any mix of delays in order of ready time, then of first add', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.tuple(fc.integer({ min: 0, max: 30 }), fc.integer({ min: 1, max: 500 })), {
            maxLength: 100,
          }),
          fc.integer({ min: 1, max: 200 }),
          async (adds, step) => {
            const clock = new FakeClock();
            const queue = new WorkQueue<number>({ clock });
            const readyAt = new Map<number, number>();
            for (const [key, delay] of adds) {
              queue.addAfter(key, delay);
              readyAt.set(key, Math.min(readyAt.get(key) ?? Infinity, delay));
            }
            const firstAdd = [...new Set(adds.map(([key]) => key))];
            const expected = firstAdd.sort((a, b) => (readyAt.get(a) as number) - (readyAt.get(b) as number));
            const got: number[] = [];
            while (clock.nextTimerAt() !== undefined) {
              clock.advance(step);
              for (const key of await drainReady(queue)) {
                assert.ok((readyAt.get(key) as number) <= clock.now());
                assert.ok((readyAt.get(key) as number) > clock.now() - step, 'released late');
                got.push(key);
              }
            }
            // Items released by one advance come out in ready-time order too.
            assert.deepEqual(got, expected);
          },
        ),
        { numRuns: 200 },
      );
    });
  });

  describe('rate limiting', () => {
    it('backs a failing item off 5, 10, 20 ms, and forget resets it', async () => {
      const clock = new FakeClock();
      const queue = new WorkQueue({ clock });
      const readyAfter = async (): Promise<number> => {
        const start = clock.now();
        while (queue.length === 0) clock.advance(1);
        const key = await queue.get();
        queue.done(key as string);
        return clock.now() - start;
      };
      queue.addRateLimited('a');
      assert.equal(await readyAfter(), 5);
      queue.addRateLimited('a');
      assert.equal(await readyAfter(), 10);
      queue.addRateLimited('a');
      assert.equal(await readyAfter(), 20);
      assert.equal(queue.numRequeues('a'), 3);
      queue.forget('a');
      assert.equal(queue.numRequeues('a'), 0);
      queue.addRateLimited('a');
      assert.equal(await readyAfter(), 5);
    });

    it('uses the rate limiter it is given', () => {
      const clock = new FakeClock();
      const rateLimiter = new ItemExponentialFailureRateLimiter<string>({ baseDelayMs: 1000 });
      const queue = new WorkQueue({ clock, rateLimiter });
      queue.addRateLimited('a');
      queue.addRateLimited('a');
      assert.equal(rateLimiter.numRequeues('a'), 2);
      assert.equal(clock.nextTimerAt(), 1000, 'the earlier of 1000 and 2000 ms');
      queue.shutDown();
    });
  });

  describe('shutdown', () => {
    it('wakes waiting workers with undefined and ignores later adds', async () => {
      const clock = new FakeClock();
      const queue = new WorkQueue({ clock });
      const waiting = [queue.get(), queue.get()];
      queue.shutDown();
      assert.equal(queue.shuttingDown, true);
      assert.deepEqual(await Promise.all(waiting), [undefined, undefined]);
      queue.add('a');
      queue.addAfter('b', 0);
      queue.addAfter('c', 10);
      queue.addRateLimited('d');
      assert.equal(queue.length, 0);
      assert.equal(queue.numRequeues('d'), 0);
      assert.equal(clock.pendingTimers, 0);
      assert.equal(await queue.get(), undefined);
    });

    it('still hands out what was queued, drops delayed items, then says undefined', async () => {
      const clock = new FakeClock();
      const queue = new WorkQueue({ clock });
      queue.add('a');
      queue.add('b');
      queue.addAfter('later', 10);
      queue.shutDown();
      assert.equal(clock.pendingTimers, 0);
      clock.advance(10);
      assert.equal(await queue.get(), 'a');
      assert.equal(await queue.get(), 'b');
      assert.equal(await queue.get(), undefined);
    });

    it('the async iterator yields until shutdown', async () => {
      const queue = new WorkQueue({ clock: new FakeClock() });
      queue.add('a');
      queue.add('b');
      const seen: string[] = [];
      const worker = (async () => {
        for await (const key of queue) {
          seen.push(key);
          queue.done(key);
          if (key === 'b') queue.add('c');
        }
      })();
      await settle();
      assert.deepEqual(seen, ['a', 'b', 'c']);
      queue.shutDown();
      await worker;
      assert.deepEqual(seen, ['a', 'b', 'c']);
    });
  });

  describe('shutDownWithDrain', () => {
    it('resolves once every item handed out is done', async () => {
      const queue = new WorkQueue({ clock: new FakeClock() });
      queue.add('a');
      queue.add('b');
      await queue.get();
      await queue.get();
      const drained = queue.shutDownWithDrain();
      assert.equal(queue.shuttingDown, true);
      queue.done('a');
      assert.equal(await peek(drained), pending);
      queue.done('b');
      assert.equal(await peek(drained), undefined);
    });

    it('resolves at once with nothing in flight, even with items still queued', async () => {
      const queue = new WorkQueue({ clock: new FakeClock() });
      queue.add('a');
      await queue.shutDownWithDrain();
      assert.equal(await queue.get(), 'a');
    });

    it('waits for in-flight items only: one re-added while processed is queued, as in client-go', async () => {
      const queue = new WorkQueue({ clock: new FakeClock() });
      queue.add('a');
      await queue.get();
      queue.add('a');
      const drained = queue.shutDownWithDrain();
      assert.equal(await peek(drained), pending);
      queue.done('a');
      assert.equal(await peek(drained), undefined);
      assert.equal(await queue.get(), 'a', 'still handed out to a worker that asks');
      assert.equal(await queue.get(), undefined);
    });

    it('rejects with the signal reason when aborted first, and stays shut down', async () => {
      const queue = new WorkQueue({ clock: new FakeClock() });
      queue.add('a');
      await queue.get();
      const stop = new AbortController();
      const drained = queue.shutDownWithDrain(stop.signal);
      assert.equal(await peek(drained), pending);
      stop.abort(new Error('drain timed out'));
      await assert.rejects(drained, /drain timed out/);
      queue.add('b');
      assert.equal(queue.length, 0);

      const already = AbortSignal.abort(new Error('too late'));
      await assert.rejects(queue.shutDownWithDrain(already), /too late/);
    });

    it('ends when shutDown() is called meanwhile', async () => {
      const queue = new WorkQueue({ clock: new FakeClock() });
      queue.add('a');
      await queue.get();
      const drained = queue.shutDownWithDrain();
      assert.equal(await peek(drained), pending);
      queue.shutDown();
      assert.equal(await peek(drained), undefined);
    });
  });

  it('needs a name to register metrics', () => {
    assert.throws(() => new WorkQueue({ metrics: new Registry() }), /needs a name/);
  });
});
