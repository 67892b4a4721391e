// The example of README.md, verbatim: tsc type-checks it, and the last test checks that the
// README still shows this code.
import { InvalidBindingError, parseSubject } from '@bindery/bindings';
import type { BindableFactory } from '@bindery/bindings';
import type { KubeObject } from '@bindery/kube';

/** Sets `LOG_LEVEL` to `spec.level` in every container of the subject; undo removes exactly that. */
export const logLevel: BindableFactory<KubeObject> = (binding) => {
  const spec = binding['spec'] as { subject?: unknown; level?: unknown } | undefined;
  const level = spec?.level;
  if (typeof level !== 'string') throw new InvalidBindingError('spec.level', 'must be a string');
  const withoutOurs = (env: { name: string }[] = []) => env.filter((e) => e.name !== 'LOG_LEVEL');
  return {
    binding,
    subject: parseSubject(binding, spec?.subject),
    do: (_ctx, p) => {
      for (const c of p.spec.template.spec.containers ?? []) {
        c.env = [...withoutOurs(c.env), { name: 'LOG_LEVEL', value: level }];
      }
    },
    undo: (_ctx, p) => {
      for (const c of p.spec.template.spec.containers ?? []) c.env = withoutOurs(c.env);
    },
  };
};

import assert from 'node:assert/strict';
import { it } from 'node:test';
import { assertReadmeShowsExample } from '@bindery/controlplane';
import { pino } from 'pino';
import type { PodSpecable } from '@bindery/runtime';

it('the example binds and unbinds a Deployment', () => {
  const binding = {
    apiVersion: 'example.com/v1',
    kind: 'LogLevel',
    metadata: { namespace: 'ns', name: 'debug' },
    spec: { subject: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' }, level: 'debug' },
  };
  const bindable = logLevel(binding);
  assert.deepEqual(bindable.subject, {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    namespace: 'ns',
    name: 'web',
  });
  const web: PodSpecable = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { namespace: 'ns', name: 'web' },
    spec: { template: { spec: { containers: [{ name: 'app', env: [{ name: 'PORT', value: '80' }] }] } } },
  };
  const ctx = { log: pino({ level: 'silent' }), source: 'reconciler' as const };
  void bindable.do(ctx, web);
  void bindable.do(ctx, web);
  assert.deepEqual(web.spec.template.spec.containers?.[0]?.env, [
    { name: 'PORT', value: '80' },
    { name: 'LOG_LEVEL', value: 'debug' },
  ]);
  void bindable.undo(ctx, web);
  assert.deepEqual(web.spec.template.spec.containers?.[0]?.env, [{ name: 'PORT', value: '80' }]);
  assert.throws(
    () => logLevel({ ...binding, spec: { subject: binding.spec.subject } }),
    /spec\.level: must be a string/,
  );
});

it('README.md shows the example of this file verbatim', () => assertReadmeShowsExample(import.meta.url));
