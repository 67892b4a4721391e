import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NoKindMatchError } from '@bindery/kube';
import type { TypeRef } from '@bindery/kube';
import { webhookRules } from './rules.ts';

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
  it('no kinds: no rules (the webhook is called for nothing)', async () => {
    assert.deepEqual(
      await webhookRules([], { resourceFor, allowed: () => Promise.resolve(true), operations: ['CREATE'] }),
      [],
    );
  });
});
