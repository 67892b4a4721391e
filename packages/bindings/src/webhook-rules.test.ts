import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NoKindMatchError } from '@bindery/kube';
import type { TypeRef } from '@bindery/kube';
import { webhookRules } from './webhook-rules.ts';

const resources: Record<string, { group: string; resource: string }> = {
  'apps/v1/Deployment': { group: 'apps', resource: 'deployments' },
  'apps/v1/StatefulSet': { group: 'apps', resource: 'statefulsets' },
  'batch/v1/Job': { group: 'batch', resource: 'jobs' },
  'v1/Secret': { group: '', resource: 'secrets' },
  'stable.example.com/v1/ProvisionedBackend': {
    group: 'stable.example.com',
    resource: 'provisionedbackends',
  },
};
const resourceFor = (t: TypeRef): Promise<{ group: string; resource: string }> => {
  const r = resources[`${t.apiVersion}/${t.kind}`];
  return r
    ? Promise.resolve(r)
    : Promise.reject(new NoKindMatchError({ group: 'x', version: 'v1', kind: t.kind }));
};

describe('webhookRules', () => {
  it('one rule per group, every version, resources sorted; unserved and denied kinds left out', async () => {
    const skipped: string[] = [];
    const rules = await webhookRules(
      [
        { apiVersion: 'apps/v1', kind: 'StatefulSet' },
        { apiVersion: 'batch/v1', kind: 'Job' },
        { apiVersion: 'apps/v1', kind: 'Deployment' },
        { apiVersion: 'nope/v1', kind: 'Nope' },
        { apiVersion: 'stable.example.com/v1', kind: 'ProvisionedBackend' },
      ],
      {
        resourceFor,
        allowed: (group) => Promise.resolve(group !== 'batch'),
        operations: ['CREATE', 'UPDATE'],
        subresources: (t) => (t.kind === 'ProvisionedBackend' ? ['status'] : []),
        onSkip: (t) => skipped.push(t.kind),
      },
    );
    assert.deepEqual(rules, [
      {
        apiGroups: ['apps'],
        apiVersions: ['*'],
        operations: ['CREATE', 'UPDATE'],
        resources: ['deployments', 'statefulsets'],
        scope: 'Namespaced',
      },
      {
        apiGroups: ['stable.example.com'],
        apiVersions: ['*'],
        operations: ['CREATE', 'UPDATE'],
        resources: ['provisionedbackends', 'provisionedbackends/status'],
        scope: 'Namespaced',
      },
    ]);
    assert.deepEqual(skipped.sort(), ['Job', 'Nope']);
  });
  it('a transient discovery or access-check error keeps the kind as last known, and says so', async () => {
    const types = [
      { apiVersion: 'apps/v1', kind: 'Deployment' },
      { apiVersion: 'batch/v1', kind: 'Job' },
    ];
    const lastKnown = new Map<string, { group: string; resource: string }>();
    const options = { operations: ['CREATE'], lastKnown };
    const first = await webhookRules(types, {
      ...options,
      resourceFor,
      allowed: () => Promise.resolve(true),
    });
    assert.deepEqual(
      first.map((r) => r.resources),
      [['deployments'], ['jobs']],
    );

    const transient: string[] = [];
    const unavailable = new Error('GET /apis/batch/v1: 503 Service Unavailable');
    const discoveryDown = await webhookRules(types, {
      ...options,
      resourceFor: (t) => (t.kind === 'Job' ? Promise.reject(unavailable) : resourceFor(t)),
      allowed: () => Promise.resolve(true),
      onTransientError: (t) => transient.push(t.kind),
    });
    assert.deepEqual(discoveryDown, first);
    const reviewsDown = await webhookRules(types, {
      ...options,
      resourceFor,
      allowed: (group) => (group === 'batch' ? Promise.reject(unavailable) : Promise.resolve(true)),
      onTransientError: (t) => transient.push(t.kind),
    });
    assert.deepEqual(reviewsDown, first);
    assert.deepEqual(transient, ['Job', 'Job']);
  });
  it('a transient error for a kind never seen fails the whole computation: no rules without it are written', async () => {
    await assert.rejects(
      webhookRules([{ apiVersion: 'batch/v1', kind: 'Job' }], {
        resourceFor,
        allowed: () => Promise.reject(new Error('connection reset')),
        operations: ['CREATE'],
        lastKnown: new Map(),
      }),
      /Job: connection reset/,
    );
  });
  it('a kind no longer served, or denied, is dropped from what is known', async () => {
    const lastKnown = new Map([['Job.batch', { group: 'batch', resource: 'jobs' }]]);
    const rules = await webhookRules([{ apiVersion: 'batch/v1', kind: 'Job' }], {
      resourceFor,
      allowed: () => Promise.resolve(false),
      operations: ['CREATE'],
      lastKnown,
    });
    assert.deepEqual(rules, []);
    assert.equal(lastKnown.size, 0);
  });
  it('no kinds: no rules (the webhook is called for nothing)', async () => {
    assert.deepEqual(
      await webhookRules([], { resourceFor, allowed: () => Promise.resolve(true), operations: ['CREATE'] }),
      [],
    );
  });
});

describe('webhookRules, versions: named', () => {
  it('one rule per group/version the kinds name, every version of a kind apart', async () => {
    const lastKnown = new Map<string, { group: string; resource: string }>();
    const rules = await webhookRules(
      [
        { apiVersion: 'apps/v1', kind: 'StatefulSet' },
        { apiVersion: 'apps/v1', kind: 'Deployment' },
        { apiVersion: 'apps/v1beta2', kind: 'Deployment' },
        { apiVersion: 'batch/v1', kind: 'Job' },
      ],
      {
        resourceFor: (t) => Promise.resolve({ resource: `${t.kind.toLowerCase()}s` }),
        operations: ['CREATE', 'UPDATE'],
        versions: 'named',
        lastKnown,
      },
    );
    const rule = (group: string, version: string, resources: string[]): unknown => ({
      apiGroups: [group],
      apiVersions: [version],
      operations: ['CREATE', 'UPDATE'],
      resources,
      scope: 'Namespaced',
    });
    assert.deepEqual(rules, [
      rule('apps', 'v1', ['deployments', 'statefulsets']),
      rule('apps', 'v1beta2', ['deployments']),
      rule('batch', 'v1', ['jobs']),
    ]);
    assert.deepEqual([...lastKnown.keys()].sort(), [
      'apps/v1/Deployment',
      'apps/v1/StatefulSet',
      'apps/v1beta2/Deployment',
      'batch/v1/Job',
    ]);
  });
});
