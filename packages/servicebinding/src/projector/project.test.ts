import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ClusterWorkloadResourceMapping } from '../apis/clusterworkloadresourcemapping.ts';
import type { ServiceBinding } from '../apis/servicebinding.ts';
import { ProjectionError } from './errors.ts';
import { CRONJOB_MAPPING } from './mapping.ts';
import { project } from './project.ts';
import {
  binding,
  deployment,
  mount,
  PODSPECABLE_STASH,
  rootEnv,
  SECRET,
  UID,
  VOLUME,
} from './ri-example.fixtures.ts';
import type { JsonObject } from './types.ts';

/** Byte-for-byte comparison: same JSON text, key order included. */
function assertSameJson(actual: unknown, expected: unknown): void {
  assert.equal(JSON.stringify(actual, null, 1), JSON.stringify(expected, null, 1));
}

const typeAnn = `projector.servicebinding.io/type-${UID}`;
const providerAnn = `projector.servicebinding.io/provider-${UID}`;
const secretAnn = `projector.servicebinding.io/secret-${UID}`;
const fieldRef = (ann: string): JsonObject => ({ fieldRef: { fieldPath: `metadata.annotations['${ann}']` } });

describe('project: the worked example (checklist §4.9), byte for byte', () => {
  it('RI-1 RI-4 RI-5 RI-6 WP-1 WP-3 WP-6 RB-3: mounts the whole Secret in every container at $SERVICE_BINDING_ROOT/<name>', () => {
    const input = deployment();
    const before = JSON.stringify(input);
    const out = project(binding(), input, undefined, SECRET);
    assert.equal(JSON.stringify(input), before, 'the input is not modified');
    assertSameJson(out, {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: {
        name: 'my-workload',
        namespace: 'default',
        annotations: { [`projector.servicebinding.io/mapping-${UID}`]: PODSPECABLE_STASH },
      },
      spec: {
        template: {
          metadata: { annotations: { [secretAnn]: SECRET } },
          spec: {
            volumes: [
              { name: VOLUME, projected: { defaultMode: 420, sources: [{ secret: { name: SECRET } }] } },
            ],
            initContainers: [
              { name: 'init-hello', env: [rootEnv()], volumeMounts: [mount('/bindings')] },
              { name: 'init-hello-2', env: [rootEnv()], volumeMounts: [mount('/bindings')] },
            ],
            containers: [
              { name: 'hello', env: [rootEnv('/custom/path')], volumeMounts: [mount('/custom/path')] },
              { name: 'hello-2', env: [rootEnv()], volumeMounts: [mount('/bindings')] },
            ],
          },
        },
      },
    });
  });

  it('RI-8 RI-9 WP-4 WP-5: type and provider overrides as downward-API sources, env from the annotations', () => {
    const sb = binding({
      type: 'my-type',
      provider: 'my-provider',
      env: [
        { name: 'TYPE', key: 'type' },
        { name: 'PROVIDER', key: 'provider' },
      ],
    });
    const out = project(sb, deployment(), undefined, SECRET);
    const template = (out['spec'] as JsonObject)['template'] as JsonObject;
    assertSameJson(template['metadata'], {
      annotations: { [providerAnn]: 'my-provider', [secretAnn]: SECRET, [typeAnn]: 'my-type' },
    });
    const podSpec = template['spec'] as JsonObject;
    assertSameJson(podSpec['volumes'], [
      {
        name: VOLUME,
        projected: {
          defaultMode: 420,
          sources: [
            { secret: { name: SECRET } },
            { downwardAPI: { items: [{ path: 'type', ...fieldRef(typeAnn) }] } },
            { downwardAPI: { items: [{ path: 'provider', ...fieldRef(providerAnn) }] } },
          ],
        },
      },
    ]);
    assertSameJson((podSpec['containers'] as JsonObject[])[1], {
      name: 'hello-2',
      env: [
        rootEnv(),
        { name: 'PROVIDER', valueFrom: fieldRef(providerAnn) },
        { name: 'TYPE', valueFrom: fieldRef(typeAnn) },
      ],
      volumeMounts: [mount('/bindings')],
    });
  });

  it('SB-14 SB-17: .spec.env as secretKeyRefs, sorted by name after the root', () => {
    const sb = binding({
      env: [
        { name: 'FOO', key: 'foo' },
        { name: 'BAR', key: 'bar' },
      ],
    });
    const out = project(sb, deployment(), undefined, SECRET);
    const containers = (((out['spec'] as JsonObject)['template'] as JsonObject)['spec'] as JsonObject)[
      'containers'
    ] as JsonObject[];
    assertSameJson(containers[0]?.['env'], [
      rootEnv('/custom/path'),
      { name: 'BAR', valueFrom: { secretKeyRef: { name: SECRET, key: 'bar' } } },
      { name: 'FOO', valueFrom: { secretKeyRef: { name: SECRET, key: 'foo' } } },
    ]);
  });

  it('RB-1 WM-15: the CronJob mapping binds .spec.jobTemplate.spec.template', () => {
    const cronjob = {
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      metadata: { name: 'cron' },
      spec: {
        schedule: '* * * * *',
        jobTemplate: { spec: { template: { spec: { containers: [{ name: 'hello', image: 'x' }] } } } },
      },
    };
    const out = project(binding(), cronjob, CRONJOB_MAPPING, SECRET);
    const template = ((out['spec'] as JsonObject)['jobTemplate'] as JsonObject)['spec'] as JsonObject;
    assertSameJson(template, {
      template: {
        metadata: { annotations: { [secretAnn]: SECRET } },
        spec: {
          volumes: [
            { name: VOLUME, projected: { defaultMode: 420, sources: [{ secret: { name: SECRET } }] } },
          ],
          containers: [{ name: 'hello', image: 'x', env: [rootEnv()], volumeMounts: [mount('/bindings')] }],
        },
      },
    });
    assert.equal((out['spec'] as JsonObject)['schedule'], '* * * * *');
    const stash = ((out['metadata'] as JsonObject)['annotations'] as JsonObject)[
      `projector.servicebinding.io/mapping-${UID}`
    ];
    assert.equal(
      stash,
      '{"versions":[{"version":"*","annotations":".spec.jobTemplate.spec.template.metadata.annotations","containers":[{"path":".spec.jobTemplate.spec.template.spec.containers[*]","name":".name","env":".env","volumeMounts":".volumeMounts"},{"path":".spec.jobTemplate.spec.template.spec.initContainers[*]","name":".name","env":".env","volumeMounts":".volumeMounts"}],"volumes":".spec.jobTemplate.spec.template.spec.volumes"}]}',
    );
  });

  it('RB-7: a workload without containers still gets the volume and annotations (RI "no containers")', () => {
    const out = project(
      binding(),
      { apiVersion: 'apps/v1', kind: 'Deployment', metadata: {} },
      undefined,
      SECRET,
    );
    assertSameJson(out['spec'], {
      template: {
        metadata: { annotations: { [secretAnn]: SECRET } },
        spec: {
          volumes: [
            { name: VOLUME, projected: { defaultMode: 420, sources: [{ secret: { name: SECRET } }] } },
          ],
        },
      },
    });
  });

  it('rotates the Secret: re-projection replaces the volume source, annotation and env refs', () => {
    const sb = binding({ env: [{ name: 'HOST', key: 'host' }] });
    const once = project(sb, deployment(), undefined, SECRET);
    const rotated = project(sb, once, undefined, 'my-secret-updated');
    const text = JSON.stringify(rotated);
    assert.ok(!text.includes('"my-secret"'));
    assert.deepEqual(rotated, project(sb, deployment(), undefined, 'my-secret-updated'));
  });
});

