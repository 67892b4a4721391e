import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { FakeClock, NoKindMatchError, isNotFound } from '@bindery/kube';
import type { KubeObject, TypeRef } from '@bindery/kube';
import { FakeClient } from '@bindery/runtime/testing';
import type { Reactor } from '@bindery/runtime/testing';
import { pino } from 'pino';
import type { ServiceBinding } from '../apis/index.ts';
import { AccessChecker } from './access-checker.ts';
import { ServiceBindingIndex } from './binding-index.ts';
import { WebhookConfigurationReconciler } from './configurations.ts';
import { defaultWebhookConfigurationNames, webhookNames } from './constants.ts';

const log = pino({ level: 'silent' });
const plurals: Record<string, { group: string; resource: string }> = {
  Deployment: { group: 'apps', resource: 'deployments' },
  Job: { group: 'batch', resource: 'jobs' },
  Secret: { group: '', resource: 'secrets' },
};

function binding(name: string, workload: TypeRef): ServiceBinding {
  return {
    apiVersion: 'servicebinding.io/v1',
    kind: 'ServiceBinding',
    metadata: { namespace: 'default', name, uid: `uid-${name}` },
    spec: {
      service: { apiVersion: 'v1', kind: 'Secret', name: 'creds' },
      workload: { ...workload, name: 'w' },
    },
  };
}

/** Access reviews answered "allowed" by the fake API server, unless a reactor fails them. */
function reviewClient(...reactors: Reactor[]): FakeClient {
  return new FakeClient({
    reactors: [
      ...reactors,
      {
        verb: 'create',
        kind: 'SelfSubjectAccessReview',
        fn: (a) => ({ response: { ...(a.object as KubeObject), status: { allowed: true } } }),
      },
    ],
  });
}

const interceptorResources = (rules: { interceptor: Array<{ resources: string[] }> }): string[] =>
  rules.interceptor.flatMap((r) => r.resources);

describe('AccessChecker', () => {
  it('an error after an answer keeps the last answer; an error before any answer is thrown, never "denied"', async () => {
    const clock = new FakeClock(Date.parse('2024-01-01T00:00:00Z'));
    let down = false;
    const client = reviewClient({
      verb: 'create',
      kind: 'SelfSubjectAccessReview',
      fn: () => (down ? new Error('connection reset') : undefined),
    });
    const access = new AccessChecker({ client, clock, ttlMs: 1_000 });
    const jobs = { group: 'batch', resource: 'jobs', verb: 'update' };
    assert.equal(await access.allowed(jobs), true);
    down = true;
    clock.advance(5_000);
    assert.equal(await access.allowed(jobs), true, 'expired, but the last known answer');
    await assert.rejects(access.allowed({ ...jobs, resource: 'cronjobs' }), /connection reset/);
  });
});

describe('WebhookConfigurationReconciler', () => {
  const interceptorName = defaultWebhookConfigurationNames.interceptor;
  let discoveryFailures = 0;
  const resourceFor = (t: TypeRef): Promise<{ group: string; resource: string }> => {
    if (t.kind === 'Job' && discoveryFailures > 0) {
      discoveryFailures--;
      return Promise.reject(new Error('GET /apis/batch/v1: 503 Service Unavailable'));
    }
    const r = plurals[t.kind];
    return r
      ? Promise.resolve(r)
      : Promise.reject(new NoKindMatchError({ group: 'x', version: 'v1', kind: t.kind }));
  };

  /** A reconciler over a fake store holding the interceptor's configuration (rules only, as from manifests). */
  function setup(index: ServiceBindingIndex): {
    reconciler: WebhookConfigurationReconciler;
    store: FakeClient;
  } {
    const store = new FakeClient({
      objects: [
        {
          apiVersion: 'admissionregistration.k8s.io/v1',
          kind: 'MutatingWebhookConfiguration',
          metadata: { name: interceptorName },
          webhooks: [{ name: webhookNames.interceptor, rules: [] }],
        },
      ],
    });
    const reconciler = new WebhookConfigurationReconciler({
      index,
      client: {
        get: (ref, o) => store.get(ref, o),
        // Server-side apply of the rules, on the fake store: the stored object takes the webhooks.
        apply: async (obj) => {
          const ref = {
            apiVersion: obj.apiVersion ?? '',
            kind: obj.kind ?? '',
            name: obj.metadata.name ?? '',
          };
          try {
            const current = await store.get(ref);
            return await store.update({ ...current, webhooks: obj['webhooks'] });
          } catch (err) {
            if (isNotFound(err)) return obj;
            throw err;
          }
        },
      },
      resourceFor,
      access: new AccessChecker({ client: reviewClient() }),
      resyncMs: 3_600_000,
      debounceMs: 10,
      log,
    });
    return { reconciler, store };
  }

  async function storedInterceptorResources(store: FakeClient): Promise<string[]> {
    const cfg = await store.get<
      KubeObject & { webhooks?: Array<{ rules?: Array<{ resources: string[] }> }> }
    >({
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'MutatingWebhookConfiguration',
      name: interceptorName,
    });
    return (cfg.webhooks?.[0]?.rules ?? []).flatMap((r) => r.resources);
  }

  it('a transient discovery error keeps a kind already in the rules, and marks the rules incomplete', async () => {
    const index = new ServiceBindingIndex();
    index.upsert(binding('web', { apiVersion: 'apps/v1', kind: 'Deployment' }));
    index.upsert(binding('migrate', { apiVersion: 'batch/v1', kind: 'Job' }));
    const { reconciler } = setup(index);
    const first = await reconciler.desiredRules();
    assert.deepEqual(interceptorResources(first), ['deployments', 'jobs']);
    assert.equal(first.incomplete, false);
    discoveryFailures = 1;
    const during = await reconciler.desiredRules();
    assert.deepEqual(interceptorResources(during), ['deployments', 'jobs']);
    assert.equal(during.incomplete, true);
  });

  it('a kind whose first lookup fails transiently is not written without, and is retried with backoff, not at the next resync', async () => {
    const index = new ServiceBindingIndex();
    index.upsert(binding('web', { apiVersion: 'apps/v1', kind: 'Deployment' }));
    index.upsert(binding('migrate', { apiVersion: 'batch/v1', kind: 'Job' }));
    const { reconciler, store } = setup(index);
    discoveryFailures = 1;
    const stop = new AbortController();
    const running = reconciler.start(stop.signal);
    try {
      const deadline = Date.now() + 10_000;
      for (;;) {
        const resources = await storedInterceptorResources(store);
        // Never a write that leaves the Job out.
        assert.ok(resources.length === 0 || resources.includes('jobs'), resources.join(', '));
        if (resources.includes('jobs')) break;
        assert.ok(Date.now() < deadline, `rules not set: ${resources.join(', ')}`);
        await sleep(20);
      }
    } finally {
      stop.abort();
      await running;
    }
  });
});
