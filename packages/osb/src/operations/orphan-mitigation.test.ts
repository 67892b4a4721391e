import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { interpretOutcome, interpretPoll } from './orphan-mitigation.ts';
import type { BrokerOutcome, OsbRequestType, Verdict } from './orphan-mitigation.ts';

const all: OsbRequestType[] = ['provision', 'update', 'deprovision', 'bind', 'unbind'];

interface Row {
  name: string;
  requests: OsbRequestType[];
  outcome: BrokerOutcome;
  verdict: Verdict;
  om: boolean;
  retry?: boolean;
}

const ok = (status: number, malformed = false): BrokerOutcome => ({ kind: 'response', status, malformed });

// The rows of OSB 2.17's orphan-mitigation table, one per request type it names.
const rows: Row[] = [
  { name: '200 is success without OM', requests: all, outcome: ok(200), verdict: 'succeeded', om: false },
  {
    name: '200 malformed is failure without OM',
    requests: all,
    outcome: ok(200, true),
    verdict: 'failed',
    om: false,
  },
  {
    name: 'instance last_operation failed mitigates the instance',
    requests: ['provision', 'deprovision'],
    outcome: { kind: 'lastOperationFailed' },
    verdict: 'failed',
    om: true,
  },
  {
    name: 'binding last_operation failed mitigates the binding',
    requests: ['bind', 'unbind'],
    outcome: { kind: 'lastOperationFailed' },
    verdict: 'failed',
    om: true,
  },
  {
    name: 'update last_operation failed is not mitigated (OSBP-29)',
    requests: ['update'],
    outcome: { kind: 'lastOperationFailed' },
    verdict: 'failed',
    om: false,
    retry: false,
  },
  { name: '201 is success without OM', requests: all, outcome: ok(201), verdict: 'succeeded', om: false },
  {
    name: 'provision and bind 201 malformed mitigate',
    requests: ['provision', 'bind'],
    outcome: ok(201, true),
    verdict: 'failed',
    om: true,
  },
  { name: '202 is accepted without OM', requests: all, outcome: ok(202), verdict: 'accepted', om: false },
  {
    name: 'provision and bind 202 malformed mitigate',
    requests: ['provision', 'bind'],
    outcome: ok(202, true),
    verdict: 'failed',
    om: true,
  },
  {
    name: 'provision/deprovision and bind/unbind other 2xx mitigate',
    requests: ['provision', 'deprovision', 'bind', 'unbind'],
    outcome: ok(204),
    verdict: 'failed',
    om: true,
  },
  {
    name: 'update other 2xx is not mitigated (OSBP-29)',
    requests: ['update'],
    outcome: ok(206),
    verdict: 'failed',
    om: false,
  },
  {
    name: '408 is not mitigated and retried',
    requests: all,
    outcome: ok(408),
    verdict: 'failed',
    om: false,
    retry: true,
  },
  {
    name: '400 is rejected without OM',
    requests: all,
    outcome: ok(400),
    verdict: 'failed',
    om: false,
    retry: false,
  },
  {
    name: '404 is rejected without OM',
    requests: ['provision', 'update', 'bind'],
    outcome: ok(404),
    verdict: 'failed',
    om: false,
  },
  {
    name: '409 to a create is a conflict, never mitigated',
    requests: ['provision', 'bind'],
    outcome: ok(409),
    verdict: 'failed',
    om: false,
    retry: false,
  },
  {
    name: '410 to a delete is success',
    requests: ['deprovision', 'unbind'],
    outcome: ok(410),
    verdict: 'succeeded',
    om: false,
  },
  {
    name: '410 to anything else is rejected',
    requests: ['provision', 'update', 'bind'],
    outcome: ok(410),
    verdict: 'failed',
    om: false,
  },
  {
    name: '422 ConcurrencyError waits and retries without OM',
    requests: all,
    outcome: { kind: 'response', status: 422, error: 'ConcurrencyError' },
    verdict: 'failed',
    om: false,
    retry: true,
  },
  {
    name: '422 other errors are rejected without OM',
    requests: all,
    outcome: { kind: 'response', status: 422, error: 'MaintenanceInfoConflict' },
    verdict: 'failed',
    om: false,
    retry: false,
  },
  {
    name: 'provision/deprovision and bind/unbind 5xx mitigate',
    requests: ['provision', 'deprovision', 'bind', 'unbind'],
    outcome: ok(500),
    verdict: 'failed',
    om: true,
    retry: true,
  },
  {
    name: 'update 5xx is not mitigated',
    requests: ['update'],
    outcome: ok(503),
    verdict: 'failed',
    om: false,
    retry: true,
  },
  {
    name: 'provision and bind timeout mitigate',
    requests: ['provision', 'bind'],
    outcome: { kind: 'timeout' },
    verdict: 'failed',
    om: true,
    retry: true,
  },
  {
    name: 'timeout of anything but provision and bind is not mitigated',
    requests: ['update', 'deprovision', 'unbind'],
    outcome: { kind: 'timeout' },
    verdict: 'failed',
    om: false,
    retry: true,
  },
  {
    name: 'an unreachable broker never received the request',
    requests: all,
    outcome: { kind: 'unreachable' },
    verdict: 'failed',
    om: false,
    retry: true,
  },
];

