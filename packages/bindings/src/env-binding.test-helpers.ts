// A small binding for the package's own tests: `EnvBinding` sets `BOUND_BY=<binding>` in
// every container of its subjects.

import type { KubeObject } from '@bindery/kube';
import { parseSubject } from './bindable.ts';
import type { BindableFactory } from './bindable.ts';

export const envBindingType = { apiVersion: 'test.bindery.dev/v1', kind: 'EnvBinding' };

export interface EnvBinding extends KubeObject {
  spec: { subject: unknown };
}

export const envBinding: BindableFactory<EnvBinding> = (binding) => {
  const subject = parseSubject(binding, binding.spec.subject);
  const value = binding.metadata.name ?? '';
  return {
    binding,
    subject,
    do(_ctx, ps) {
      for (const c of ps.spec.template.spec.containers ?? []) {
        if (c.image === 'refuse') throw new Error(`container ${c.name} refuses bindings`);
        const env = (c.env ??= []);
        const existing = env.find((e) => e.name === 'BOUND_BY');
        if (existing) existing.value = value;
        else env.push({ name: 'BOUND_BY', value });
      }
    },
    undo(_ctx, ps) {
      for (const c of ps.spec.template.spec.containers ?? []) {
        if (!c.env) continue;
        c.env = c.env.filter((e) => e.name !== 'BOUND_BY');
        if (c.env.length === 0) delete c.env;
      }
    },
  };
};

export const newEnvBinding = (subject: unknown, meta: Partial<KubeObject['metadata']> = {}): EnvBinding => ({
  ...envBindingType,
  metadata: {
    namespace: 'default',
    name: 'env',
    uid: 'env-uid',
    generation: 1,
    resourceVersion: '5',
    ...meta,
  },
  spec: { subject },
});

export const workload = (
  kind: string,
  name: string,
  labels: Record<string, string> = {},
  env?: Array<{ name: string; value: string }>,
): KubeObject => {
  const template = {
    metadata: { labels },
    spec: { containers: [{ name: 'app', image: 'app', ...(env ? { env } : {}) }] },
  };
  const apiVersion =
    kind === 'Job' || kind === 'CronJob' ? 'batch/v1' : kind === 'Widget' ? 'example.com/v1' : 'apps/v1';
  return {
    apiVersion,
    kind,
    metadata: { namespace: 'default', name, resourceVersion: '10', labels },
    spec: kind === 'CronJob' ? { schedule: '@daily', jobTemplate: { spec: { template } } } : { template },
  };
};
