import type { KubeObject } from '@bindery/kube';
import { subReconcilerTests } from '../testing/index.ts';
import { CastResource } from './cast-resource.ts';
import { SyncReconciler } from './sync-reconciler.ts';

interface Container {
  name: string;
  image?: string;
  env?: Array<{ name: string; value: string }>;
  [field: string]: unknown;
}

interface Deployment extends KubeObject {
  spec: { replicas?: number; template: { spec: { containers: Container[] } } };
}

/** The PodSpec-able duck: only what a binding touches. */
interface PodSpecable extends KubeObject {
  spec: { template: { spec: { containers: Array<{ name: string; env?: Container['env'] }> } } };
}

function deployment(containers: Container[]): Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { namespace: 'ns', name: 'web' },
    spec: { replicas: 3, template: { spec: { containers } } },
  };
}

const toDuck = (d: Deployment): PodSpecable => ({
  apiVersion: d.apiVersion ?? 'apps/v1',
  kind: d.kind ?? 'Deployment',
  metadata: d.metadata,
  spec: {
    template: {
      spec: {
        containers: d.spec.template.spec.containers.map((c) => ({
          name: c.name,
          ...(c.env ? { env: c.env } : {}),
        })),
      },
    },
  },
});

const injectEnv = (fail?: string): SyncReconciler<PodSpecable> =>
  new SyncReconciler<PodSpecable>({
    name: 'InjectEnv',
    sync: (_ctx, duck) => {
      for (const c of duck.spec.template.spec.containers) {
        c.env = [...(c.env ?? []).filter((e) => e.name !== 'BOUND'), { name: 'BOUND', value: 'yes' }];
      }
      if (fail) throw new Error(fail);
    },
  });

subReconcilerTests<Deployment>('CastResource', {
  reconciler: () => new CastResource<Deployment, PodSpecable>({ cast: toDuck, reconciler: injectEnv() }),
  rows: {
    'changes to the view land on the resource; fields outside the view are kept': {
      resource: deployment([
        { name: 'app', image: 'app:1', ports: [{ containerPort: 8080 }] },
        { name: 'sidecar', image: 'proxy:2', env: [{ name: 'LEVEL', value: 'debug' }] },
      ]),
      expectResource: deployment([
        {
          name: 'app',
          image: 'app:1',
          ports: [{ containerPort: 8080 }],
          env: [{ name: 'BOUND', value: 'yes' }],
        },
        {
          name: 'sidecar',
          image: 'proxy:2',
          env: [
            { name: 'LEVEL', value: 'debug' },
            { name: 'BOUND', value: 'yes' },
          ],
        },
      ]),
    },
    'no change in the view: the resource is untouched': {
      resource: deployment([{ name: 'app', image: 'app:1', env: [{ name: 'BOUND', value: 'yes' }] }]),
    },
  },
});

subReconcilerTests<Deployment>('CastResource failing', {
  reconciler: () =>
    new CastResource<Deployment, PodSpecable>({ cast: toDuck, reconciler: injectEnv('nested failed') }),
  rows: {
    'the error propagates; changes made before it are kept': {
      resource: deployment([{ name: 'app', image: 'app:1' }]),
      expectResource: deployment([{ name: 'app', image: 'app:1', env: [{ name: 'BOUND', value: 'yes' }] }]),
      shouldErr: /^nested failed$/,
    },
  },
});

subReconcilerTests<Deployment>('CastResource with a view that reshapes', {
  reconciler: () =>
    new CastResource<Deployment, PodSpecable>({
      name: 'Reshaping',
      // Wrong: a view must keep the resource's paths.
      cast: (d) => ({
        ...toDuck(d),
        spec: { template: { spec: { containers: [] } } },
        extra: { containers: [] },
      }),
      reconciler: new SyncReconciler<PodSpecable>({
        name: 'Edit',
        sync: (_ctx, duck) => {
          (duck['extra'] as { containers: unknown[] }).containers.push({ name: 'x' });
          duck.spec.template.spec.containers.push({ name: 'y' });
          delete (duck as { spec?: unknown }).spec;
        },
      }),
    }),
  rows: {
    'a change that cannot be copied back is an error naming the cast': {
      resource: deployment([{ name: 'app', image: 'app:1' }]),
      shouldErr: /Reshaping: cannot copy the view's changes back onto Deployment ns\/web/,
    },
  },
});

subReconcilerTests<Deployment>('CastResource by default', {
  reconciler: () =>
    new CastResource<Deployment, Deployment>({
      reconciler: new SyncReconciler<Deployment>({
        name: 'Scale',
        sync: (_ctx, d) => {
          d.spec.replicas = 5;
        },
      }),
    }),
  rows: {
    'without cast the view is a copy': {
      resource: deployment([{ name: 'app' }]),
      expectResource: {
        ...deployment([{ name: 'app' }]),
        spec: { replicas: 5, template: { spec: { containers: [{ name: 'app' }] } } },
      },
    },
  },
});