describe('project: binding names and the root', () => {
  const containerEnv = (out: JsonObject, i = 0): unknown =>
    (
      (((out['spec'] as JsonObject)['template'] as JsonObject)['spec'] as JsonObject)[
        'containers'
      ] as JsonObject[]
    )[i]?.['env'];
  const containerMounts = (out: JsonObject, i = 0): unknown =>
    (
      (((out['spec'] as JsonObject)['template'] as JsonObject)['spec'] as JsonObject)[
        'containers'
      ] as JsonObject[]
    )[i]?.['volumeMounts'];
  const withEnv = (env: unknown[], extra: JsonObject = {}): JsonObject => ({
    spec: { template: { spec: { containers: [{ name: 'app', env, ...extra }] } } },
  });

  it('RI-2: the directory is .spec.name', () => {
    const out = project(binding({ name: 'db' }), withEnv([]), undefined, SECRET);
    assert.deepEqual(containerMounts(out), [{ name: VOLUME, readOnly: true, mountPath: '/bindings/db' }]);
  });

  it('RI-3: without .spec.name the directory is .metadata.name', () => {
    const sb = { metadata: { name: 'from-metadata', uid: UID }, spec: {} };
    const out = project(sb, withEnv([]), undefined, SECRET);
    assert.deepEqual(containerMounts(out), [
      { name: VOLUME, readOnly: true, mountPath: '/bindings/from-metadata' },
    ]);
  });

  it("RI-3: takes apis/' types as they are: a ServiceBinding and a mapping's spec", () => {
    const sb: ServiceBinding = {
      apiVersion: 'servicebinding.io/v1',
      kind: 'ServiceBinding',
      metadata: { name: 'from-api', uid: UID },
      spec: {
        service: { apiVersion: 'v1', kind: 'Secret', name: SECRET },
        workload: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'my-workload' },
      },
    };
    const mapping: ClusterWorkloadResourceMapping = {
      metadata: { name: 'deployments.apps' },
      spec: { versions: [{ version: '*' }] },
    };
    const out = project(sb, withEnv([]), mapping.spec, SECRET);
    assert.deepEqual(containerMounts(out), [
      { name: VOLUME, readOnly: true, mountPath: '/bindings/from-api' },
    ]);
  });

  for (const bad of ['..', '.', 'UPPER', 'a/b', 'x'.repeat(254), '../../etc']) {
    it(`WP-2: refuses the binding name ${JSON.stringify(bad.length > 20 ? `${bad.slice(0, 8)}…` : bad)}`, () => {
      assert.throws(
        () => project(binding({ name: bad }), withEnv([]), undefined, SECRET),
        (err: unknown) =>
          err instanceof ProjectionError &&
          err.code === 'InvalidBindingName' &&
          /spec\.name|metadata\.name/.test(err.message),
      );
    });
  }

  it('WP-2: refuses an empty name (no spec.name, no metadata.name), naming metadata.name', () => {
    assert.throws(
      () => project({ metadata: { uid: UID }, spec: { name: '' } }, withEnv([]), undefined, SECRET),
      (err: unknown) => err instanceof ProjectionError && err.field === 'metadata.name',
    );
  });

  it('WP-2: accepts the longest and the dotted names', () => {
    for (const good of ['a'.repeat(253), 'a.b-c', '...', '0']) {
      project(binding({ name: good }), withEnv([]), undefined, SECRET);
    }
  });

  it('RI-4 RI-7: a literal root is used as is and never reset (trailing slash cleaned like path.Join)', () => {
    const env = [{ name: 'SERVICE_BINDING_ROOT', value: '/custom/' }];
    const out = project(binding(), withEnv(env), undefined, SECRET);
    assert.deepEqual(containerEnv(out), env);
    assert.deepEqual(containerMounts(out), [
      { name: VOLUME, readOnly: true, mountPath: '/custom/my-binding' },
    ]);
  });

  it('RI-5: with envFrom but no literal entry, /bindings is added (the literal entry wins over envFrom)', () => {
    const out = project(
      binding(),
      withEnv([], { envFrom: [{ configMapRef: { name: 'cm' } }] }),
      undefined,
      SECRET,
    );
    assert.deepEqual(containerEnv(out), [rootEnv()]);
  });

  const unsupported: Array<[string, unknown[], RegExp]> = [
    [
      'valueFrom',
      [{ name: 'SERVICE_BINDING_ROOT', valueFrom: { configMapKeyRef: { name: 'c', key: 'k' } } }],
      /valueFrom/,
    ],
    ['an empty value', [{ name: 'SERVICE_BINDING_ROOT', value: '' }], /is empty/],
    ['no value', [{ name: 'SERVICE_BINDING_ROOT' }], /is empty/],
    ['a relative path', [{ name: 'SERVICE_BINDING_ROOT', value: 'bindings' }], /absolute/],
    [
      'two different values',
      [
        { name: 'SERVICE_BINDING_ROOT', value: '/a' },
        { name: 'SERVICE_BINDING_ROOT', value: '/b' },
      ],
      /different values/,
    ],
  ];
  for (const [what, env, message] of unsupported) {
    it(`AMB-6 RI-4: refuses SERVICE_BINDING_ROOT set with ${what} instead of mounting at a relative path`, () => {
      assert.throws(
        () => project(binding(), withEnv(env), undefined, SECRET),
        (err: unknown) =>
          err instanceof ProjectionError &&
          err.code === 'UnsupportedServiceBindingRoot' &&
          message.test(err.message) &&
          err.message.includes('"app"'),
      );
    });
  }

  it('AMB-6: an unsupported root in a container that is not bound is not an error', () => {
    const w = {
      spec: {
        template: {
          spec: {
            containers: [
              { name: 'app' },
              {
                name: 'sidecar',
                env: [{ name: 'SERVICE_BINDING_ROOT', valueFrom: { fieldRef: { fieldPath: 'x' } } }],
              },
            ],
          },
        },
      },
    };
    project(binding({ workload: { containers: ['app'] } }), w, undefined, SECRET);
  });

  it('WP-10 WP-11: two bindings with the same name on one workload are reported, naming the other volume', () => {
    const other = '11111111-2222-3333-4444-555555555555';
    const first = project(binding({ name: 'db' }, other), withEnv([]), undefined, 'other-secret');
    assert.throws(
      () => project(binding({ name: 'db' }), first, undefined, SECRET),
      (err: unknown) =>
        err instanceof ProjectionError &&
        err.code === 'BindingNameCollision' &&
        err.message.includes(`servicebinding-${other}`) &&
        err.message.includes('/bindings/db'),
    );
  });

  it('WP-11: a user volume at the mount path is reported too', () => {
    const w = withEnv([], { volumeMounts: [{ name: 'data', mountPath: '/bindings/my-binding/' }] });
    assert.throws(
      () => project(binding(), w, undefined, SECRET),
      (err: unknown) =>
        err instanceof ProjectionError && err.code === 'BindingNameCollision' && /"data"/.test(err.message),
    );
  });
});

