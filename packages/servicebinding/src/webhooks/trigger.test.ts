import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StatusError } from '@bindery/kube';
import type { KubeObject, ObjectRef } from '@bindery/kube';
import type { ServiceBinding } from '../apis/index.ts';
import { bindWorkload } from '../controllers/servicebinding.ts';
import { ServiceBindingIndex } from './binding-index.ts';
import { triggerAnnotation } from './constants.ts';
import { affectedBindings, trigger } from './trigger.ts';
import type { BindingKey } from './trigger.ts';
import { TriggerForwarder } from './trigger-forwarder.ts';
import { asReview, request } from './test-helpers.ts';

const backendType = { apiVersion: 'stable.example.com/v1', kind: 'ProvisionedBackend' };
const deploy = { apiVersion: 'apps/v1', kind: 'Deployment' };

function sb(
  name: string,
  service: ServiceBinding['spec']['service'],
  workload: ServiceBinding['spec']['workload'],
): ServiceBinding {
  return {
    apiVersion: 'servicebinding.io/v1',
    kind: 'ServiceBinding',
    metadata: { namespace: 'default', name, uid: `uid-${name}` },
    spec: { service, workload },
    status: { binding: { name: 'db-secret' } },
  };
}

const toBackend = sb('to-backend', { ...backendType, name: 'db' }, { ...deploy, name: 'web' });
const toSecret = sb(
  'to-secret',
  { apiVersion: 'v1', kind: 'Secret', name: 'creds' },
  { ...deploy, selector: { matchLabels: { tier: 'web' } } },
);
const toBinding = sb(
  'to-binding',
  { apiVersion: 'servicebinding.io/v1', kind: 'ServiceBinding', name: 'to-backend' },
  { ...deploy, name: 'api' },
);

function index(): ServiceBindingIndex {
  const i = new ServiceBindingIndex();
  for (const b of [toBackend, toSecret, toBinding]) i.upsert(b);
  return i;
}

const backend = (secret?: string): KubeObject => ({
  ...backendType,
  metadata: { namespace: 'default', name: 'db' },
  ...(secret ? { status: { binding: { name: secret } } } : {}),
});
const deployment = (name: string, labels: Record<string, string> = {}): KubeObject => ({
  ...deploy,
  metadata: { namespace: 'default', name, labels },
  spec: { template: { spec: { containers: [{ name: 'app' }] } } },
});
const keys = (i: ServiceBindingIndex, r: ReturnType<typeof request>): string[] =>
  affectedBindings(i, r).map((e) => e.key);

describe('trigger: affected bindings', () => {
  it('PS-1 a rotated .status.binding.name of a Provisioned Service (status subresource) enqueues its bindings', () => {
    assert.deepEqual(
      keys(index(), request('UPDATE', backend('new'), { oldObject: backend('old'), subResource: 'status' })),
      ['default/to-backend'],
    );
  });
  it('a service update that leaves .status.binding.name alone enqueues nothing', () => {
    assert.deepEqual(keys(index(), request('UPDATE', backend('old'), { oldObject: backend('old') })), []);
  });
  it('DS-1 a directly referenced Secret: created, updated or deleted', () => {
    const secret: KubeObject = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { namespace: 'default', name: 'creds' },
    };
    for (const op of ['CREATE', 'UPDATE'] as const) {
      assert.deepEqual(keys(index(), request(op, secret, { oldObject: secret })), ['default/to-secret']);
    }
    assert.deepEqual(keys(index(), request('DELETE', undefined, { oldObject: secret })), [
      'default/to-secret',
    ]);
  });
  it('a workload created, relabelled into or out of a selector, or deleted', () => {
    assert.deepEqual(keys(index(), request('CREATE', deployment('web'))), ['default/to-backend']);
    assert.deepEqual(
      keys(index(), request('UPDATE', deployment('x', { tier: 'web' }), { oldObject: deployment('x') })),
      ['default/to-secret'],
    );
    assert.deepEqual(
      keys(index(), request('UPDATE', deployment('x'), { oldObject: deployment('x', { tier: 'web' }) })),
      ['default/to-secret'],
    );
    assert.deepEqual(keys(index(), request('DELETE', undefined, { oldObject: deployment('web') })), [
      'default/to-backend',
    ]);
    assert.deepEqual(keys(index(), request('CREATE', deployment('unrelated'))), []);
  });
  it('a workload update that keeps labels and projection enqueues nothing; a missing projection does', () => {
    const bound = bindWorkload(toBackend, deployment('web'), undefined, 'db-secret', undefined);
    assert.deepEqual(keys(index(), request('UPDATE', bound, { oldObject: bound })), []);
    assert.deepEqual(keys(index(), request('UPDATE', deployment('web'), { oldObject: bound })), [
      'default/to-backend',
    ]);
  });
  it('dry runs and ServiceBindings (the controller watches those) enqueue nothing', () => {
    assert.deepEqual(keys(index(), request('CREATE', deployment('web'), { dryRun: true })), []);
    assert.deepEqual(keys(index(), request('UPDATE', toBackend, { oldObject: toBackend })), []);
  });
  it('the handler always allows and hands the bindings over', async () => {
    const got: BindingKey[][] = [];
    const handle = asReview(trigger({ index: index(), enqueue: (b) => got.push(b) }));
    const response = await handle(request('CREATE', deployment('web')));
    assert.equal(response.allowed, true);
    assert.deepEqual(got, [[{ namespace: 'default', name: 'to-backend' }]]);
    // Malformed input is allowed too: the trigger never blocks.
    const { namespace: _namespace, ...rest } = request('CREATE', deployment('web'));
    const malformed = { ...rest, object: 'not an object' };
    assert.equal((await handle(malformed)).allowed, true);
  });
  it('never answers allowed: false on its own errors (a failing hand-over, a review without a kind)', async () => {
    const failing = asReview(
      trigger({
        index: index(),
        enqueue: () => {
          throw new Error('the forwarder is broken');
        },
      }),
    );
    const response = await failing(request('CREATE', deployment('web')));
    assert.equal(response.allowed, true);
    const handle = asReview(trigger({ index: index(), enqueue: () => undefined }));
    const { kind: _kind, ...withoutKind } = request('CREATE', deployment('web'));
    assert.equal((await handle(withoutKind as typeof withoutKind & { kind: never })).allowed, true);
  });
});

