import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cronJobMapping } from '../apis/default-mappings.ts';
import { defaultMappingTemplate } from '../apis/defaults.ts';
import { ProjectionError } from './errors.ts';
import {
  CRONJOB_MAPPING,
  CRONJOB_MAPPING_NAME,
  defaultMappingSpec,
  parseMappingStash,
  PODSPECABLE_MAPPING,
  selectMappingTemplate,
  stashMapping,
  validateMappingSpec,
} from './mapping.ts';
import { PODSPECABLE_STASH } from './ri-example.fixtures.ts';

// Defaulting a template (WM-9 … WM-20, RB-6) and the CronJob mapping are apis/'s, tested in
// apis/defaults.test.ts; these are the projector's uses of them.
describe('mapping defaults', () => {
  it('WM-9 WM-11 WM-13 WM-18 WM-20: an empty template is the PodSpec-able mapping', () => {
    assert.deepEqual(defaultMappingTemplate({ version: '*' }), PODSPECABLE_MAPPING.versions[0]);
    assert.ok(Object.isFrozen(PODSPECABLE_MAPPING.versions[0]?.containers[0]));
  });

  it('RB-2: no mapping, or one without versions, is PodSpec-able', () => {
    assert.deepEqual(defaultMappingSpec(undefined), PODSPECABLE_MAPPING);
    assert.deepEqual(defaultMappingSpec({}), PODSPECABLE_MAPPING);
    assert.deepEqual(defaultMappingSpec({ versions: [] }), PODSPECABLE_MAPPING);
  });

  it('CRONJOB_MAPPING is the spec of the shipped cronjobs.batch mapping, frozen', () => {
    assert.equal(CRONJOB_MAPPING, cronJobMapping.spec);
    assert.equal(CRONJOB_MAPPING_NAME, cronJobMapping.metadata.name);
    assert.ok(Object.isFrozen(CRONJOB_MAPPING) && Object.isFrozen(CRONJOB_MAPPING.versions?.[0]));
  });
});

describe('selectMappingTemplate', () => {
  const spec = {
    versions: [
      { version: '*', volumes: '.star' },
      { version: 'v1', volumes: '.one' },
    ],
  };
  it('RB-1: the exact version wins', () => assert.equal(selectMappingTemplate(spec, 'v1').volumes, '.one'));
  it('WM-7: "*" serves any other version', () =>
    assert.equal(selectMappingTemplate(spec, 'v2').volumes, '.star'));
  it('RB-2: nothing matching reverts to PodSpec-able', () => {
    assert.equal(
      selectMappingTemplate({ versions: [{ version: 'v1', volumes: '.one' }] }, 'v2').volumes,
      '.spec.template.spec.volumes',
    );
  });
});

describe('the mapping stash', () => {
  it("RB-3: is the RI's JSON for the PodSpec-able mapping, byte for byte", () => {
    assert.equal(stashMapping(defaultMappingSpec(undefined)), PODSPECABLE_STASH);
  });

  it('RB-3: escapes like Go and omits empty fields', () => {
    const text = stashMapping({
      versions: [
        {
          version: 'v1',
          annotations: '.a',
          containers: [{ path: '.c[?(@.port<3 && @.x>1)]', env: '.env', volumeMounts: '.vm' }],
          volumes: '.v',
        },
      ],
    });
    assert.equal(
      text,
      '{"versions":[{"version":"v1","annotations":".a","containers":[{"path":".c[?(@.port\\u003c3 \\u0026\\u0026 @.x\\u003e1)]","env":".env","volumeMounts":".vm"}],"volumes":".v"}]}',
    );
    assert.deepEqual(JSON.parse(text), parseMappingStash(text, 'x'));
  });

  it('RB-3: round-trips', () => {
    const spec = defaultMappingSpec(CRONJOB_MAPPING);
    assert.deepEqual(defaultMappingSpec(parseMappingStash(stashMapping(spec), 'x')), spec);
  });

  for (const bad of [
    'not json',
    '[]',
    '{"versions":{}}',
    '{"versions":[{"version":1}]}',
    '{"versions":[{"containers":[3]}]}',
  ]) {
    it(`refuses the stash ${bad} with a way out`, () => {
      assert.throws(
        () => parseMappingStash(bad, "metadata.annotations['m']"),
        (err: unknown) =>
          err instanceof ProjectionError &&
          err.code === 'InvalidMappingStash' &&
          err.message.startsWith("metadata.annotations['m']") &&
          /remove the annotation/.test(err.message),
      );
    });
  }
});

describe('validateMappingSpec', () => {
  const rejects = (spec: Parameters<typeof validateMappingSpec>[0], field: string, why: RegExp): void => {
    assert.throws(
      () => validateMappingSpec(spec),
      (err: unknown) => err instanceof ProjectionError && err.field === field && why.test(err.message),
    );
  };

  it('WM-5 WM-6 FJ-1: accepts the shipped mappings', () => {
    validateMappingSpec(CRONJOB_MAPPING);
    validateMappingSpec(PODSPECABLE_MAPPING);
  });

  it('WM-6: requires a unique, non-empty version', () => {
    rejects({ versions: [{ version: '' }] }, 'spec.versions[0].version', /required/);
    rejects({ versions: [{ version: 'v1' }, { version: 'v1' }] }, 'spec.versions[0, 1].version', /duplicate/);
  });

  it('FJ-3: every Fixed JSONPath is fixed', () => {
    rejects(
      { versions: [{ version: '*', annotations: '.a[0]' }] },
      'spec.versions[0].annotations',
      /"\.a\[0\]"/,
    );
    rejects({ versions: [{ version: '*', volumes: '..v' }] }, 'spec.versions[0].volumes', /recursive/);
    rejects(
      { versions: [{ version: '*', containers: [{ path: '.c[*]', name: '.n[*]' }] }] },
      'spec.versions[0].containers[0].name',
      /wildcard/,
    );
    rejects(
      { versions: [{ version: '*', containers: [{ path: '.c[*]', env: 'env' }] }] },
      'spec.versions[0].containers[0].env',
      /invalid Fixed JSONPath "env" at offset 0: identifier 'env' is not allowed \(did you mean '\.env'\?\)/,
    );
    rejects(
      { versions: [{ version: '*', containers: [{ path: '.c[*]', volumeMounts: '.' }] }] },
      'spec.versions[0].containers[0].volumeMounts',
      /must name a field/,
    );
  });

  it('FJ-2 WM-14: path is a full JSONPath, and must parse', () => {
    validateMappingSpec({
      versions: [{ version: '*', containers: [{ path: '..containers[?(@.name=="x")]' }] }],
    });
    rejects(
      { versions: [{ version: '*', containers: [{ path: 'c[*]' }] }] },
      'spec.versions[0].containers[0].path',
      /must start/,
    );
  });
});
