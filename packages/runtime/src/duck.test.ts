import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubeObject } from '@bindery/kube';
import { DuckClient, duckPatch, podSpecable, podTemplatePath } from './duck.ts';
import type { PodSpecable } from './duck.ts';
import { FakeClient } from './testing/fake-client.ts';

const deployment = (): KubeObject => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { namespace: 'default', name: 'web', resourceVersion: '7' },
  spec: {
    replicas: 2,
    selector: { matchLabels: { app: 'web' } },
    template: {
      metadata: { labels: { app: 'web' } },
      spec: { containers: [{ name: 'app', image: 'nginx', ports: [{ containerPort: 80 }] }] },
    },
  },
});

const cronJob = (): KubeObject => ({
  apiVersion: 'batch/v1',
  kind: 'CronJob',
  metadata: { namespace: 'default', name: 'nightly' },
  spec: {
    schedule: '0 0 * * *',
    jobTemplate: { spec: { template: { spec: { containers: [{ name: 'job', image: 'busybox' }] } } } },
  },
});

describe('podSpecable', () => {
  it('is the object itself for kinds with spec.template', () => {
    const d = deployment();
    assert.equal(podSpecable(d), d);
    assert.deepEqual(podTemplatePath(d), ['spec', 'template']);
  });

  it('views a CronJob’s spec.jobTemplate.spec.template as spec.template, editing the CronJob', () => {
    const cj = cronJob();
    const view = podSpecable(cj);
    assert.ok(view);
    view.spec.template.spec.volumes = [{ name: 'v', emptyDir: {} }];
    view.metadata.labels = { bound: 'yes' };
    const spec = cj['spec'] as { jobTemplate: { spec: { template: PodSpecable['spec']['template'] } } };
    assert.deepEqual(spec.jobTemplate.spec.template.spec.volumes, [{ name: 'v', emptyDir: {} }]);
    assert.deepEqual(cj.metadata.labels, { bound: 'yes' });
    assert.equal((cj['spec'] as Record<string, unknown>)['template'], undefined, 'no spec.template added');
  });

  it('is undefined for objects without a pod template', () => {
    assert.equal(podSpecable({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' } }), undefined);
    assert.equal(
      podSpecable({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: {}, spec: { template: {} } }),
      undefined,
    );
    // A custom kind named CronJob in another group has its template at spec.template.
    const custom = { apiVersion: 'example.com/v1', kind: 'CronJob', metadata: {}, spec: cronJob()['spec'] };
    assert.equal(podSpecable(custom), undefined);
  });
});

describe('duckPatch', () => {
  it('is empty when nothing changed', () => {
    assert.deepEqual(duckPatch(deployment(), deployment()), []);
  });

  it('leads with the resourceVersion precondition and changes only what changed', () => {
    const desired = deployment();
    const view = podSpecable(desired);
    assert.ok(view);
    view.spec.template.spec.volumes = [{ name: 'creds', secret: { secretName: 'db' } }];
    assert.deepEqual(duckPatch(deployment(), desired), [
      { op: 'replace', path: '/metadata/resourceVersion', value: '7' },
      {
        op: 'add',
        path: '/spec/template/spec/volumes',
        value: [{ name: 'creds', secret: { secretName: 'db' } }],
      },
    ]);
  });

  it('refuses an object without a resourceVersion', () => {
    const original = deployment();
    delete original.metadata.resourceVersion;
    const desired = { ...original, metadata: { ...original.metadata, labels: { a: 'b' } } };
    assert.throws(() => duckPatch(original, desired), /no metadata.resourceVersion/);
  });
});

describe('DuckClient', () => {
  it('patches the changes, and nothing when there are none', async () => {
    const client = new FakeClient({ objects: [deployment()] });
    const ducks = new DuckClient({ client, fieldManager: 'test' });
    const ref = { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'default', name: 'web' };
    const original = await ducks.get(ref);
    assert.equal(await ducks.patchChanges(original, structuredClone(original)), undefined);
    assert.equal(client.actions.filter((a) => a.verb === 'patch').length, 0);

    const desired = structuredClone(original);
    const view = podSpecable(desired);
    assert.ok(view);
    view.spec.template.spec.volumes = [{ name: 'creds', secret: { secretName: 'db' } }];
    const patched = await ducks.patchChanges(original, desired);
    assert.deepEqual(podSpecable(patched ?? deployment())?.spec.template.spec.volumes, [
      { name: 'creds', secret: { secretName: 'db' } },
    ]);
    // Every other field is kept: the write is a patch, not a PUT of the view.
    assert.deepEqual((patched?.['spec'] as Record<string, unknown>)['replicas'], 2);
    const patch = client.actions.find((a) => a.verb === 'patch');
    assert.equal(patch?.patchType, 'json');
    assert.deepEqual(patch?.options, { fieldManager: 'test' });
  });

  it('fails with 409 Conflict when the object changed since it was read', async () => {
    const client = new FakeClient({ objects: [deployment()] });
    const ducks = new DuckClient({ client });
    const ref = { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'default', name: 'web' };
    const stale = await ducks.get(ref);
    await client.patch(ref, { spec: { replicas: 3 } }, { type: 'merge' });
    const desired = structuredClone(stale);
    desired.metadata.labels = { bound: 'yes' };
    await assert.rejects(ducks.patchChanges(stale, desired), (err: Error & { code?: number }) => {
      assert.equal(err.code, 409);
      return true;
    });
    assert.equal((await client.get(ref)).metadata.labels, undefined);
  });

  it('reads through the reader when one is given', async () => {
    const client = new FakeClient();
    const reader = new FakeClient({ objects: [cronJob()] });
    const ducks = new DuckClient({ client, reader });
    const list = await ducks.list({ apiVersion: 'batch/v1', kind: 'CronJob' }, { namespace: 'default' });
    assert.deepEqual(
      list.items.map((i) => i.metadata.name),
      ['nightly'],
    );
    assert.equal(client.actions.length, 0);
  });
});