describe('TriggerForwarder', () => {
  const patches: Array<{ ref: ObjectRef; patch: unknown }> = [];
  const client = {
    patch: <T extends KubeObject = KubeObject>(ref: ObjectRef, patch: unknown): Promise<T> => {
      patches.push({ ref, patch });
      if (ref.name === 'gone') return Promise.reject(new StatusError({ code: 404, request: 'PATCH gone' }));
      return Promise.resolve({ metadata: {} } as T);
    },
  };

  it('on the leader: into the controller queue after the debounce, once the announced write is stored', async () => {
    const queued: BindingKey[] = [];
    const f = new TriggerForwarder({
      isLeader: () => true,
      enqueue: (b) => queued.push(b),
      client,
      debounceMs: 20,
    });
    f.forward([{ namespace: 'default', name: 'a' }]);
    f.forward([{ namespace: 'default', name: 'a' }]);
    assert.deepEqual(queued, [], 'not before the webhook has answered');
    await f.idle();
    assert.deepEqual(queued, [{ namespace: 'default', name: 'a' }]);
  });

  it('elsewhere: one debounced annotation patch per binding, a vanished binding skipped', async () => {
    patches.length = 0;
    const f = new TriggerForwarder({
      isLeader: () => false,
      enqueue: () => assert.fail('not the leader'),
      client,
      debounceMs: 20,
      now: () => new Date('2026-02-03T04:05:06.789Z'),
    });
    for (let i = 0; i < 5; i++)
      f.forward([
        { namespace: 'default', name: 'a' },
        { namespace: 'default', name: 'gone' },
      ]);
    f.forward([{ namespace: 'default', name: 'b' }]);
    await f.idle();
    assert.deepEqual(
      patches.map((p) => p.ref.name),
      ['a', 'gone', 'b'],
    );
    assert.deepEqual(patches[0], {
      ref: { apiVersion: 'servicebinding.io/v1', kind: 'ServiceBinding', namespace: 'default', name: 'a' },
      patch: { metadata: { annotations: { [triggerAnnotation]: '2026-02-03T04:05:06.789Z' } } },
    });
  });

  it('forwards only bindings that exist in the cache when the patch is due', async () => {
    patches.length = 0;
    const live = new Set(['default/a']);
    const f = new TriggerForwarder({
      isLeader: () => false,
      enqueue: () => assert.fail('not the leader'),
      client,
      exists: (b) => live.has(`${b.namespace}/${b.name}`),
      debounceMs: 20,
    });
    f.forward([
      { namespace: 'default', name: 'a' },
      { namespace: 'default', name: 'forged' },
    ]);
    await f.idle();
    assert.deepEqual(
      patches.map((p) => p.ref.name),
      ['a'],
    );
  });

  it('a flood of forged triggers costs the API server a bounded number of writes per second', async () => {
    patches.length = 0;
    const f = new TriggerForwarder({
      isLeader: () => false,
      enqueue: () => assert.fail('not the leader'),
      client,
      debounceMs: 5,
      maxPatchesPerSecond: 20,
      patchBurst: 10,
    });
    const started = Date.now();
    const flood = setInterval(
      () => f.forward(Array.from({ length: 50 }, (_, i) => ({ namespace: 'default', name: `b${i}` }))),
      5,
    );
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    clearInterval(flood);
    const seconds = (Date.now() - started) / 1000;
    // 10 at once, then 20 a second: about 30 in a second, never the thousands asked for.
    assert.ok(
      patches.length <= 10 + Math.ceil(20 * seconds) + 2,
      `${patches.length} patches in ${seconds} s`,
    );
    assert.ok(patches.length >= 10, 'it still forwards');
  });
});