describe('orphan-mitigation table (OSB 2.17)', () => {
  for (const row of rows) {
    for (const request of row.requests) {
      it(`${request}: ${row.name}`, () => {
        const got = interpretOutcome(request, row.outcome);
        assert.equal(got.verdict, row.verdict);
        assert.equal(got.orphanMitigation, row.om);
        if (row.retry !== undefined) assert.equal(got.retry, row.retry);
      });
    }
  }

  it('a failed async provision or bind is terminal; a failed async delete is retried', () => {
    assert.equal(interpretOutcome('provision', { kind: 'lastOperationFailed' }).retry, false);
    assert.equal(interpretOutcome('bind', { kind: 'lastOperationFailed' }).retry, false);
    assert.equal(interpretOutcome('deprovision', { kind: 'lastOperationFailed' }).retry, true);
    assert.equal(interpretOutcome('unbind', { kind: 'lastOperationFailed' }).retry, true);
  });

  it('names the row in the reason', () => {
    assert.equal(interpretOutcome('provision', ok(500)).reason, 'BrokerError');
    assert.equal(
      interpretOutcome('provision', { kind: 'response', status: 422, error: 'AsyncRequired' }).reason,
      'AsyncRequired',
    );
    assert.equal(interpretOutcome('bind', ok(409)).reason, 'Conflict');
    assert.equal(interpretOutcome('bind', ok(201, true)).reason, 'MalformedResponse');
  });
});

describe('last_operation answers', () => {
  it('reads the final states', () => {
    assert.equal(interpretPoll('provision', 200, 'succeeded'), 'succeeded');
    assert.equal(interpretPoll('provision', 200, 'failed'), 'failed');
    assert.equal(interpretPoll('bind', 200, 'in progress'), 'inProgress');
  });

  it('410 is success only for an async delete, and keeps polling otherwise (OSBP-13)', () => {
    assert.equal(interpretPoll('deprovision', 410, undefined), 'gone');
    assert.equal(interpretPoll('unbind', 410, undefined), 'gone');
    assert.equal(interpretPoll('provision', 410, undefined), 'keepPolling');
    assert.equal(interpretPoll('update', 410, undefined), 'keepPolling');
  });

  it('404 means the resource does not exist', () => {
    assert.equal(interpretPoll('deprovision', 404, undefined), 'gone');
    assert.equal(interpretPoll('provision', 404, undefined), 'failed');
  });

  it('an unknown state or any other status keeps polling', () => {
    assert.equal(interpretPoll('provision', 200, 'done'), 'keepPolling');
    assert.equal(interpretPoll('provision', 500, undefined), 'keepPolling');
    assert.equal(interpretPoll('bind', 400, undefined), 'keepPolling');
  });
});