describe('project: the container filter', () => {
  const pod = (): JsonObject => ({
    spec: {
      template: {
        spec: {
          initContainers: [{ name: 'init' }],
          containers: [{ name: 'app' }, { name: 'sidecar' }, { image: 'x' }],
        },
      },
    },
  });
  const bound = (out: JsonObject): string[] => {
    const spec = ((out['spec'] as JsonObject)['template'] as JsonObject)['spec'] as JsonObject;
    return [...(spec['initContainers'] as JsonObject[]), ...(spec['containers'] as JsonObject[])]
      .filter((c) => ((c['volumeMounts'] as unknown[] | undefined)?.length ?? 0) > 0)
      .map((c) => (c['name'] as string | undefined) ?? '<unnamed>');
  };

  it('SB-11: undefined binds every container, init containers included', () => {
    assert.deepEqual(bound(project(binding(), pod(), undefined, SECRET)), [
      'init',
      'app',
      'sidecar',
      '<unnamed>',
    ]);
  });

  it('SB-9 SB-10 SB-12 RB-5: a list binds the containers it names', () => {
    const sb = binding({ workload: { containers: ['sidecar', 'init'] } });
    assert.deepEqual(bound(project(sb, pod(), undefined, SECRET)), ['init', 'sidecar']);
  });

  it('SB-13: names that match nothing are ignored', () => {
    const sb = binding({ workload: { containers: ['app', 'no-such'] } });
    assert.deepEqual(bound(project(sb, pod(), undefined, SECRET)), ['app']);
  });

  it('AMB-10: an empty list binds every container, as the RI does', () => {
    const sb = binding({ workload: { containers: [] } });
    assert.deepEqual(bound(project(sb, pod(), undefined, SECRET)), ['init', 'app', 'sidecar', '<unnamed>']);
  });

  it('RB-6: a mapping without a name expression binds regardless of the filter', () => {
    const sb = binding({ workload: { containers: ['app'] } });
    const mapping = {
      versions: [{ version: '*', containers: [{ path: '.spec.template.spec.containers[*]' }] }],
    };
    assert.deepEqual(bound(project(sb, pod(), mapping, SECRET)), ['app', 'sidecar', '<unnamed>']);
  });

  it('RB-7: containers that are not bound still get empty env and volumeMounts', () => {
    const sb = binding({ workload: { containers: ['app'] } });
    const spec = ((project(sb, pod(), undefined, SECRET)['spec'] as JsonObject)['template'] as JsonObject)[
      'spec'
    ] as JsonObject;
    assert.deepEqual((spec['containers'] as JsonObject[])[1], { name: 'sidecar', env: [], volumeMounts: [] });
  });
});

