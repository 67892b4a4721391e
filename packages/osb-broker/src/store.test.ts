import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compareBind, compareProvision, sameJson } from './store.ts';

describe('repeated PUTs', () => {
  const body = {
    service_id: 's',
    plan_id: 'p',
    organization_guid: 'o',
    space_guid: 'g',
    parameters: { a: 1, b: [1, { c: 2 }] },
  };

  it('compares JSON regardless of key order and undefined values', () => {
    assert.ok(sameJson({ a: 1, b: { c: [1, 2], d: undefined } }, { b: { c: [1, 2] }, a: 1 }));
    assert.ok(!sameJson({ a: [1, 2] }, { a: [2, 1] }));
    assert.ok(!sameJson({ a: 1 }, { a: '1' }));
  });

  it('is new without a stored request, same for the same attributes, different otherwise', () => {
    assert.equal(compareProvision(undefined, body), 'new');
    assert.equal(compareProvision(body, { ...body, parameters: { b: [1, { c: 2 }], a: 1 } }), 'same');
    assert.equal(
      compareProvision(body, { ...body, context: { platform: 'kubernetes', instance_name: 'new' } }),
      'same',
    );
    assert.equal(compareProvision(body, { ...body, plan_id: 'q' }), 'different');
    assert.equal(compareProvision(body, { ...body, parameters: {} }), 'different');
    assert.equal(compareProvision(body, { ...body, maintenance_info: { version: '1.0.0' } }), 'different');
    assert.equal(
      compareProvision({ ...body, parameters: {} }, { ...body, parameters: undefined as never }),
      'same',
    );
  });

  it('compares binds on ids, app, bind_resource, parameters and predecessor', () => {
    const bind = { service_id: 's', plan_id: 'p', bind_resource: { app_guid: 'a' } };
    assert.equal(compareBind(undefined, bind), 'new');
    assert.equal(compareBind(bind, { ...bind, context: { platform: 'x' } }), 'same');
    assert.equal(compareBind(bind, { ...bind, bind_resource: { app_guid: 'b' } }), 'different');
    assert.equal(compareBind(bind, { ...bind, predecessor_binding_id: 'old' }), 'different');
  });
});
