import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatFieldError, type FieldError } from './field-errors.ts';
import { validateServiceBinding } from './validate-servicebinding.ts';

/** A valid binding (the spec's "Minimal" example), with `spec` fields replaced by `patch`. */
function binding(patch: Record<string, unknown> = {}, name = 'online-banking-frontend-to-account-service') {
  return {
    apiVersion: 'servicebinding.io/v1',
    kind: 'ServiceBinding',
    metadata: { name, namespace: 'default' },
    spec: {
      service: { apiVersion: 'com.example/v1alpha1', kind: 'AccountService', name: 'prod-account-service' },
      workload: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'online-banking' },
      ...patch,
    },
  };
}

const workload = { apiVersion: 'apps/v1', kind: 'Deployment' };

/** `field type` pairs, which is what a test usually cares about. */
const summary = (errors: FieldError[]): string[] => errors.map((e) => `${e.field} ${e.type}`);

describe('validateServiceBinding', () => {
  it("SB-1: the spec's examples are valid", () => {
    assert.deepEqual(validateServiceBinding(binding()), []);
    const selector = binding({
      name: 'account-service',
      workload: {
        ...workload,
        selector: {
          matchLabels: {
            'app.kubernetes.io/part-of': 'online-banking',
            'app.kubernetes.io/component': 'frontend',
          },
        },
      },
    });
    assert.deepEqual(validateServiceBinding(selector), []);
    const env = binding({
      env: [
        { name: 'ACCOUNT_SERVICE_HOST', key: 'host' },
        { name: 'ACCOUNT_SERVICE_USERNAME', key: 'username' },
        { name: 'ACCOUNT_SERVICE_PASSWORD', key: 'password' },
      ],
    });
    assert.deepEqual(validateServiceBinding(env), []);
  });

  it('DS-1: a direct Secret reference is valid', () => {
    const direct = binding({
      service: { apiVersion: 'v1', kind: 'Secret', name: 'prod-account-service-secret' },
    });
    assert.deepEqual(validateServiceBinding(direct), []);
  });

  it('SB-4, SB-7: spec, spec.service and spec.workload are required', () => {
    const { spec: _spec, ...noSpec } = binding();
    assert.deepEqual(summary(validateServiceBinding(noSpec)), ['spec Required']);
    assert.deepEqual(summary(validateServiceBinding(binding({ service: undefined, workload: undefined }))), [
      'spec.service Required',
      'spec.workload Required',
    ]);
  });

  it('SB-7: the service reference needs apiVersion, kind and name, each well-formed', () => {
    assert.deepEqual(summary(validateServiceBinding(binding({ service: {} }))), [
      'spec.service.apiVersion Required',
      'spec.service.kind Required',
      'spec.service.name Required',
    ]);
    const bad = validateServiceBinding(
      binding({ service: { apiVersion: 'example.com/', kind: 'S', name: 'a/b' } }),
    );
    assert.deepEqual(summary(bad), ['spec.service.apiVersion Invalid', 'spec.service.name Invalid']);
  });

  it('SB-4: the workload reference needs apiVersion and kind', () => {
    assert.deepEqual(summary(validateServiceBinding(binding({ workload: { name: 'w' } }))), [
      'spec.workload.apiVersion Required',
      'spec.workload.kind Required',
    ]);
    const typo = validateServiceBinding(
      binding({ workload: { ...workload, apiVersion: 'apps.v1', name: 'w' } }),
    );
    assert.deepEqual(summary(typo), ['spec.workload.apiVersion Invalid']);
    assert.match(typo[0]?.detail ?? '', /expected '<group>\/<version>' \(e\.g\. 'apps\/v1'\)/);
  });

  it('SB-5, SB-6: the workload is named by exactly one of name and selector', () => {
    const neither = validateServiceBinding(binding({ workload }));
    assert.deepEqual(neither, [
      {
        type: 'Required',
        field: 'spec.workload.[name, selector]',
        detail: 'expected exactly one of name and selector, got neither',
      },
    ]);
    const both = validateServiceBinding(binding({ workload: { ...workload, name: 'w', selector: {} } }));
    assert.deepEqual(summary(both), ['spec.workload.[name, selector] Invalid']);
    assert.match(both[0]?.detail ?? '', /got both/);
    assert.deepEqual(validateServiceBinding(binding({ workload: { ...workload, selector: {} } })), []);
    // An empty name is no name (Go omitempty), so this is "neither", not "both".
    assert.deepEqual(summary(validateServiceBinding(binding({ workload: { ...workload, name: '' } }))), [
      'spec.workload.[name, selector] Required',
    ]);
  });

  it('SB-5: a selector must be one a label query can be built from', () => {
    const errors = validateServiceBinding(
      binding({
        workload: {
          ...workload,
          selector: {
            matchLabels: { 'bad key!': 'v', app: 'not a value' },
            matchExpressions: [
              { key: 'a', operator: 'In' },
              { key: 'b', operator: 'Exists', values: ['x'] },
              { key: 'c', operator: 'Matches', values: ['x'] },
              { operator: 'NotIn', values: ['x'] },
            ],
          },
        },
      }),
    );
    const at = 'spec.workload.selector';
    assert.deepEqual(summary(errors), [
      `${at}.matchLabels Invalid`,
      `${at}.matchLabels[app] Invalid`,
      `${at}.matchExpressions[0].values Required`,
      `${at}.matchExpressions[1].values Forbidden`,
      `${at}.matchExpressions[2].operator NotSupported`,
      `${at}.matchExpressions[3].key Required`,
    ]);
    assert.equal(
      formatFieldError(errors[4] as FieldError),
      `${at}.matchExpressions[2].operator: Unsupported value: "Matches": supported values: "In", "NotIn", "Exists", "DoesNotExist"`,
    );
  });

  it('SB-9, SB-10: workload.containers is a list of strings', () => {
    const named = binding({ workload: { ...workload, name: 'w', containers: ['app', 'sidecar'] } });
    assert.deepEqual(validateServiceBinding(named), []);
    const notList = validateServiceBinding(
      binding({ workload: { ...workload, name: 'w', containers: 'app' } }),
    );
    assert.deepEqual(summary(notList), ['spec.workload.containers Invalid']);
    assert.match(notList[0]?.detail ?? '', /expected a list, got a string/);
    const notStrings = validateServiceBinding(
      binding({ workload: { ...workload, name: 'w', containers: ['a', 1] } }),
    );
    assert.deepEqual(summary(notStrings), ['spec.workload.containers[1] Invalid']);
  });

  it('SB-14, SB-15: every env mapping has a name and a key', () => {
    const errors = validateServiceBinding(binding({ env: [{ key: 'host' }, { name: 'HOST' }, 'HOST=host'] }));
    assert.deepEqual(summary(errors), [
      'spec.env[0].name Required',
      'spec.env[1].key Required',
      'spec.env[2] Invalid',
    ]);
  });

  it('SB-16, SB-17: env names are environment variable names and keys are Secret keys', () => {
    const errors = validateServiceBinding(
      binding({
        env: [
          { name: '1HOST', key: 'host' },
          { name: 'my.env-name', key: 'a/b' },
          { name: 'OK', key: '..secret' },
          { name: 'LONG', key: 'k'.repeat(254) },
          { name: '.', key: '.' },
        ],
      }),
    );
    assert.deepEqual(summary(errors), [
      'spec.env[0].name Invalid',
      'spec.env[1].key Invalid',
      'spec.env[2].key Invalid',
      'spec.env[3].key Invalid',
      'spec.env[4].name Invalid',
      'spec.env[4].key Invalid',
    ]);
    assert.match(errors[0]?.detail ?? '', /must not start with a digit/);
    assert.match(errors[2]?.detail ?? '', /must not start with '\.\.'/);
    assert.match(errors[3]?.detail ?? '', /no more than 253 characters/);
  });

  it('SB-17: an environment variable is set once, and never SERVICE_BINDING_ROOT', () => {
    const errors = validateServiceBinding(
      binding({
        env: [
          { name: 'HOST', key: 'host' },
          { name: 'HOST', key: 'uri' },
          { name: 'SERVICE_BINDING_ROOT', key: 'root' },
        ],
      }),
    );
    assert.deepEqual(errors, [
      {
        type: 'Duplicate',
        field: 'spec.env[1].name',
        value: 'HOST',
        detail: 'also set by spec.env[0]; expected each environment variable once',
      },
      {
        type: 'Forbidden',
        field: 'spec.env[2].name',
        detail: 'SERVICE_BINDING_ROOT is set by the runtime to locate bindings; expected another name',
      },
    ]);
  });

  it('WP-2, RI-2: spec.name matches ^[a-z0-9.-]{1,253}$ and is not . or ..', () => {
    for (const ok of ['account-service', 'a', 'db.v2', '...', 'x'.repeat(253)])
      assert.deepEqual(validateServiceBinding(binding({ name: ok })), [], ok);
    for (const bad of ['.', '..', 'Account', 'a/b', '../../etc', 'a_b', 'x'.repeat(254)]) {
      const errors = validateServiceBinding(binding({ name: bad }));
      assert.ok(errors.length > 0, bad);
      for (const e of errors) assert.equal(e.field, 'spec.name');
    }
    assert.deepEqual(validateServiceBinding(binding({ name: '..' })), [
      { type: 'Invalid', field: 'spec.name', value: '..', detail: 'must not be "." or ".."' },
    ]);
  });

  it('WP-2, RI-3: without spec.name, metadata.name is the binding name and is checked the same way', () => {
    const errors = validateServiceBinding(binding({}, 'Has_Upper'));
    assert.deepEqual(summary(errors), ['metadata.name Invalid']);
    assert.match(
      errors[0]?.detail ?? '',
      /^used as the binding name when spec\.name is not set: must consist of/,
    );
    // A valid spec.name makes metadata.name irrelevant.
    assert.deepEqual(validateServiceBinding(binding({ name: 'ok' }, 'Has_Upper')), []);
    const unnamed = binding();
    unnamed.metadata = { namespace: 'default' } as typeof unnamed.metadata;
    assert.deepEqual(summary(validateServiceBinding(unnamed)), ['spec.name Required']);
  });

  it('rejects wrong types with the type it expected', () => {
    assert.deepEqual(validateServiceBinding('binding'), [
      {
        type: 'Invalid',
        field: '<object>',
        value: 'binding',
        detail: 'expected a ServiceBinding object, got a string',
      },
    ]);
    const errors = validateServiceBinding(binding({ name: 5, service: [], env: {} }));
    assert.deepEqual(errors.map(formatFieldError), [
      'spec.name: Invalid value: 5: expected a string, got a number',
      'spec.service: Invalid value: expected an object, got a list',
      'spec.env: Invalid value: expected a list, got an object',
    ]);
  });

  describe('on update', () => {
    const old = binding({ workload: { ...workload, name: 'online-banking' } });

    it('AMB-17: the workload apiVersion and kind are immutable', () => {
      const moved = binding({
        workload: { apiVersion: 'apps/v1beta2', kind: 'StatefulSet', name: 'online-banking' },
      });
      assert.deepEqual(validateServiceBinding(moved, old), [
        {
          type: 'Forbidden',
          field: 'spec.workload.apiVersion',
          detail:
            'Workload apiVersion is immutable: expected "apps/v1". Delete and recreate the ServiceBinding to change it.',
        },
        {
          type: 'Forbidden',
          field: 'spec.workload.kind',
          detail:
            'Workload kind is immutable: expected "Deployment". Delete and recreate the ServiceBinding to change it.',
        },
      ]);
    });

    it('the service reference is immutable', () => {
      const other = binding({ service: { apiVersion: 'v1', kind: 'Secret', name: 'other' } });
      assert.deepEqual(summary(validateServiceBinding(other, old)), [
        'spec.service.apiVersion Forbidden',
        'spec.service.kind Forbidden',
        'spec.service.name Forbidden',
      ]);
    });

    it('everything else may change: name, selector, containers, env, type, provider', () => {
      const changed = binding({
        name: 'renamed',
        type: 'mysql',
        provider: 'bitnami',
        workload: { ...workload, selector: { matchLabels: { app: 'x' } }, containers: ['app'] },
        env: [{ name: 'HOST', key: 'host' }],
      });
      assert.deepEqual(validateServiceBinding(changed, old), []);
    });

    it('is not rejected for a problem the stored object already had (e.g. to remove a finalizer)', () => {
      const legacy = binding({ name: '..', env: [{ name: '1X', key: 'k' }] });
      const finalizing = { ...legacy, metadata: { ...legacy.metadata, finalizers: [] } };
      assert.deepEqual(validateServiceBinding(finalizing, legacy), []);
      const worse = binding({
        name: '..',
        env: [
          { name: '1X', key: 'k' },
          { name: '2X', key: 'k' },
        ],
      });
      assert.deepEqual(summary(validateServiceBinding(worse, legacy)), ['spec.env[1].name Invalid']);
    });
  });

  it('every rejection names the field and says what was expected', () => {
    const cases: unknown[] = [
      binding({ name: '..', service: {}, workload: {}, env: [{}, { name: '-', key: '' }] }),
      binding({ workload: { ...workload, selector: { matchExpressions: [{}] } } }),
      { metadata: {}, spec: null },
    ];
    for (const c of cases) {
      const errors = validateServiceBinding(c);
      assert.ok(errors.length > 0);
      for (const e of errors) {
        assert.match(e.field, /^(spec|metadata)(\.|$)/);
        assert.ok(e.detail.length > 10, formatFieldError(e));
        assert.ok(formatFieldError(e).startsWith(`${e.field}: `));
      }
    }
  });
});
