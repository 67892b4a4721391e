import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { NoKindMatchError, parseApiVersion } from '@bindery/kube';
import type { EventHandler, KubeObject, TypeRef } from '@bindery/kube';
import { applyJsonPatch } from '@bindery/runtime';
import type { AdmissionContext, AdmissionRequest, AdmissionResult } from '@bindery/runtime';
import { FakeClient } from '@bindery/runtime/testing';
import { pino } from 'pino';
import { BindingAdmissionController } from './admission.ts';
import type { BindingInformer } from './binding-index.ts';
import { envBinding, envBindingType, newEnvBinding, workload } from './env-binding.test-helpers.ts';
import type { EnvBinding } from './env-binding.test-helpers.ts';

const log = pino({ level: 'silent' });

/** An informer fed by hand. */
class FakeInformer implements BindingInformer<EnvBinding> {
  readonly handlers: Array<EventHandler<EnvBinding>> = [];
  #synced = false;
  #waiters: Array<() => void> = [];

  addEventHandler(handler: EventHandler<EnvBinding>): void {
    this.handlers.push(handler);
  }
  hasSynced(): boolean {
    return this.#synced;
  }
  waitForSync(): Promise<void> {
    return this.#synced ? Promise.resolve() : new Promise((resolve) => this.#waiters.push(resolve));
  }
  sync(...bindings: EnvBinding[]): void {
    for (const b of bindings) this.add(b);
    this.#synced = true;
    for (const w of this.#waiters.splice(0)) w();
  }
  add(b: EnvBinding): void {
    for (const h of this.handlers) h.onAdd?.(b, !this.#synced);
  }
  update(b: EnvBinding): void {
    for (const h of this.handlers) h.onUpdate?.(b, b);
  }
  delete(b: EnvBinding): void {
    for (const h of this.handlers) h.onDelete?.(b);
  }
}

function review(
  object: KubeObject | null,
  operation: AdmissionRequest['operation'] = 'CREATE',
): AdmissionRequest {
  const { group, version } = parseApiVersion(object?.apiVersion ?? 'apps/v1');
  return {
    uid: 'uid',
    kind: { group, version, kind: object?.kind ?? 'Deployment' },
    resource: { group, version, resource: `${(object?.kind ?? 'Deployment').toLowerCase()}s` },
    namespace: object?.metadata.namespace ?? 'default',
    ...(object?.metadata.name ? { name: object.metadata.name } : {}),
    operation,
    userInfo: { username: 'alice' },
    object,
  };
}

function admit(
  controller: BindingAdmissionController<EnvBinding>,
  request: AdmissionRequest,
): Promise<AdmissionResult> {
  const ctx: AdmissionContext = {
    request,
    path: '/bind',
    log,
    signal: new AbortController().signal,
    warn: () => undefined,
    auditAnnotation: () => undefined,
  };
  return controller.handler.handle(ctx);
}

/** The object as the API server stores it once the answer's patch is applied. */
async function admitted(
  controller: BindingAdmissionController<EnvBinding>,
  obj: KubeObject,
): Promise<KubeObject> {
  const result = await admit(controller, review(obj));
  assert.equal(result.allowed, true, JSON.stringify(result.status));
  return result.patch ? applyJsonPatch<KubeObject>(obj, result.patch) : obj;
}

const envOf = (obj: KubeObject, path = ['spec', 'template']): unknown => {
  let cur: unknown = obj;
  for (const k of path) cur = (cur as Record<string, unknown>)[k];
  return (cur as { spec: { containers: Array<{ env?: unknown }> } }).spec.containers[0]?.env;
};
const bound = [{ name: 'BOUND_BY', value: 'env' }];

function controllerWith(
  informer: FakeInformer,
  rules?: ConstructorParameters<typeof BindingAdmissionController<EnvBinding>>[0]['rules'],
) {
  return new BindingAdmissionController<EnvBinding>({
    type: envBindingType,
    bindable: envBinding,
    bindings: informer,
    log,
    ...(rules ? { rules } : {}),
  });
}

describe('BindingAdmissionController handler', () => {
  it('binds the objects a binding names, by name or by labels, and nothing else', async () => {
    const informer = new FakeInformer();
    const controller = controllerWith(informer);
    informer.sync(
      newEnvBinding({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' }),
      newEnvBinding(
        { apiVersion: 'batch/v1', kind: 'CronJob', selector: { matchLabels: { tier: 'db' } } },
        { name: 'jobs' },
      ),
    );
    assert.deepEqual(envOf(await admitted(controller, workload('Deployment', 'web'))), bound);
    assert.equal(envOf(await admitted(controller, workload('Deployment', 'api'))), undefined);
    assert.equal(envOf(await admitted(controller, workload('StatefulSet', 'web'))), undefined);
    const other = { ...workload('Deployment', 'web'), metadata: { namespace: 'other', name: 'web' } };
    assert.equal(envOf(await admitted(controller, other)), undefined, 'not in another namespace');
    assert.deepEqual(
      envOf(await admitted(controller, workload('CronJob', 'nightly', { tier: 'db' })), [
        'spec',
        'jobTemplate',
        'spec',
        'template',
      ]),
      [{ name: 'BOUND_BY', value: 'jobs' }],
    );
    assert.deepEqual(
      await admit(controller, review(null, 'DELETE')),
      { allowed: true },
      'DELETE has no object to bind',
    );
    assert.deepEqual(
      await admit(controller, { ...review(workload('Deployment', 'web')), subResource: 'status' }),
      {
        allowed: true,
      },
    );
  });

  it('undoes a binding that is being deleted, and forgets a deleted one', async () => {
    const informer = new FakeInformer();
    const controller = controllerWith(informer);
    const b = newEnvBinding({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' });
    informer.sync(b);
    informer.update({ ...b, metadata: { ...b.metadata, deletionTimestamp: '2024-01-01T00:00:00Z' } });
    const withEnv = workload('Deployment', 'web', {}, bound);
    const result = await admit(controller, review(withEnv, 'UPDATE'));
    assert.deepEqual(result.patch, [{ op: 'remove', path: '/spec/template/spec/containers/0/env' }]);
    informer.delete(b);
    assert.deepEqual(await admit(controller, review(withEnv, 'UPDATE')), { allowed: true });
    assert.deepEqual(controller.subjectTypes(), []);
  });

  it('denies, naming the binding and the object, when do refuses', async () => {
    const informer = new FakeInformer();
    const controller = controllerWith(informer);
    informer.sync(newEnvBinding({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' }));
    const refusing = workload('Deployment', 'web');
    (
      refusing['spec'] as { template: { spec: { containers: Array<{ image: string }> } } }
    ).template.spec.containers[0]!.image = 'refuse';
    const result = await admit(controller, review(refusing));
    assert.equal(result.allowed, false);
    assert.equal(result.status?.code, 422);
    assert.equal(
      result.status?.message,
      'EnvBinding default/env cannot bind Deployment default/web: container app refuses bindings',
    );
  });

  it('waits for the first list of bindings before answering', async () => {
    const informer = new FakeInformer();
    const controller = controllerWith(informer);
    assert.equal(controller.ready(), false);
    let answered = false;
    const pending = admit(controller, review(workload('Deployment', 'web'))).finally(() => (answered = true));
    await sleep(20);
    assert.equal(answered, false, 'no answer from an empty index');
    informer.sync(newEnvBinding({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' }));
    assert.equal(controller.ready(), true);
    assert.equal((await pending).patch?.length, 1);
  });

  it('ignores a binding it cannot apply', async () => {
    const informer = new FakeInformer();
    const controller = controllerWith(informer);
    informer.sync(newEnvBinding({ apiVersion: 'apps/v1', kind: 'Deployment' }));
    assert.deepEqual(controller.subjectTypes(), []);
    assert.deepEqual(await admit(controller, review(workload('Deployment', 'web'))), { allowed: true });
  });
});

describe('BindingAdmissionController webhook rules', () => {
  const configRef = {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'MutatingWebhookConfiguration',
    name: 'bindings',
  };
  const webhookConfig = (): KubeObject => ({
    ...configRef,
    metadata: { name: 'bindings' },
    webhooks: [
      {
        name: 'other.example.com',
        rules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['pods'] }],
      },
      { name: 'bind.example.com', rules: [] },
    ],
  });
  const plural = (type: TypeRef): Promise<{ resource: string }> =>
    type.kind === 'Missing'
      ? Promise.reject(new NoKindMatchError({ group: 'example.com', version: 'v1', kind: 'Missing' }))
      : Promise.resolve({ resource: `${type.kind.toLowerCase()}s` });
  const rulesOf = (client: FakeClient): unknown =>
    (client.stored<KubeObject & { webhooks: Array<{ rules: unknown }> }>(configRef)?.webhooks ?? []).map(
      (w) => w.rules,
    );

  it('sets the rules to the subject kinds, patching only when they change', async () => {
    const client = new FakeClient({ objects: [webhookConfig()] });
    const informer = new FakeInformer();
    const controller = controllerWith(informer, {
      configurationName: 'bindings',
      webhookName: 'bind.example.com',
      client,
      resourceFor: plural,
    });
    const web = newEnvBinding({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' }, { name: 'a' });
    informer.sync(
      web,
      newEnvBinding({ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'db' }, { name: 'b' }),
      newEnvBinding({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'api' }, { name: 'c' }),
      newEnvBinding({ apiVersion: 'batch/v1', kind: 'Job', name: 'migrate' }, { name: 'd' }),
      newEnvBinding({ apiVersion: 'example.com/v1', kind: 'Missing', name: 'x' }, { name: 'e' }),
    );
    assert.equal(await controller.syncRules(), 'patched');
    const rule = (group: string, resources: string[]): unknown => ({
      apiGroups: [group],
      apiVersions: ['v1'],
      operations: ['CREATE', 'UPDATE'],
      resources,
      scope: 'Namespaced',
    });
    assert.deepEqual(rulesOf(client), [
      // The other webhook keeps its own rules.
      [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['pods'] }],
      [rule('apps', ['deployments', 'statefulsets']), rule('batch', ['jobs'])],
    ]);
    const patch = client.actions.find((a) => a.verb === 'patch');
    assert.deepEqual((patch?.patch as Array<{ op: string; path: string }>).slice(0, 1), [
      { op: 'test', path: '/webhooks/1/name', value: 'bind.example.com' },
    ]);

    assert.equal(await controller.syncRules(), 'unchanged');
    informer.delete(web);
    assert.equal(await controller.syncRules(), 'unchanged', 'another binding still names Deployments');
    for (const name of ['b', 'c', 'd', 'e']) informer.delete(newEnvBinding({}, { name }));
    assert.equal(await controller.syncRules(), 'patched');
    assert.deepEqual((rulesOf(client) as unknown[])[1], []);
  });

  it('a transient discovery error never drops a kind: the rules stay as they were, and the sync is retried', async () => {
    const client = new FakeClient({ objects: [webhookConfig()] });
    const informer = new FakeInformer();
    let discoveryDown = false;
    const controller = controllerWith(informer, {
      configurationName: 'bindings',
      webhookName: 'bind.example.com',
      client,
      resourceFor: (type) =>
        discoveryDown && type.kind === 'Job'
          ? Promise.reject(new Error('GET /apis/batch/v1: 503 Service Unavailable'))
          : plural(type),
    });
    informer.sync(newEnvBinding({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' }, { name: 'a' }));
    assert.equal(await controller.syncRules(), 'patched');
    const before = rulesOf(client);

    // A Job binding arrives while discovery of batch/v1 fails: nothing is written without it…
    discoveryDown = true;
    informer.add(newEnvBinding({ apiVersion: 'batch/v1', kind: 'Job', name: 'migrate' }, { name: 'b' }));
    await assert.rejects(controller.syncRules(), /503/);
    assert.deepEqual(rulesOf(client), before);
    // …and once discovery answers, the Job is in the rules.
    discoveryDown = false;
    assert.equal(await controller.syncRules(), 'patched');
    assert.deepEqual(
      ((rulesOf(client) as unknown[][])[1] ?? []).map((r) => (r as { resources: string[] }).resources),
      [['deployments'], ['jobs']],
    );
  });

  it('a transient discovery error for a kind already in the rules keeps its rule', async () => {
    const client = new FakeClient({ objects: [webhookConfig()] });
    const informer = new FakeInformer();
    let discoveryDown = false;
    const controller = controllerWith(informer, {
      configurationName: 'bindings',
      webhookName: 'bind.example.com',
      client,
      resourceFor: (type) =>
        discoveryDown
          ? Promise.reject(new Error('GET /apis/apps/v1: 503 Service Unavailable'))
          : plural(type),
    });
    informer.sync(newEnvBinding({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' }));
    assert.equal(await controller.syncRules(), 'patched');
    const before = rulesOf(client);
    discoveryDown = true;
    assert.deepEqual(await controller.desiredRules(), (before as unknown[])[1]);
    assert.equal(await controller.syncRules(), 'unchanged');
    assert.deepEqual(rulesOf(client), before);
  });

  it('reports a missing configuration, and keeps the rules in step while running', async () => {
    const client = new FakeClient();
    const informer = new FakeInformer();
    const controller = controllerWith(informer, {
      configurationName: 'bindings',
      client,
      resourceFor: plural,
    });
    informer.sync();
    assert.equal(await controller.syncRules(), 'missing');

    await client.create(webhookConfig());
    const stop = new AbortController();
    const running = controller.start(stop.signal);
    try {
      informer.add(newEnvBinding({ apiVersion: 'apps/v1', kind: 'DaemonSet', name: 'agent' }));
      const deadline = Date.now() + 5_000;
      for (;;) {
        const rules = rulesOf(client) as Array<Array<{ resources: string[] }>>;
        // Without webhookName, every webhook of the configuration gets the rules.
        if (rules.every((r) => r[0]?.resources[0] === 'daemonsets')) break;
        assert.ok(Date.now() < deadline, `rules not set: ${JSON.stringify(rules)}`);
        await sleep(10);
      }
    } finally {
      stop.abort();
      await running;
    }
  });
});
