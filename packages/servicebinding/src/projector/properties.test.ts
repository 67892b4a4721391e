// Properties over generated PodSpec-able workloads and bindings (the four laws).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { project } from './project.ts';
import type { JsonObject, ServiceBindingLike } from './types.ts';
import { unproject } from './unproject.ts';

const NAMES = ['app', 'web', 'sidecar', 'proxy', 'init-db', 'init-cfg'];
const extra = fc.jsonValue({ maxDepth: 2 });

const userEnv = fc.oneof(
  fc.record({ name: fc.constantFrom('A', 'B', 'PATH', 'HOST', 'Z'), value: fc.string({ maxLength: 5 }) }),
  fc.record({
    name: fc.constantFrom('PASS', 'TOKEN', 'HOST'),
    valueFrom: fc.record({
      secretKeyRef: fc.record({
        name: fc.constantFrom('user-secret', 'other'),
        key: fc.constantFrom('k', 'host'),
      }),
    }),
  }),
  fc.record({ name: fc.constant('X_UNKNOWN'), value: fc.constant('v'), 'x-extra': extra }),
);

const container = (name: string): fc.Arbitrary<JsonObject> =>
  fc
    .record({
      env: fc.option(fc.array(userEnv, { maxLength: 3 }), { nil: undefined }),
      root: fc.option(fc.constantFrom('/custom', '/x/y/', '/bindings'), { nil: undefined }),
      mounts: fc.option(fc.uniqueArray(fc.constantFrom('data', 'cache', 'tmp'), { maxLength: 2 }), {
        nil: undefined,
      }),
      unknown: fc.option(extra, { nil: undefined }),
    })
    .map(({ env, root, mounts, unknown }) => {
      const c: JsonObject = { name, image: `img/${name}` };
      const list: unknown[] | undefined =
        root === undefined ? env : [...(env ?? []), { name: 'SERVICE_BINDING_ROOT', value: root }];
      if (list !== undefined) c['env'] = list;
      if (mounts !== undefined)
        c['volumeMounts'] = mounts.map((m) => ({ name: m, mountPath: `/mnt/${m}`, 'x-m': 1 }));
      if (unknown !== undefined) c['x-unknown'] = unknown;
      return c;
    });

const workload: fc.Arbitrary<JsonObject> = fc
  .record({
    names: fc.uniqueArray(fc.constantFrom(...NAMES), { minLength: 1, maxLength: 4 }),
    initCount: fc.nat({ max: 2 }),
    volumes: fc.option(fc.uniqueArray(fc.constantFrom('data', 'cache', 'tmp'), { maxLength: 3 }), {
      nil: undefined,
    }),
    podAnnotations: fc.option(fc.dictionary(fc.constantFrom('a', 'b', 'c/d'), fc.string({ maxLength: 3 })), {
      nil: undefined,
    }),
    workloadAnnotations: fc.option(fc.dictionary(fc.constantFrom('x', 'y'), fc.string({ maxLength: 3 })), {
      nil: undefined,
    }),
    unknown: extra,
  })
  .chain(({ names, initCount, volumes, podAnnotations, workloadAnnotations, unknown }) =>
    fc.tuple(...names.map(container)).map((containers) => {
      const podSpec: JsonObject = { restartPolicy: 'Always', 'x-pod': unknown };
      if (volumes !== undefined)
        podSpec['volumes'] = volumes.map((v) => ({ name: v, emptyDir: {}, 'x-v': unknown }));
      const init = containers.slice(0, Math.min(initCount, containers.length - 1));
      if (init.length > 0) podSpec['initContainers'] = init;
      podSpec['containers'] = containers.slice(init.length);
      const template: JsonObject = { spec: podSpec };
      if (podAnnotations !== undefined)
        template['metadata'] = { labels: { app: 'x' }, annotations: podAnnotations };
      const metadata: JsonObject = { name: 'w', namespace: 'ns' };
      if (workloadAnnotations !== undefined) metadata['annotations'] = workloadAnnotations;
      // Through JSON, like an object from the API server (fast-check builds null-prototype records).
      return JSON.parse(
        JSON.stringify({
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          metadata,
          spec: { replicas: 2, template, strategy: { type: 'RollingUpdate' } },
          status: { unknown },
        }),
      ) as JsonObject;
    }),
  );

const bindingArb = (name: fc.Arbitrary<string>): fc.Arbitrary<ServiceBindingLike> =>
  fc
    .record({
      uid: fc.uuid(),
      name,
      type: fc.option(fc.constantFrom('mysql', 'redis'), { nil: undefined }),
      provider: fc.option(fc.constantFrom('bitnami'), { nil: undefined }),
      env: fc.array(
        fc.record({
          name: fc.constantFrom('HOST', 'PORT', 'TYPE', 'PROVIDER', 'A'),
          key: fc.constantFrom('host', 'port', 'type', 'provider'),
        }),
        { maxLength: 3 },
      ),
      containers: fc.option(fc.subarray([...NAMES, 'no-such']), { nil: undefined }),
    })
    .map(({ uid, name, type, provider, env, containers }) => ({
      metadata: { name: 'sb', uid },
      spec: {
        name,
        ...(type === undefined ? {} : { type }),
        ...(provider === undefined ? {} : { provider }),
        env,
        workload: {
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          ...(containers === undefined ? {} : { containers }),
        },
      },
    }));

const bindingName = fc.stringMatching(/^[a-z0-9][a-z0-9.-]{0,12}$/);
const runs = { numRuns: 150 };

