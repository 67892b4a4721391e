import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cronJobMapping } from './default-mappings.ts';
import { formatFieldError, type FieldError } from './field-errors.ts';
import { validateClusterWorkloadResourceMapping } from './validate-clusterworkloadresourcemapping.ts';

const mapping = (versions: unknown, name = 'deployments.apps') => ({
  apiVersion: 'servicebinding.io/v1',
  kind: 'ClusterWorkloadResourceMapping',
  metadata: { name },
  spec: { versions },
});

const summary = (errors: FieldError[]): string[] => errors.map((e) => `${e.field} ${e.type}`);

/** The spec's "PodSpec-able (Default) Example Resource". */
const podSpecable = {
  version: '*',
  annotations: '.spec.template.metadata.annotations',
  containers: [
    { path: '.spec.template.spec.containers[*]', name: '.name', env: '.env', volumeMounts: '.volumeMounts' },
    {
      path: '.spec.template.spec.initContainers[*]',
      name: '.name',
      env: '.env',
      volumeMounts: '.volumeMounts',
    },
  ],
  volumes: '.spec.template.spec.volumes',
};

describe('validateClusterWorkloadResourceMapping', () => {
  it("WM-1: the spec's PodSpec-able example and the shipped cronjobs.batch mapping are valid", () => {
    assert.deepEqual(validateClusterWorkloadResourceMapping(mapping([podSpecable])), []);
    assert.deepEqual(validateClusterWorkloadResourceMapping(cronJobMapping), []);
  });

  it('WM-8, WM-10, WM-12: annotations, containers and volumes are optional (ERR-1)', () => {
    assert.deepEqual(validateClusterWorkloadResourceMapping(mapping([{ version: 'v1' }])), []);
    assert.deepEqual(
      validateClusterWorkloadResourceMapping(
        mapping([{ version: 'v1', containers: [{ path: '.spec.containers[*]' }] }]),
      ),
      [],
    );
  });

  it('WM-4: the name is <plural>.<group> of the mapped resource', () => {
    for (const ok of [
      'cronjobs.batch',
      'deployments.apps',
      'runtimecomponents.app.stacks',
      'widgets.example.dev',
    ])
      assert.deepEqual(validateClusterWorkloadResourceMapping(mapping([], ok)), [], ok);
    for (const bad of ['pods', 'CronJobs.batch', 'cronjobs.', 'cron_jobs.batch', '.batch']) {
      const errors = validateClusterWorkloadResourceMapping(mapping([], bad));
      assert.deepEqual(summary(errors), ['metadata.name Invalid'], bad);
      assert.match(
        errors[0]?.detail ?? '',
        /expected <plural>\.<group> of the mapped resource, e\.g\. cronjobs\.batch/,
      );
    }
  });

  it('WM-5: spec.versions is required', () => {
    assert.deepEqual(summary(validateClusterWorkloadResourceMapping({ metadata: { name: 'a.b' } })), [
      'spec Required',
    ]);
    assert.deepEqual(
      summary(validateClusterWorkloadResourceMapping({ metadata: { name: 'a.b' }, spec: {} })),
      ['spec.versions Required'],
    );
    assert.deepEqual(validateClusterWorkloadResourceMapping(mapping([])), [], 'an empty list is a list');
  });

  it('WM-6, WM-7: every template names a version, * or a Kubernetes version, each once', () => {
    const errors = validateClusterWorkloadResourceMapping(
      mapping([
        { version: '*' },
        { version: 'v1' },
        {},
        { version: 'V2' },
        { version: 'v1' },
        { version: '*' },
      ]),
    );
    assert.deepEqual(errors.map(formatFieldError), [
      'spec.versions[2].version: Required value: expected a version of the resource, e.g. v1, or * for any other',
      'spec.versions[3].version: Invalid value: "V2": expected * or a version such as v1',
      'spec.versions[4].version: Duplicate value: "v1": also mapped by spec.versions[1]; expected each version once',
      'spec.versions[5].version: Duplicate value: "*": also mapped by spec.versions[0]; expected each version once',
    ]);
  });

  it('WM-14: every container mapping has a non-empty path, a JSONPath', () => {
    const errors = validateClusterWorkloadResourceMapping(
      mapping([
        { version: '*', containers: [{ name: '.name' }, { path: '' }, { path: 'spec.containers[*]' }] },
      ]),
    );
    assert.deepEqual(summary(errors), [
      'spec.versions[0].containers[0].path Required',
      'spec.versions[0].containers[1].path Required',
      'spec.versions[0].containers[2].path Invalid',
    ]);
    assert.match(errors[2]?.detail ?? '', /expected a JSONPath starting with '\.'/);
  });

  it('FJ-1, FJ-2: only the Fixed JSONPath fields are restricted; path may use the full syntax', () => {
    const full = mapping([
      {
        version: '*',
        containers: [{ path: '.spec.pods[?(@.kind=="app")].containers[*]', name: "['name']" }],
      },
    ]);
    assert.deepEqual(validateClusterWorkloadResourceMapping(full), []);
  });

  it('WM-14: path must parse as the JSONPath the projector evaluates, within its bounds', () => {
    const paths = [
      '.spec.containers[',
      '.spec.containers[?(@.name==)]',
      '.spec.__proto__.containers[*]',
      "..['constructor']",
      '.a'.repeat(65),
      `.${'a'.repeat(1100)}`,
    ];
    const errors = validateClusterWorkloadResourceMapping(
      mapping([{ version: '*', containers: paths.map((path) => ({ path })) }]),
    );
    assert.deepEqual(
      summary(errors),
      paths.map((_, i) => `spec.versions[0].containers[${i}].path Invalid`),
    );
    assert.equal(
      formatFieldError(errors[0] as FieldError),
      'spec.versions[0].containers[0].path: Invalid value: ".spec.containers[": not a JSONPath: at offset 16: unterminated "["',
    );
    assert.match(errors[2]?.detail ?? '', /the key "__proto__" is not allowed/);
    assert.match(errors[3]?.detail ?? '', /the key "constructor" is not allowed/);
    assert.match(errors[4]?.detail ?? '', /more than 64 steps/);
    assert.match(errors[5]?.detail ?? '', /longer than 1024 characters/);
    assert.ok(formatFieldError(errors[5] as FieldError).length < 400, 'a long value is not echoed in full');
  });

  it('FJ-3: a Fixed JSONPath never names __proto__, constructor or prototype', () => {
    const errors = fixedPaths(
      '.spec.template.metadata.__proto__',
      ".constructor['prototype']",
      '.prototype',
      ".env['__proto__']",
      '.constructor',
    );
    assert.match(errors[0]?.detail ?? '', /the key "__proto__" is not allowed/);
    assert.match(errors[1]?.detail ?? '', /at offset 1: the key "constructor" is not allowed/);
  });

  /** The errors for a template with these five Fixed JSONPaths, in the order of the arguments. */
  const fixedPaths = (
    annotations: string,
    volumes: string,
    name: string,
    env: string,
    volumeMounts: string,
  ) => {
    const container = { path: '.spec.containers[*]', name, env, volumeMounts };
    const errors = validateClusterWorkloadResourceMapping(
      mapping([{ version: '*', annotations, volumes, containers: [container] }]),
    );
    assert.deepEqual(summary(errors), [
      'spec.versions[0].annotations Invalid',
      'spec.versions[0].volumes Invalid',
      'spec.versions[0].containers[0].name Invalid',
      'spec.versions[0].containers[0].env Invalid',
      'spec.versions[0].containers[0].volumeMounts Invalid',
    ]);
    return errors;
  };

  it('FJ-3: annotations, volumes and containers[].name/env/volumeMounts must be Fixed JSONPaths', () => {
    const errors = fixedPaths(
      '.spec.template.metadata.annotations[*]',
      'spec.template.spec.volumes',
      '..name',
      '.env[0]',
      ".a['b','c']",
    );
    assert.equal(
      formatFieldError(errors[0] as FieldError),
      `spec.versions[0].annotations: Invalid value: ".spec.template.metadata.annotations[*]": not a Fixed JSONPath: at offset 35: wildcard '[*]' is not allowed; expected fields joined by '.' or ['key'], e.g. .spec.template.spec.volumes`,
    );
    assert.match(errors[1]?.detail ?? '', /identifier 'spec' is not allowed \(did you mean '\.spec'\?\)/);
  });

  it('FJ-3: those Fixed JSONPaths must name a field, not the object itself', () => {
    const errors = fixedPaths('.', '$', '@', '$.', '.');
    assert.equal(
      formatFieldError(errors[0] as FieldError),
      'spec.versions[0].annotations: Invalid value: ".": names the object itself; expected at least one field, e.g. .spec.template.spec.volumes',
    );
  });

  it('rejects wrong types with the type it expected', () => {
    const errors = validateClusterWorkloadResourceMapping(
      mapping([{ version: 1, containers: {} }, 'v1', { version: 'v2', containers: ['x'], annotations: 7 }]),
    );
    assert.deepEqual(errors.map(formatFieldError), [
      'spec.versions[0].version: Invalid value: 1: expected a string, got a number',
      'spec.versions[0].containers: Invalid value: expected a list, got an object',
      'spec.versions[1]: Invalid value: "v1": expected an object with a version, got a string',
      'spec.versions[2].annotations: Invalid value: 7: expected a string, got a number',
      'spec.versions[2].containers[0]: Invalid value: "x": expected an object with a path, got a string',
    ]);
    assert.equal(
      validateClusterWorkloadResourceMapping(null)[0]?.detail,
      'expected a ClusterWorkloadResourceMapping object, got null',
    );
  });
});