describe('project: mappings', () => {
  const custom = {
    apiVersion: 'example.com/v2',
    kind: 'Thing',
    metadata: { name: 't' },
    spec: {
      podAnnotations: { keep: 'me' },
      workers: { a: { cname: 'a', vars: [{ name: 'X', value: '1' }] }, b: { cname: 'b' } },
    },
  };
  const mapping = {
    versions: [
      {
        version: 'v2',
        annotations: ".spec['podAnnotations']",
        containers: [{ path: '.spec.workers.*', name: '.cname', env: '.vars', volumeMounts: '.mounts' }],
        volumes: '.spec.storage.vols',
      },
      { version: '*', annotations: '.wrong' },
    ],
  };

  it('WM-15 WM-16 WM-17 WM-19 RB-1 RB-8: every expression of a custom mapping is used, locations created', () => {
    const out = project(binding({ workload: { containers: ['b'] } }), custom, mapping, SECRET);
    assert.deepEqual(out['spec'], {
      podAnnotations: { keep: 'me', [secretAnn]: SECRET },
      workers: {
        a: { cname: 'a', vars: [{ name: 'X', value: '1' }], mounts: [] },
        b: { cname: 'b', vars: [rootEnv()], mounts: [mount('/bindings')] },
      },
      storage: {
        vols: [{ name: VOLUME, projected: { defaultMode: 420, sources: [{ secret: { name: SECRET } }] } }],
      },
    });
  });

  it('WM-7: a version without its own template uses "*"', () => {
    const out = project(binding(), { ...custom, apiVersion: 'example.com/v3' }, mapping, SECRET);
    assert.deepEqual((out as { wrong?: unknown })['wrong'], { [secretAnn]: SECRET });
  });

  it('RB-2: without a matching template the workload is PodSpec-able', () => {
    const out = project(binding(), deployment(), { versions: [{ version: 'v9', volumes: '.x' }] }, SECRET);
    assert.ok(
      Array.isArray(
        (((out['spec'] as JsonObject)['template'] as JsonObject)['spec'] as JsonObject)['volumes'],
      ),
    );
  });

  it('FJ-3: a mapping that is not Fixed is reported with its field and expression', () => {
    const bad = { versions: [{ version: '*', volumes: '.spec.volumes[*]' }] };
    assert.throws(
      () => project(binding(), deployment(), bad, SECRET),
      (err: unknown) =>
        err instanceof ProjectionError &&
        err.code === 'InvalidMapping' &&
        err.message.includes('.volumes') &&
        err.message.includes('".spec.volumes[*]"'),
    );
  });

  it('reports a location of the wrong type instead of overwriting it', () => {
    const w = { spec: { template: { spec: { volumes: { not: 'a list' }, containers: [] } } } };
    assert.throws(
      () => project(binding(), w, undefined, SECRET),
      (err: unknown) =>
        err instanceof ProjectionError &&
        err.code === 'InvalidWorkload' &&
        /must be an array/.test(err.message),
    );
  });

  it('binds a container matched by two overlapping paths once', () => {
    const twice = {
      versions: [
        {
          version: '*',
          containers: [
            { path: '.spec.template.spec.containers[*]', name: '.name' },
            { path: '..containers[?(@.name=="app")]', name: '.name' },
          ],
        },
      ],
    };
    const out = project(
      binding(),
      { spec: { template: { spec: { containers: [{ name: 'app' }] } } } },
      twice,
      SECRET,
    );
    const c = (
      (((out['spec'] as JsonObject)['template'] as JsonObject)['spec'] as JsonObject)[
        'containers'
      ] as JsonObject[]
    )[0];
    assert.deepEqual(c?.['volumeMounts'], [mount('/bindings')]);
  });
});

describe('project: inputs', () => {
  it('projects nothing without a Secret, but still removes a previous projection', () => {
    const once = project(binding(), deployment(), undefined, SECRET);
    const none = project(binding(), once, undefined, undefined);
    assert.ok(!JSON.stringify(none).includes(VOLUME));
    assert.ok(!JSON.stringify(none).includes('projector.servicebinding.io'));
  });

  it('requires metadata.uid, a valid Secret name, and complete env mappings', () => {
    const code = (c: string) => (err: unknown) => err instanceof ProjectionError && err.code === c;
    assert.throws(
      () => project({ metadata: { name: 'x' } }, deployment(), undefined, SECRET),
      code('InvalidBinding'),
    );
    assert.throws(() => project(binding(), deployment(), undefined, 'Not_A_Name'), code('InvalidSecretName'));
    assert.throws(
      () => project(binding({ env: [{ name: '', key: 'k' }] }), deployment(), undefined, SECRET),
      (err: unknown) => code('InvalidBinding')(err) && /spec\.env\[0\]\.name/.test(String(err)),
    );
    assert.throws(() => project(binding(), 'not an object', undefined, SECRET), code('InvalidWorkload'));
  });
});
