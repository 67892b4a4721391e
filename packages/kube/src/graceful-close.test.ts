import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InFlightRequests, closeGracefully } from './graceful-close.ts';

/** A server that records what closeGracefully does to it, in order. */
function recordingServer(calls: string[]): Parameters<typeof closeGracefully>[0] {
  return {
    close: (callback) => {
      calls.push('close');
      setImmediate(callback);
    },
    closeIdleConnections: () => void calls.push('closeIdle'),
    closeAllConnections: () => void calls.push('closeAll'),
  };
}

describe('InFlightRequests', () => {
  it('is drained at once when nothing is in flight', async () => {
    assert.equal(await new InFlightRequests().drained(10_000), true);
  });

  it('is drained when the last request leaves', async () => {
    const inFlight = new InFlightRequests();
    inFlight.enter();
    inFlight.enter();
    const drained = inFlight.drained(10_000);
    inFlight.leave();
    assert.equal(inFlight.count, 1);
    setImmediate(() => inFlight.leave());
    assert.equal(await drained, true);
    assert.equal(inFlight.count, 0);
  });

  it('gives up after the timeout', async () => {
    const inFlight = new InFlightRequests();
    inFlight.enter();
    assert.equal(await inFlight.drained(5), false);
    assert.equal(inFlight.count, 1);
  });
});

describe('closeGracefully', () => {
  it('stops accepting, waits for requests in flight, then closes every connection', async () => {
    const calls: string[] = [];
    const inFlight = new InFlightRequests();
    inFlight.enter();
    const closing = closeGracefully(recordingServer(calls), { inFlight, timeoutMs: 10_000 });
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(calls, ['close', 'closeIdle']);
    inFlight.leave();
    await closing;
    assert.deepEqual(calls, ['close', 'closeIdle', 'closeAll']);
  });

  it('says how many were still in flight when the timeout ran out', async () => {
    const calls: string[] = [];
    const inFlight = new InFlightRequests();
    inFlight.enter();
    inFlight.enter();
    let left: { inFlight: number; timeoutMs: number } | undefined;
    await closeGracefully(recordingServer(calls), { inFlight, timeoutMs: 5, onTimeout: (l) => (left = l) });
    assert.deepEqual(left, { inFlight: 2, timeoutMs: 5 });
    assert.deepEqual(calls, ['close', 'closeIdle', 'closeAll']);
  });
});
