import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyJsonPatch } from '@bindery/runtime';
import type { AdmissionContext, AdmissionRequest } from '@bindery/runtime';
import { pino } from 'pino';
import { kubernetesContext, originatingIdentity, userInfoRecorder } from './identity.ts';

const alice = {
  username: 'alice',
  uid: 'u-a',
  groups: ['devs', 'system:authenticated'],
  extra: { scopes: ['x'] },
};
const mallory = { username: 'mallory', uid: 'u-m', groups: ['system:authenticated'] };

function context(request: Partial<AdmissionRequest>): AdmissionContext {
  return {
    request: {
      uid: 'r1',
      kind: { group: 'osb.bindery.dev', version: 'v1alpha1', kind: 'ServiceInstance' },
      resource: { group: 'osb.bindery.dev', version: 'v1alpha1', resource: 'serviceinstances' },
      operation: 'CREATE',
      userInfo: alice,
      ...request,
    },
    path: '/mutate',
    log: pino({ level: 'silent' }),
    signal: new AbortController().signal,
    warn: () => undefined,
    auditAnnotation: () => undefined,
  };
}

const instance = (spec: Record<string, unknown>) => ({
  apiVersion: 'osb.bindery.dev/v1alpha1',
  kind: 'ServiceInstance',
  metadata: { name: 'db', namespace: 'apps' },
  spec,
});

describe('originating identity', () => {
  it('is "kubernetes <base64 JSON>" with the four properties of the profile', () => {
    const header = originatingIdentity({ username: 'bob' }) ?? '';
    assert.ok(header.startsWith('kubernetes '), header);
    const decoded: unknown = JSON.parse(
      Buffer.from(header.slice('kubernetes '.length), 'base64').toString('utf8'),
    );
    assert.deepEqual(decoded, { username: 'bob', uid: '', groups: [], extra: {} });
    assert.equal(originatingIdentity(undefined), undefined);
  });

  it('context carries platform, namespace, clusterid, instance_name and annotations', () => {
    assert.deepEqual(
      kubernetesContext({
        namespace: 'apps',
        clusterID: 'c-1',
        instanceName: 'db',
        instanceAnnotations: { a: '1' },
        namespaceAnnotations: {},
      }),
      {
        platform: 'kubernetes',
        namespace: 'apps',
        clusterid: 'c-1',
        instance_name: 'db',
        instance_annotations: { a: '1' },
      },
    );
  });
});

describe('userInfo recorder (mutating webhook)', () => {
  const recorder = userInfoRecorder();

  it('records the creating user, whatever the object claimed', async () => {
    const object = instance({ serviceClassName: 'c', userInfo: mallory });
    const result = await recorder.handle(context({ object }));
    assert.equal(result.allowed, true);
    const patched = applyJsonPatch<{ spec: { userInfo: unknown } }>(object, result.patch ?? []);
    assert.deepEqual(patched.spec.userInfo, alice);
  });

  it('records the user who changed the spec', async () => {
    const result = await recorder.handle(
      context({
        operation: 'UPDATE',
        userInfo: mallory,
        object: instance({ parameters: { size: 2 }, userInfo: alice }),
        oldObject: instance({ parameters: { size: 1 }, userInfo: alice }),
      }),
    );
    const object = instance({ parameters: { size: 2 }, userInfo: alice });
    const patched = applyJsonPatch<{ spec: { userInfo: unknown } }>(object, result.patch ?? []);
    assert.deepEqual(patched.spec.userInfo, mallory);
  });

  it('keeps the recorded user when only userInfo changed', async () => {
    const result = await recorder.handle(
      context({
        operation: 'UPDATE',
        userInfo: mallory,
        object: instance({ parameters: { size: 1 }, userInfo: mallory }),
        oldObject: instance({ parameters: { size: 1 }, userInfo: alice }),
      }),
    );
    const object = instance({ parameters: { size: 1 }, userInfo: mallory });
    const patched = applyJsonPatch<{ spec: { userInfo: unknown } }>(object, result.patch ?? []);
    assert.deepEqual(patched.spec.userInfo, alice, 'the claimed user is reverted');
  });

  it('leaves a metadata-only update alone', async () => {
    const result = await recorder.handle(
      context({
        operation: 'UPDATE',
        userInfo: mallory,
        object: instance({ parameters: { size: 1 }, userInfo: alice }),
        oldObject: instance({ parameters: { size: 1 }, userInfo: alice }),
      }),
    );
    assert.deepEqual(result, { allowed: true });
  });
});
