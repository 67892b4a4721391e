import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ProjectionError } from './errors.ts';
import { CRONJOB_MAPPING } from './mapping.ts';
import { project } from './project.ts';
import { binding, deployment, SECRET, UID, VOLUME } from './ri-example.fixtures.ts';
import type { JsonObject } from './types.ts';
import { isProjected, unproject } from './unproject.ts';

const stashKey = `projector.servicebinding.io/mapping-${UID}`;
const podSpec = (w: JsonObject): JsonObject =>
  ((w['spec'] as JsonObject)['template'] as JsonObject)['spec'] as JsonObject;

describe('unproject (checklist §4.8)', () => {
  it('RI-7: removes volume, mounts, env and annotations; keeps SERVICE_BINDING_ROOT and created lists', () => {
    const sb = binding({
      type: 't',
      provider: 'p',
      env: [
        { name: 'HOST', key: 'host' },
        { name: 'TYPE', key: 'type' },
      ],
    });
    const projected = project(sb, deployment(), undefined, SECRET);
    assert.equal(isProjected(sb, projected), true);
    const out = unproject(sb, projected);
    assert.equal(isProjected(sb, out), false);
    assert.deepEqual(out, {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'my-workload', namespace: 'default', annotations: {} },
      spec: {
        template: {
          metadata: { annotations: {} },
          spec: {
            volumes: [],
            initContainers: [
              {
                name: 'init-hello',
                env: [{ name: 'SERVICE_BINDING_ROOT', value: '/bindings' }],
                volumeMounts: [],
              },
              {
                name: 'init-hello-2',
                env: [{ name: 'SERVICE_BINDING_ROOT', value: '/bindings' }],
                volumeMounts: [],
              },
            ],
            containers: [
              {
                name: 'hello',
                env: [{ name: 'SERVICE_BINDING_ROOT', value: '/custom/path' }],
                volumeMounts: [],
              },
              {
                name: 'hello-2',
                env: [{ name: 'SERVICE_BINDING_ROOT', value: '/bindings' }],
                volumeMounts: [],
              },
            ],
          },
        },
      },
    });
  });

  it('RB-3: uses the mapping stashed at projection, not the current one', () => {
    const cron = {
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      metadata: { name: 'c' },
      spec: { jobTemplate: { spec: { template: { spec: { containers: [{ name: 'x' }] } } } } },
    };
    const projected = project(binding(), cron, CRONJOB_MAPPING, SECRET);
    // The current mapping (PodSpec-able) would look in the wrong place; the stash knows better.
    const out = unproject(binding(), projected, undefined);
    assert.ok(!JSON.stringify(out).includes(VOLUME));
    assert.ok(!JSON.stringify(out).includes(SECRET));
  });

  it('RB-3: without a stash, falls back to the mapping it is given (as the RI does)', () => {
    const projected = project(binding(), deployment(), undefined, SECRET);
    delete ((projected['metadata'] as JsonObject)['annotations'] as JsonObject)[stashKey];
    const out = unproject(binding(), projected, { versions: [{ version: '*' }] });
    assert.ok(!JSON.stringify(out).includes(VOLUME));
  });

  it('RB-4: after a mapping change, re-projection removes with the old mapping and projects with the new', () => {
    const both = {
      apiVersion: 'example.com/v1',
      metadata: {},
      spec: {
        template: { spec: { containers: [{ name: 'a' }] } },
        other: { template: { spec: { containers: [{ name: 'b' }] } } },
      },
    };
    const moved = {
      versions: [
        {
          version: '*',
          annotations: '.spec.other.template.metadata.annotations',
          containers: [{ path: '.spec.other.template.spec.containers[*]', name: '.name' }],
          volumes: '.spec.other.template.spec.volumes',
        },
      ],
    };
    const first = project(binding(), both, undefined, SECRET);
    const second = project(binding(), first, moved, SECRET);
    const spec = second['spec'] as JsonObject;
    assert.ok(!JSON.stringify(spec['template']).includes(VOLUME), 'removed from the old location');
    assert.ok(JSON.stringify(spec['other']).includes(VOLUME), 'projected at the new location');
  });

  it('leaves other bindings and user entries alone', () => {
    const other = binding(
      { name: 'other', env: [{ name: 'O', key: 'o' }] },
      'aaaaaaaa-0000-0000-0000-000000000000',
    );
    const w = deployment();
    const containers = podSpec(w)['containers'] as JsonObject[];
    containers[1] = {
      name: 'hello-2',
      env: [{ name: 'USER', value: 'x' }],
      volumeMounts: [{ name: 'data', mountPath: '/d' }],
    };
    const withOther = project(other, w, undefined, 'other-secret');
    const both = project(binding({ env: [{ name: 'M', key: 'm' }] }), withOther, undefined, SECRET);
    assert.deepEqual(unproject(binding(), both), withOther);
    const hello2 = (podSpec(unproject(binding(), both))['containers'] as JsonObject[])[1];
    assert.deepEqual(hello2?.['volumeMounts'], [
      { name: 'data', mountPath: '/d' },
      {
        name: 'servicebinding-aaaaaaaa-0000-0000-0000-000000000000',
        readOnly: true,
        mountPath: '/bindings/other',
      },
    ]);
  });

  it('creates nothing on a workload that was never projected', () => {
    const w = { metadata: { name: 'x' }, spec: { template: { spec: { containers: [{ name: 'a' }] } } } };
    assert.deepEqual(unproject(binding(), w), w);
  });

  it('reports a stash that is not a string', () => {
    const w = { metadata: { annotations: { [stashKey]: 5 } } };
    assert.throws(
      () => unproject(binding(), w),
      (err: unknown) => err instanceof ProjectionError && err.code === 'InvalidMappingStash',
    );
  });
});
