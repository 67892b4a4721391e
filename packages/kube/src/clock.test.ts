import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FakeClock, realClock } from './clock.ts';

describe('FakeClock', () => {
  it('fires due timers in order of due time, then of creation, each at its own time', () => {
    const clock = new FakeClock(1000);
    const fired: string[] = [];
    const at = (label: string) => () => fired.push(`${label}@${clock.now()}`);
    clock.setTimeout(at('c'), 30);
    clock.setTimeout(at('a'), 10);
    clock.setTimeout(at('b1'), 20);
    clock.setTimeout(at('b2'), 20);
    clock.setTimeout(at('late'), 31);
    assert.equal(clock.pendingTimers, 5);
    assert.equal(clock.nextTimerAt(), 1010);

    clock.advance(30);
    assert.deepEqual(fired, ['a@1010', 'b1@1020', 'b2@1020', 'c@1030']);
    assert.equal(clock.now(), 1030);
    assert.equal(clock.pendingTimers, 1);
    clock.advance(1);
    assert.deepEqual(fired.at(-1), 'late@1031');
    assert.equal(clock.nextTimerAt(), undefined);
  });

  it('fires timers that callbacks set within the window, and not those beyond it', () => {
    const clock = new FakeClock();
    const fired: number[] = [];
    const tick = (): void => {
      fired.push(clock.now());
      clock.setTimeout(tick, 10);
    };
    clock.setTimeout(tick, 10);
    clock.advance(35);
    assert.deepEqual(fired, [10, 20, 30]);
    assert.equal(clock.now(), 35);
    assert.equal(clock.nextTimerAt(), 40);
  });

  it('clearTimeout cancels; zero, negative and NaN delays are due now', () => {
    const clock = new FakeClock();
    const fired: string[] = [];
    const handle = clock.setTimeout(() => fired.push('cancelled'), 5);
    clock.setTimeout(() => fired.push('zero'), 0);
    clock.setTimeout(() => fired.push('negative'), -5);
    clock.setTimeout(() => fired.push('nan'), Number.NaN);
    clock.clearTimeout(handle);
    clock.clearTimeout('not a handle');
    clock.advance(0);
    assert.deepEqual(fired, ['zero', 'negative', 'nan']);
    clock.advance(10);
    assert.deepEqual(fired, ['zero', 'negative', 'nan']);
    assert.equal(clock.pendingTimers, 0);
  });

  it('set() moves time either way; backwards fires nothing', () => {
    const clock = new FakeClock(100);
    let fired = 0;
    clock.setTimeout(() => fired++, 50);
    clock.set(20);
    assert.equal(clock.now(), 20);
    assert.equal(fired, 0);
    clock.set(149);
    assert.equal(fired, 0);
    clock.set(150);
    assert.equal(fired, 1);
    assert.throws(() => clock.advance(-1), RangeError);
  });
});

describe('realClock', () => {
  it('tells wall time and runs real timers', async () => {
    const before = Date.now();
    const now = realClock.now();
    assert.ok(now >= before && now <= Date.now());

    let cancelled = false;
    const handle = realClock.setTimeout(() => (cancelled = true), 1);
    realClock.clearTimeout(handle);
    await new Promise<void>((resolve) => realClock.setTimeout(resolve, 3));
    assert.equal(cancelled, false);
  });
});
