import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubeObject } from '@bindery/kube';
import { FakeClient } from '@bindery/runtime/testing';
import { AccessChecker } from './access-checker.ts';

/** The fake answers reviews as the API server does: `status.allowed` for what RBAC grants. */
function reviewer(
  grants: (resource: string) => boolean,
): Pick<FakeClient, 'create'> & { asked: () => number } {
  const client = new FakeClient();
  let asked = 0;
  return {
    asked: () => asked,
    create: async <T extends KubeObject>(obj: T): Promise<T> => {
      asked++;
      const created = await client.create({ ...obj, metadata: { generateName: 'review-' } });
      const attrs = (obj as unknown as { spec: { resourceAttributes: { resource: string } } }).spec;
      return { ...created, status: { allowed: grants(attrs.resourceAttributes.resource) } };
    },
  };
}

describe('AccessChecker', () => {
  it('caches an answer for its time to live', async () => {
    let now = 0;
    const client = reviewer((r) => r === 'deployments');
    const checker = new AccessChecker({ client, ttlMs: 1000, clock: { now: () => now } });
    const deployments = { group: 'apps', resource: 'deployments', verb: 'update' };
    assert.equal(await checker.allowed(deployments), true);
    assert.equal(await checker.allowed({ ...deployments, resource: 'gadgets' }), false);
    assert.equal(await checker.allowed(deployments), true);
    assert.equal(client.asked(), 2);
    now += 1000;
    assert.equal(await checker.allowed(deployments), true);
    assert.equal(client.asked(), 3, 'asked again once expired');
  });

  it('keeps at most maxEntries answers, however many kinds bindings name', async () => {
    const client = reviewer(() => true);
    const checker = new AccessChecker({ client, maxEntries: 100 });
    for (let i = 0; i < 1000; i++)
      await checker.allowed({ group: 'example.com', resource: `kind${i}s`, verb: 'update' });
    assert.equal(checker.size, 100);
    // The most recent are still answered from the cache; the oldest are asked again.
    await checker.allowed({ group: 'example.com', resource: 'kind999s', verb: 'update' });
    assert.equal(client.asked(), 1000);
    await checker.allowed({ group: 'example.com', resource: 'kind0s', verb: 'update' });
    assert.equal(client.asked(), 1001);
  });
});
