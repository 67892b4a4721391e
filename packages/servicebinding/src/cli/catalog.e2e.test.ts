// `bindery catalog` against a real API server: the classes and plans a broker controller made, as a
// table and as JSON, cluster-wide and with a namespace's ServiceClasses.

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ControlPlane, skipE2E } from '@bindery/controlplane';
import type { KubeObject } from '@bindery/kube';
import { apiVersion, osbCRDs } from '@bindery/osb';
import { main } from './main.ts';

const object = (
  kind: string,
  name: string,
  spec: Record<string, unknown>,
  namespace?: string,
): KubeObject => ({
  apiVersion,
  kind,
  metadata: { name, ...(namespace !== undefined && { namespace }) },
  spec,
});

describe('bindery catalog', { skip: skipE2E }, () => {
  const controlPlane = new ControlPlane();
  let dir: string;
  let kubeconfig: string;

  before(
    async () => {
      await controlPlane.start();
      dir = await mkdtemp(join(tmpdir(), 'bindery-catalog-'));
      kubeconfig = join(dir, 'kubeconfig');
      await controlPlane.writeKubeconfig(kubeconfig);
      await controlPlane.installCRDs(osbCRDs());
      const client = controlPlane.client();
      await client.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-a' } });
      const cluster = { clusterServiceBrokerName: 'acme' };
      await client.create(
        object('ClusterServiceClass', 'svc-db', {
          ...cluster,
          externalName: 'db',
          externalID: 'svc-db',
          description: 'PostgreSQL',
        }),
      );
      for (const [name, free] of [
        ['small', true],
        ['large', false],
      ] as const) {
        await client.create(
          object('ClusterServicePlan', `db-${name}`, {
            ...cluster,
            externalName: name,
            externalID: `db-${name}`,
            free,
            clusterServiceClassRef: { name: 'svc-db' },
          }),
        );
      }
      const local = { serviceBrokerName: 'local' };
      await client.create(
        object(
          'ServiceClass',
          'svc-cache',
          { ...local, externalName: 'cache', externalID: 'svc-cache', description: 'Redis' },
          'team-a',
        ),
      );
      await client.create(
        object(
          'ServicePlan',
          'cache-s',
          { ...local, externalName: 's', externalID: 'cache-s', serviceClassRef: { name: 'svc-cache' } },
          'team-a',
        ),
      );
    },
    { timeout: 30 * 60_000 },
  );

  after(async () => {
    await controlPlane.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const run = async (argv: string[]) => {
    let stdout = '';
    let stderr = '';
    const code = await main(argv, {
      stdout: (t) => (stdout += t),
      stderr: (t) => (stderr += t),
      signal: new AbortController().signal,
    });
    return { code, stdout, stderr };
  };

  it('lists the cluster classes and their plans as a table', async () => {
    const { code, stdout, stderr } = await run(['catalog', '--kubeconfig', kubeconfig]);
    assert.equal(code, 0, stderr);
    assert.equal(
      stdout,
      ['CLASS   PLANS          BROKER   DESCRIPTION', 'db      large, small   acme     PostgreSQL', ''].join(
        '\n',
      ),
    );
  });

  it('adds the ServiceClasses of a namespace, and prints JSON', async () => {
    const table = await run(['catalog', '--kubeconfig', kubeconfig, '-n', 'team-a']);
    assert.match(
      table.stdout,
      /^NAMESPACE\s+CLASS\s+PLANS\s+BROKER\s+DESCRIPTION\nteam-a\s+cache\s+s\s+local\s+Redis\n\s+db\s+large, small/,
    );
    const json = await run(['catalog', '--kubeconfig', kubeconfig, '-A', '-o', 'json']);
    const parsed = JSON.parse(json.stdout) as Array<{
      externalName: string;
      plans: Array<{ externalName: string; free: boolean }>;
    }>;
    assert.deepEqual(
      parsed.map((c) => [c.externalName, c.plans.map((p) => `${p.externalName}:${p.free}`)]),
      [
        ['cache', ['s:true']],
        ['db', ['large:false', 'small:true']],
      ],
    );
  });
});
