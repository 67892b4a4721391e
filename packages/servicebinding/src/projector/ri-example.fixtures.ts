// Fixtures shared by the projector's tests: the RI's worked example (checklist §4.9).

import type { JsonObject, ServiceBindingLike } from './types.ts';

export const UID = '26894874-4719-4802-8f43-8ceed127b4c2';
export const VOLUME = `servicebinding-${UID}`;
export const SECRET = 'my-secret';

/** The RI's stash of the PodSpec-able mapping (checklist §4.3), byte for byte. */
export const PODSPECABLE_STASH =
  '{"versions":[{"version":"*","annotations":".spec.template.metadata.annotations","containers":[{"path":".spec.template.spec.initContainers[*]","name":".name","env":".env","volumeMounts":".volumeMounts"},{"path":".spec.template.spec.containers[*]","name":".name","env":".env","volumeMounts":".volumeMounts"}],"volumes":".spec.template.spec.volumes"}]}';

export function binding(spec: NonNullable<ServiceBindingLike['spec']> = {}, uid = UID): ServiceBindingLike {
  return { metadata: { name: 'my-sb', uid }, spec: { name: 'my-binding', ...spec } };
}

/** The §4.9 input: two init containers, `hello` with a custom root, `hello-2`. */
export function deployment(): JsonObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'my-workload', namespace: 'default' },
    spec: {
      template: {
        spec: {
          initContainers: [{ name: 'init-hello' }, { name: 'init-hello-2' }],
          containers: [
            { name: 'hello', env: [{ name: 'SERVICE_BINDING_ROOT', value: '/custom/path' }] },
            { name: 'hello-2' },
          ],
        },
      },
    },
  };
}

export const mount = (root: string): JsonObject => ({
  name: VOLUME,
  readOnly: true,
  mountPath: `${root}/my-binding`,
});
export const rootEnv = (value = '/bindings'): JsonObject => ({ name: 'SERVICE_BINDING_ROOT', value });
