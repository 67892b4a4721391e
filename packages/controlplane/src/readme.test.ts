// The example of README.md, verbatim: tsc type-checks it, and the last test checks that the
// README still shows this code.
import { ControlPlane } from '@bindery/controlplane';

/** Starts a control plane, creates a namespace in it, and stops it again. */
export async function withNamespace(name: string): Promise<void> {
  await using controlPlane = new ControlPlane(); // stopped when the block ends
  await controlPlane.start();
  const client = controlPlane.client(); // a KubeClient as cluster admin
  await client.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  await controlPlane.writeKubeconfig('.bindery/kubeconfig'); // for kubectl, while it runs
}

import { it } from 'node:test';
import { assertReadmeShowsExample } from './readme-example.ts';

it('README.md shows the example of this file verbatim', () => assertReadmeShowsExample(import.meta.url));
