import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ConditionSet,
  formatMetaTime,
  maxConditionMessageLength,
  restoreLastTransitionTimes,
} from './conditions.ts';
import type { Condition } from './conditions.ts';

const set = new ConditionSet({
  happy: 'Ready',
  happyReason: 'ServiceBound',
  dependents: ['WorkloadProjected', 'ServiceAvailable'],
});

function clockAt(iso: string): { now(): number; at(iso: string): void } {
  let t = Date.parse(iso);
  return { now: () => t, at: (s) => (t = Date.parse(s)) };
}

describe('formatMetaTime', () => {
  it('has second precision, UTC', () => {
    assert.equal(formatMetaTime(new Date('2024-05-06T07:08:09.987Z')), '2024-05-06T07:08:09Z');
    assert.equal(formatMetaTime(Date.UTC(2024, 0, 1)), '2024-01-01T00:00:00Z');
  });
});

describe('ConditionSet', () => {
  it('initializes dependents and the happy condition Unknown, sorted happy first', () => {
    const status: Record<string, unknown> = {};
    set.manage(status, clockAt('2024-01-01T00:00:00.500Z')).initialize();
    assert.deepEqual(status['conditions'], [
      {
        type: 'Ready',
        status: 'Unknown',
        reason: 'Initializing',
        message: '',
        lastTransitionTime: '2024-01-01T00:00:00Z',
      },
      {
        type: 'ServiceAvailable',
        status: 'Unknown',
        reason: 'Initializing',
        message: '',
        lastTransitionTime: '2024-01-01T00:00:00Z',
      },
      {
        type: 'WorkloadProjected',
        status: 'Unknown',
        reason: 'Initializing',
        message: '',
        lastTransitionTime: '2024-01-01T00:00:00Z',
      },
    ]);
  });

  it('cuts a message past the schema’s bound, on the condition and on the happy one it derives', () => {
    // One failure per workload, aggregated: 1,000 workloads make a message far past the 32768
    // characters metav1.Condition allows, and a status carrying it would be refused as a whole.
    const aggregate = Array.from(
      { length: 1000 },
      (_, i) => `Deployment ns/web-${i}: refused by a webhook`,
    ).join('; ');
    assert.ok(aggregate.length > 32768);
    const status: Record<string, unknown> = {};
    const m = set.manage(status, clockAt('2024-01-01T00:00:00Z')).initialize();
    m.markFalse('WorkloadProjected', 'WorkloadUpdateFailed', aggregate);
    for (const type of ['WorkloadProjected', 'Ready']) {
      const message = m.get(type)?.message ?? '';
      assert.ok(message.length <= maxConditionMessageLength, `${type}: ${message.length} characters`);
      assert.ok(maxConditionMessageLength < 32768);
      assert.match(message, /^Deployment ns\/web-0: refused by a webhook; .* … \(\d+ more characters\)$/);
    }
  });

  it('derives the happy condition: all True → True, any False → False, else Unknown', () => {
    const status: Record<string, unknown> = {};
    const clock = clockAt('2024-01-01T00:00:00Z');
    const m = set.manage(status, clock).initialize();
    m.markTrue('ServiceAvailable', 'ResolvedSecret');
    assert.equal(m.get('Ready')?.status, 'Unknown');
    m.markTrue('WorkloadProjected', 'WorkloadProjected');
    assert.deepEqual(m.get('Ready'), {
      type: 'Ready',
      status: 'True',
      reason: 'ServiceBound',
      message: '',
      lastTransitionTime: '2024-01-01T00:00:00Z',
    });
    assert.equal(m.isHappy(), true);
    m.markFalse('WorkloadProjected', 'WorkloadNotFound', 'the workload was not found');
    assert.deepEqual(
      { ...m.get('Ready') },
      {
        type: 'Ready',
        status: 'False',
        reason: 'WorkloadNotFound',
        message: 'the workload was not found',
        lastTransitionTime: '2024-01-01T00:00:00Z',
      },
    );
    m.markUnknown('WorkloadProjected', 'Waiting', 'for the workload');
    assert.equal(m.get('Ready')?.status, 'Unknown');
    assert.equal(m.get('Ready')?.reason, 'Waiting');
  });

  it('moves lastTransitionTime only when status changes', () => {
    const status: Record<string, unknown> = {};
    const clock = clockAt('2024-01-01T00:00:00Z');
    const m = set.manage(status, clock);
    m.markTrue('ServiceAvailable', 'A');
    clock.at('2024-01-01T00:01:00.250Z');
    m.markTrue('ServiceAvailable', 'B', 'reason changed, status did not');
    assert.equal(m.get('ServiceAvailable')?.lastTransitionTime, '2024-01-01T00:00:00Z');
    assert.equal(m.get('ServiceAvailable')?.reason, 'B');
    m.markFalse('ServiceAvailable', 'C');
    assert.equal(m.get('ServiceAvailable')?.lastTransitionTime, '2024-01-01T00:01:00Z');
  });

  it('keeps conditions it does not manage, and only initializes missing ones unless asked to reset', () => {
    const other: Condition = {
      type: 'Custom',
      status: 'True',
      reason: 'X',
      message: '',
      lastTransitionTime: 't',
    };
    const projected: Condition = {
      type: 'WorkloadProjected',
      status: 'True',
      reason: 'P',
      message: '',
      lastTransitionTime: 't',
    };
    const status: Record<string, unknown> = { conditions: [other, projected] };
    set.manage(status, clockAt('2024-01-01T00:00:00Z')).initialize();
    const types = (status['conditions'] as Condition[]).map((c) => `${c.type}=${c.status}`);
    assert.deepEqual(types, [
      'Ready=Unknown',
      'Custom=True',
      'ServiceAvailable=Unknown',
      'WorkloadProjected=True',
    ]);

    const resetting = new ConditionSet({
      happy: 'Ready',
      dependents: ['WorkloadProjected'],
      resetOnInitialize: true,
    });
    const s2: Record<string, unknown> = { conditions: [projected] };
    resetting.manage(s2, clockAt('2024-01-01T00:00:00Z')).initialize();
    assert.equal(
      resetting.manage(s2, clockAt('2024-01-01T00:00:00Z')).get('WorkloadProjected')?.reason,
      'Initializing',
    );
  });

  it('restoreLastTransitionTimes keeps the original time of conditions whose status is unchanged', () => {
    const original = [
      { type: 'Ready', status: 'True', lastTransitionTime: 'old' },
      { type: 'A', status: 'False', lastTransitionTime: 'old' },
    ];
    const proposed = [
      { type: 'Ready', status: 'True', lastTransitionTime: 'new' },
      { type: 'A', status: 'True', lastTransitionTime: 'new' },
    ];
    restoreLastTransitionTimes(proposed, original);
    assert.deepEqual(
      proposed.map((c) => c.lastTransitionTime),
      ['old', 'new'],
    );
  });
});
