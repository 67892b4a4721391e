// The pure parts of the broker controller: object names, durations, restrictions, relist timing.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { BrokerStatus } from '../apis/broker.ts';
import { relistDueInMs } from './broker-reconciler.ts';
import type { BrokerObject } from './auth.ts';
import { InvalidCatalogError, desiredCatalog } from './catalog.ts';
import { parseDuration } from './duration.ts';
import { catalogObjectName } from './names.ts';
import { classProperties, matches, parseRequirements } from './restrictions.ts';

describe('catalogObjectName', () => {
  it('keeps an id that is already a name (UUIDs), and makes a stable, distinct name of any other', () => {
    assert.equal(
      catalogObjectName('4f6e6cf6-ffdd-425f-a2c7-3c9258ad246a'),
      '4f6e6cf6-ffdd-425f-a2c7-3c9258ad246a',
    );
    const a = catalogObjectName('Queue_Service!');
    assert.match(a, /^queue-service-[0-9a-f]{12}$/);
    assert.equal(catalogObjectName('Queue_Service!'), a);
    assert.notEqual(catalogObjectName('queue-service!'), a);
    assert.match(catalogObjectName('___'), /^[0-9a-f]{12}$/);
    assert.ok(catalogObjectName('x'.repeat(300)).length <= 63);
  });
});

describe('parseDuration', () => {
  it('reads Go durations and refuses anything else', () => {
    assert.equal(parseDuration('15m'), 900_000);
    assert.equal(parseDuration('1h30m'), 5_400_000);
    assert.equal(parseDuration('1.5s'), 1500);
    assert.equal(parseDuration('250ms'), 250);
    assert.equal(parseDuration('15'), undefined);
    assert.equal(parseDuration('soon'), undefined);
    assert.equal(parseDuration(''), undefined);
  });
});

describe('catalog restrictions', () => {
  it('==, !=, in and notin', () => {
    const props = { name: 'n', 'spec.externalName': 'db', 'spec.externalID': 'id' };
    const check = (rule: string) => matches(parseRequirements([rule], classProperties, 'f'), props);
    assert.equal(check('spec.externalName==db'), true);
    assert.equal(check('spec.externalName != db'), false);
    assert.equal(check('spec.externalName in (cache, db)'), true);
    assert.equal(check('spec.externalName notin (cache,db)'), false);
    assert.equal(
      matches(parseRequirements(['name==n', 'spec.externalID==other'], classProperties, 'f'), props),
      false,
    );
  });

  it('a rule that does not parse names its field', () => {
    assert.throws(
      () => parseRequirements(['name ~ x'], classProperties, 'spec.r'),
      /^Error: spec\.r\[0\]: "name ~ x" is not/,
    );
    assert.throws(
      () => parseRequirements(['name==1', 'spec.free==true'], classProperties, 'spec.r'),
      /spec\.r\[1\]: unknown property "spec\.free"/,
    );
    assert.throws(
      () => parseRequirements(['name in ()'], classProperties, 'spec.r'),
      /needs at least one value/,
    );
  });
});

describe('desiredCatalog', () => {
  const scope = { cluster: true, brokerName: 'b' } as const;
  const none = { classes: [], plans: [] };
  const service = (id: string, name: string, plans: unknown[]) => ({
    id,
    name,
    description: '',
    bindable: true,
    plans,
  });
  const plan = (id: string, name: string) => ({ id, name, description: '' });

  it('refuses a catalog the platform cannot correlate or resolve: duplicates, no plans, too large', () => {
    const bad = (services: unknown[], limits = {}) =>
      assert.throws(() => desiredCatalog({ services } as never, scope, none, limits), InvalidCatalogError);
    bad([service('s', 'a', [plan('p', 'x')]), service('s', 'b', [plan('q', 'y')])]);
    bad([service('s', 'a', [plan('p', 'x')]), service('t', 'a', [plan('q', 'y')])]);
    bad([service('s', 'a', [plan('p', 'x'), plan('q', 'x')])]);
    bad([service('s', 'a', [])]);
    bad([service('s', 'a', [plan('p', 'x'), plan('q', 'y')])], { maxPlans: 1 });
    bad([service('s', 'a', [plan('p', 'x')]), service('t', 'b', [plan('q', 'y')])], { maxClasses: 1 });
  });

  it('a class none of whose plans the restrictions admit is left out', () => {
    const out = desiredCatalog(
      { services: [service('s', 'a', [plan('p', 'x')]), service('t', 'b', [plan('q', 'y')])] } as never,
      scope,
      { classes: [], plans: parseRequirements(['spec.externalName==y'], ['spec.externalName'], 'f') },
    );
    assert.deepEqual(
      out.classes.map((c) => c.name),
      ['t'],
    );
    assert.deepEqual(
      out.plans.map((p) => p.name),
      ['q'],
    );
  });
});

describe('relistDueInMs', () => {
  const t = Date.UTC(2026, 0, 1);
  const broker = (
    spec: object,
    status: BrokerStatus | undefined,
    generation = 1,
  ): BrokerObject & { status?: BrokerStatus } => ({
    metadata: { name: 'b', generation },
    spec: { url: 'https://b', ...spec },
    ...(status && { status }),
  });
  const cond = (status: 'True' | 'False', reason: string) => ({
    type: 'Ready',
    status,
    reason,
    message: '',
    lastTransitionTime: '',
  });
  const at = (ms: number) => new Date(t - ms).toISOString();

  it('a new generation or a retriable failure is due now; a spec error waits for the spec', () => {
    assert.equal(relistDueInMs(broker({}, undefined), t, 60_000), 0);
    assert.equal(
      relistDueInMs(
        broker({}, { observedGeneration: 1, conditions: [cond('True', 'FetchedCatalog')] }, 2),
        t,
        60_000,
      ),
      0,
    );
    assert.equal(
      relistDueInMs(
        broker({}, { observedGeneration: 1, conditions: [cond('False', 'ErrorFetchingCatalog')] }),
        t,
        60_000,
      ),
      0,
    );
    assert.equal(
      relistDueInMs(
        broker({}, { observedGeneration: 1, conditions: [cond('False', 'InvalidBrokerSpec')] }),
        t,
        60_000,
      ),
      undefined,
    );
  });

  it('Duration: after relistDuration (at least the floor) since the last listing; Manual: never by itself', () => {
    const ok = (last: number): BrokerStatus => ({
      observedGeneration: 1,
      conditions: [cond('True', 'FetchedCatalog')],
      lastCatalogRetrievalTime: at(last),
    });
    assert.equal(relistDueInMs(broker({ relistDuration: '10m' }, ok(4 * 60_000)), t, 60_000), 6 * 60_000);
    assert.equal(relistDueInMs(broker({ relistDuration: '10m' }, ok(11 * 60_000)), t, 60_000), 0);
    assert.equal(relistDueInMs(broker({ relistDuration: '1s' }, ok(0)), t, 60_000), 60_000);
    assert.equal(relistDueInMs(broker({}, ok(0)), t, 60_000), 15 * 60_000);
    assert.equal(
      relistDueInMs(broker({ relistBehavior: 'Manual' }, ok(365 * 86_400_000)), t, 60_000),
      undefined,
    );
    // A name conflict is not retried at once (the status write would wake it again and again).
    const conflict = { ...ok(60_000), conditions: [cond('False', 'CatalogNameConflict')] };
    assert.equal(relistDueInMs(broker({}, conflict), t, 60_000), 14 * 60_000);
  });
});
