// The example of README.md, verbatim: tsc type-checks it, and the last test checks that the
// README still shows this code.
import { project } from '@bindery/servicebinding';

const binding = { metadata: { name: 'db', uid: '8b3f7c1e-0d2a-4c55-9a61-2f0e6c9d1b7a' } };
const deployment = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web' },
  spec: { template: { spec: { containers: [{ name: 'app', image: 'example/app' }] } } },
};
// The Secret `db-credentials` as files in /bindings/db of every container; the input is not changed.
export const bound = project(binding, deployment, undefined, 'db-credentials');

import assert from 'node:assert/strict';
import { it } from 'node:test';
import { assertReadmeShowsExample } from '@bindery/controlplane';

it('the example projects the Secret into every container', () => {
  const container = (bound.spec as { template: { spec: { containers: Array<Record<string, unknown>> } } })
    .template.spec.containers[0];
  assert.deepEqual(container?.['volumeMounts'], [
    {
      name: 'servicebinding-8b3f7c1e-0d2a-4c55-9a61-2f0e6c9d1b7a',
      mountPath: '/bindings/db',
      readOnly: true,
    },
  ]);
  assert.deepEqual(deployment.spec.template.spec.containers[0], { name: 'app', image: 'example/app' });
});

it('README.md shows the example of this file verbatim', () => assertReadmeShowsExample(import.meta.url));