type Spec = { template: { metadata?: JsonObject; spec: JsonObject } };
const podOf = (w: JsonObject): Spec['template'] => (w['spec'] as Spec).template;
const containersOf = (w: JsonObject): JsonObject[] => {
  const spec = podOf(w).spec;
  return [
    ...((spec['initContainers'] as JsonObject[] | undefined) ?? []),
    ...(spec['containers'] as JsonObject[]),
  ];
};
const boundBy = (b: ServiceBindingLike, name: unknown): boolean => {
  const filter = b.spec?.workload?.containers;
  return filter === undefined || filter.length === 0 || filter.includes(name as string);
};

describe('projector properties', () => {
  it('project twice = project once (byte for byte)', () => {
    fc.assert(
      fc.property(workload, bindingArb(bindingName), (w, b) => {
        const once = project(b, w, undefined, 'the-secret');
        assert.equal(JSON.stringify(project(b, once, undefined, 'the-secret')), JSON.stringify(once));
      }),
      runs,
    );
  });

  it('RI-7 RB-7: unproject(project(w)) = w plus SERVICE_BINDING_ROOT and created empty lists', () => {
    fc.assert(
      fc.property(workload, bindingArb(bindingName), (w, b) => {
        const expected = structuredClone(w);
        ((expected['metadata'] as JsonObject)['annotations'] as JsonObject | undefined) ??= {};
        const pod = podOf(expected);
        pod.metadata ??= {};
        pod.metadata['annotations'] ??= {};
        pod.spec['volumes'] ??= [];
        for (const c of containersOf(expected)) {
          const env = ((c['env'] as unknown[] | undefined) ??= []);
          c['volumeMounts'] ??= [];
          const hasRoot = env.some((e) => (e as JsonObject)['name'] === 'SERVICE_BINDING_ROOT');
          if (boundBy(b, c['name']) && !hasRoot)
            env.push({ name: 'SERVICE_BINDING_ROOT', value: '/bindings' });
        }
        assert.deepStrictEqual(unproject(b, project(b, w, undefined, 'the-secret')), expected);
      }),
      runs,
    );
  });

  it('several bindings applied in any order give the same object', () => {
    const three = fc
      .uniqueArray(bindingName, { minLength: 3, maxLength: 3 })
      .chain((names) => fc.tuple(...names.map((n) => bindingArb(fc.constant(n)))));
    fc.assert(
      fc.property(workload, three, (w, bindings) => {
        const apply = (order: number[]): JsonObject =>
          order.reduce(
            (acc, i) => project(bindings[i] as ServiceBindingLike, acc, undefined, `secret-${i}`),
            w,
          );
        const reference = apply([0, 1, 2]);
        for (const order of [
          [0, 2, 1],
          [1, 0, 2],
          [1, 2, 0],
          [2, 0, 1],
          [2, 1, 0],
        ]) {
          assert.deepStrictEqual(apply(order), reference);
        }
        // Removing one leaves the others as if it had never been applied, but for the root it set.
        const b1 = bindings[1] as ServiceBindingLike;
        const expected = apply([0, 2]);
        for (const c of containersOf(expected)) {
          const env = c['env'] as JsonObject[];
          if (boundBy(b1, c['name']) && !env.some((e) => e['name'] === 'SERVICE_BINDING_ROOT')) {
            env.push({ name: 'SERVICE_BINDING_ROOT', value: '/bindings' });
          }
        }
        assert.deepStrictEqual(unproject(b1, reference), expected);
      }),
      { numRuns: 60 },
    );
  });

  it('RB-9: fields outside the mapping are untouched, unknown fields included', () => {
    const strip = (w: JsonObject): JsonObject => {
      const c = structuredClone(w);
      delete (c['metadata'] as JsonObject)['annotations'];
      const pod = podOf(c);
      if (pod.metadata !== undefined) {
        delete pod.metadata['annotations'];
        if (Object.keys(pod.metadata).length === 0) delete pod.metadata;
      }
      delete pod.spec['volumes'];
      for (const k of containersOf(c)) {
        delete k['env'];
        delete k['volumeMounts'];
      }
      return c;
    };
    const own = (list: unknown, isOwn: (item: JsonObject) => boolean): unknown[] =>
      ((list as JsonObject[] | undefined) ?? []).filter(isOwn);
    fc.assert(
      fc.property(workload, bindingArb(bindingName), (w, b) => {
        const out = project(b, w, undefined, 'the-secret');
        assert.deepStrictEqual(strip(out), strip(w));
        // Inside the mapped lists, the owner's items survive in order, unknown fields included.
        const notOurs = (i: JsonObject): boolean => !String(i['name']).startsWith('servicebinding-');
        assert.deepStrictEqual(
          own(podOf(out).spec['volumes'], notOurs),
          own(podOf(w).spec['volumes'], notOurs),
        );
        const before = containersOf(w);
        for (const [i, c] of containersOf(out).entries()) {
          assert.deepStrictEqual(own(c['volumeMounts'], notOurs), own(before[i]?.['volumeMounts'], notOurs));
          const userEnv = (e: JsonObject): boolean => {
            const from =
              (e['valueFrom'] as { secretKeyRef?: { name?: string }; fieldRef?: unknown } | undefined) ?? {};
            return from.secretKeyRef?.name !== 'the-secret' && from.fieldRef === undefined;
          };
          const envBefore = (before[i]?.['env'] as unknown[] | undefined) ?? [];
          const envAfter = own(c['env'], userEnv);
          const root = { name: 'SERVICE_BINDING_ROOT', value: '/bindings' };
          assert.deepStrictEqual(
            envAfter,
            envAfter.length > envBefore.length ? [...envBefore, root] : envBefore,
          );
        }
      }),
      runs,
    );
  });
});
