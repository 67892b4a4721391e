import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ClusterWorkloadResourceMapping } from './clusterworkloadresourcemapping.ts';
import { cronJobMapping } from './default-mappings.ts';
import {
  bindingName,
  defaultClusterWorkloadResourceMapping,
  defaultMappingTemplate,
  defaultServiceBinding,
} from './defaults.ts';
import type { ServiceBinding } from './servicebinding.ts';
import { validateClusterWorkloadResourceMapping } from './validate-clusterworkloadresourcemapping.ts';

const binding = (name: string | undefined, specName?: string): ServiceBinding => ({
  apiVersion: 'servicebinding.io/v1',
  kind: 'ServiceBinding',
  metadata: name === undefined ? { generateName: 'b-' } : { name },
  spec: {
    ...(specName !== undefined && { name: specName }),
    service: { apiVersion: 'v1', kind: 'Secret', name: 's' },
    workload: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'w' },
  },
});

describe('defaultServiceBinding', () => {
  it('RI-3: spec.name defaults to metadata.name', () => {
    const input = binding('my-binding');
    const out = defaultServiceBinding(input);
    assert.equal(out.spec.name, 'my-binding');
    assert.equal(input.spec.name, undefined, 'the input is not changed');
    assert.equal(bindingName(input), 'my-binding');
  });

  it('RI-2: a set spec.name is kept; an empty one counts as unset', () => {
    assert.equal(defaultServiceBinding(binding('b', 'account-service')).spec.name, 'account-service');
    assert.equal(defaultServiceBinding(binding('b', '')).spec.name, 'b');
    assert.equal(bindingName(binding('b', 'account-service')), 'account-service');
  });

  it('RI-3: leaves spec.name unset while the name is still to be generated', () => {
    assert.equal(defaultServiceBinding(binding(undefined)).spec.name, undefined);
  });

  it('changes nothing else', () => {
    const input = binding('b', 'b');
    assert.deepEqual(defaultServiceBinding(input), input);
  });
});

describe('defaultMappingTemplate', () => {
  it('WM-9, WM-11, WM-13, WM-18, WM-20: an empty template is the PodSpec-able mapping', () => {
    assert.deepEqual(defaultMappingTemplate({ version: '*' }), {
      version: '*',
      annotations: '.spec.template.metadata.annotations',
      containers: [
        {
          path: '.spec.template.spec.initContainers[*]',
          name: '.name',
          env: '.env',
          volumeMounts: '.volumeMounts',
        },
        {
          path: '.spec.template.spec.containers[*]',
          name: '.name',
          env: '.env',
          volumeMounts: '.volumeMounts',
        },
      ],
      volumes: '.spec.template.spec.volumes',
    });
    assert.deepEqual(defaultMappingTemplate({ version: 'v1', containers: [] }).containers.length, 2);
  });

  it('WM-15, WM-16, RB-6: a given container keeps its paths and gets env/volumeMounts defaults, but no name', () => {
    const out = defaultMappingTemplate({
      version: 'v1',
      annotations: '.spec.podAnnotations',
      containers: [{ path: '.spec.runner', env: '.environment' }],
    });
    assert.deepEqual(out, {
      version: 'v1',
      annotations: '.spec.podAnnotations',
      containers: [{ path: '.spec.runner', env: '.environment', volumeMounts: '.volumeMounts' }],
      volumes: '.spec.template.spec.volumes',
    });
  });

  it('WM-18 WM-20: container entries get .env and .volumeMounts, but no name (RB-6)', () => {
    const t = defaultMappingTemplate({ version: 'v1', containers: [{ path: '.spec.c[*]', name: '' }] });
    assert.deepEqual(t.containers, [{ path: '.spec.c[*]', env: '.env', volumeMounts: '.volumeMounts' }]);
  });

  it('the CronJob mapping defaults as the RI ships it', () => {
    const t = defaultMappingTemplate(cronJobMapping.spec.versions?.[0] ?? { version: '' });
    assert.equal(t.annotations, '.spec.jobTemplate.spec.template.metadata.annotations');
    assert.deepEqual(
      t.containers.map((c) => [c.path, c.name, c.env, c.volumeMounts]),
      [
        ['.spec.jobTemplate.spec.template.spec.containers[*]', '.name', '.env', '.volumeMounts'],
        ['.spec.jobTemplate.spec.template.spec.initContainers[*]', '.name', '.env', '.volumeMounts'],
      ],
    );
    assert.ok(Object.isFrozen(cronJobMapping) && Object.isFrozen(cronJobMapping.spec.versions?.[0]));
  });

  it('WM-18, WM-20: defaulting a mapping fills env and volumeMounts only, and leaves it valid', () => {
    const mapping: ClusterWorkloadResourceMapping = {
      metadata: { name: 'cronjobs.batch' },
      spec: {
        versions: [
          { version: '*', containers: [{ path: '.spec.jobTemplate.spec.template.spec.containers[*]' }] },
        ],
      },
    };
    const out = defaultClusterWorkloadResourceMapping(mapping);
    assert.deepEqual(out.spec.versions?.[0]?.containers, [
      {
        path: '.spec.jobTemplate.spec.template.spec.containers[*]',
        env: '.env',
        volumeMounts: '.volumeMounts',
      },
    ]);
    assert.equal(mapping.spec.versions?.[0]?.annotations, undefined, 'the input is not changed');
    assert.deepEqual(validateClusterWorkloadResourceMapping(out), []);
    assert.deepEqual(defaultClusterWorkloadResourceMapping({ metadata: {}, spec: {} }).spec, {});
  });
});
