// `bindery dev --kubeconfig-out FILE` as scripts drive it: spawn it, wait for the file, use the
// cluster through it, SIGTERM it, and check that it exits 0 leaving no process behind.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, globSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { eventually, skipE2E } from '@bindery/controlplane';
import { KubeClient } from '@bindery/kube';
import type { KubeObject } from '@bindery/kube';
import { parseAllDocuments } from 'yaml';
import { workloadDeployment } from '../controllers/e2e-helpers.ts';
import { defaultWebhookConfigurationNames } from '../webhooks/index.ts';

const cli = fileURLToPath(new URL('../cli.ts', import.meta.url));
const repo = fileURLToPath(new URL('../../../../', import.meta.url));
const namespace = 'default';

interface PodTemplateOwner extends KubeObject {
  spec: {
    template: {
      spec: {
        volumes?: Array<{ name: string; projected?: { sources: Array<{ secret?: { name: string } }> } }>;
        containers: Array<{ volumeMounts?: Array<{ name: string; mountPath: string }> }>;
      };
    };
  };
}

interface Binding extends KubeObject {
  status?: { conditions?: Array<{ type: string; status: string; reason?: string }> };
}

/** Every process whose parent chain leads to `root` (Linux /proc), the control plane's included. */
function descendants(root: number): number[] {
  const parents = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    try {
      // The command name may hold spaces and parentheses: the fields after the last ')'.
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parents.set(pid, ppid);
    } catch {
      // gone meanwhile
    }
  }
  const found = new Set<number>([root]);
  for (let grew = true; grew;) {
    grew = false;
    for (const [pid, ppid] of parents) {
      if (!found.has(pid) && found.has(ppid)) {
        found.add(pid);
        grew = true;
      }
    }
  }
  found.delete(root);
  return [...found];
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    // A zombie is dead for our purpose: it only waits for its parent to reap it.
    return !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');
  } catch {
    return false;
  }
}

function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

describe('bindery dev --kubeconfig-out', { skip: skipE2E }, () => {
  let dir: string;
  let child: ChildProcess;
  let output = '';
  let client: KubeClient;
  const kubeconfig = (): string => join(dir, 'nested', 'kubeconfig');

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bindery-dev-e2e-'));
    const args = [cli, 'dev', '--samples', '--kubeconfig-out', kubeconfig(), '--log-level', 'warn'];
    child = spawn(process.execPath, args, {
      cwd: repo,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    // The first run builds kube-apiserver and etcd: allow for it.
    const deadline = Date.now() + 20 * 60_000;
    while (!existsSync(kubeconfig())) {
      if (child.exitCode !== null) assert.fail(`bindery dev exited with ${child.exitCode}:\n${output}`);
      if (Date.now() > deadline) assert.fail(`no kubeconfig after 20 minutes:\n${output}`);
      await sleep(200);
    }
    client = KubeClient.fromKubeConfig({ kubeconfig: kubeconfig() });
  });

  after(async () => {
    await client?.close();
    if (child?.exitCode === null) {
      child.kill('SIGKILL');
      await exited(child);
    }
    await rm(dir, { recursive: true, force: true });
  });

  it('prints how to point kubectl at it, with a complete kubeconfig in place', async () => {
    // Printed right after the kubeconfig is renamed into place: the pipe may bring it a moment later.
    await eventually(() =>
      assert.match(output, new RegExp(`export KUBECONFIG=${kubeconfig().replaceAll('.', '\\.')}`)),
    );
    assert.match(readFileSync(kubeconfig(), 'utf8'), /client-key-data:/);
    // Written through a rename: no temporary file is left next to it.
    assert.deepEqual(readdirSync(join(dir, 'nested')), ['kubeconfig']);
  });

  it('--samples: every ServiceBinding of samples/servicebinding becomes Ready', async () => {
    const names = globSync('samples/servicebinding/**/*.yaml', { cwd: repo })
      .flatMap((file) => parseAllDocuments(readFileSync(join(repo, file), 'utf8')))
      .map((doc) => doc.toJS() as Binding | null)
      .filter((obj) => obj?.kind === 'ServiceBinding')
      .map((obj) => obj?.metadata.name ?? '');
    assert.ok(names.length >= 7, `sample bindings: ${names.join(', ')}`);
    for (const name of names) {
      await eventually(async () => {
        const b = await client.get<Binding>({
          apiVersion: 'servicebinding.io/v1',
          kind: 'ServiceBinding',
          namespace,
          name,
        });
        const ready = b.status?.conditions?.find((c) => c.type === 'Ready');
        assert.equal(ready?.status, 'True', `${name}: ${JSON.stringify(b.status)}`);
      }, 120_000);
    }
  });

  it('--samples: the OSB path (broker, instance, credential binding, ServiceBinding into a Deployment) all Ready', async () => {
    const osb = 'osb.bindery.dev/v1alpha1';
    const readyObject = (apiVersion: string, kind: string, name: string, ns?: string): Promise<KubeObject> =>
      eventually(async () => {
        const obj = await client.get<Binding>({ apiVersion, kind, name, ...(ns ? { namespace: ns } : {}) });
        const ready = obj.status?.conditions?.find((c) => c.type === 'Ready');
        assert.equal(ready?.status, 'True', `${kind} ${name}: ${JSON.stringify(obj.status)}`);
        return obj;
      }, 120_000);
    await readyObject(osb, 'ClusterServiceBroker', 'sample');
    await readyObject(osb, 'ServiceInstance', 'osb-orders-db', namespace);
    const credentials = await readyObject(osb, 'ServiceCredentialBinding', 'osb-orders-db', namespace);
    const secretName = (credentials['status'] as { binding?: { name?: string } }).binding?.name ?? '';
    assert.ok(secretName, JSON.stringify(credentials['status']));
    await readyObject('servicebinding.io/v1', 'ServiceBinding', 'osb-orders-db', namespace);
    const web = await client.get({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      namespace,
      name: 'osb-orders',
    });
    const volumes =
      (
        web['spec'] as {
          template: { spec: { volumes?: { projected?: { sources: { secret?: { name: string } }[] } }[] } };
        }
      ).template.spec.volumes ?? [];
    assert.ok(
      volumes.some((v) => v.projected?.sources.some((src) => src.secret?.name === secretName)),
      `the Deployment projects ${secretName}: ${JSON.stringify(volumes)}`,
    );
    assert.match(output, /OSB broker {2}http:\/\/127\.0\.0\.1:\d+/);
  });

  it('binds a Deployment to a Secret, and projects one created after the binding at admission', async () => {
    const suffix = Math.random().toString(36).slice(2, 8);
    const secret = `db-${suffix}`;
    const deployment = (name: string): PodTemplateOwner =>
      workloadDeployment(namespace, name) as PodTemplateOwner;
    const binding = (name: string, workload: string): Binding => ({
      apiVersion: 'servicebinding.io/v1',
      kind: 'ServiceBinding',
      metadata: { name, namespace },
      spec: {
        service: { apiVersion: 'v1', kind: 'Secret', name: secret },
        workload: { apiVersion: 'apps/v1', kind: 'Deployment', name: workload },
      },
    });
    const projected = (d: PodTemplateOwner, uid: string): boolean =>
      d.spec.template.spec.volumes?.some(
        (v) =>
          v.name === `servicebinding-${uid}` && v.projected?.sources.some((s) => s.secret?.name === secret),
      ) ?? false;

    await client.create({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: secret, namespace },
      stringData: { type: 'mysql', host: 'db.example.com', password: 'not-a-secret' },
    });
    await client.create(deployment(`before-${suffix}`));
    const first = await client.create(binding(`before-${suffix}`, `before-${suffix}`));

    // The controller projects the existing Deployment and marks the binding Ready.
    await eventually(async () => {
      const d = await client.get<PodTemplateOwner>({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        namespace,
        name: `before-${suffix}`,
      });
      assert.ok(projected(d, first.metadata.uid ?? ''), 'the Deployment has the binding volume');
      const b = await client.get<Binding>({
        apiVersion: 'servicebinding.io/v1',
        kind: 'ServiceBinding',
        namespace,
        name: `before-${suffix}`,
      });
      const ready = b.status?.conditions?.find((c) => c.type === 'Ready');
      assert.equal(ready?.status, 'True', JSON.stringify(b.status));
    }, 60_000);

    // A binding whose Deployment does not exist yet; once the interceptor's rules cover
    // Deployments, the create itself returns the projected object.
    const second = await client.create(binding(`after-${suffix}`, `after-${suffix}`));
    await eventually(async () => {
      const config = await client.get<
        KubeObject & { webhooks?: Array<{ rules?: Array<{ resources?: string[] }> }> }
      >({
        apiVersion: 'admissionregistration.k8s.io/v1',
        kind: 'MutatingWebhookConfiguration',
        name: defaultWebhookConfigurationNames.interceptor,
      });
      const resources = config.webhooks?.flatMap((w) => w.rules ?? []).flatMap((r) => r.resources ?? []);
      assert.ok(resources?.includes('deployments'), `interceptor rules: ${JSON.stringify(config.webhooks)}`);
    }, 60_000);
    // The controller has seen the binding (it reports the missing workload), so the interceptor's
    // index, fed by the same informer, has it too.
    await eventually(async () => {
      const b = await client.get<Binding>({
        apiVersion: 'servicebinding.io/v1',
        kind: 'ServiceBinding',
        namespace,
        name: `after-${suffix}`,
      });
      assert.ok(
        b.status?.conditions?.some((c) => c.type === 'Ready'),
        JSON.stringify(b.status),
      );
    }, 60_000);
    const created = await client.create(deployment(`after-${suffix}`));
    assert.ok(
      projected(created, second.metadata.uid ?? ''),
      'projected at admission, in the create response',
    );
  });

  it('stops on SIGTERM: exit 0, the control plane gone, the kubeconfig removed', async () => {
    const pid = child.pid ?? assert.fail('no pid');
    const spawned = descendants(pid);
    assert.ok(spawned.length >= 2, `kube-apiserver and etcd run under bindery dev: ${spawned.join(', ')}`);
    await client.close();
    child.kill('SIGTERM');
    const code = await Promise.race([exited(child), sleep(90_000, 'timeout' as const, { ref: false })]);
    assert.equal(code, 0, output.slice(-4000));
    await eventually(() => assert.deepEqual(spawned.filter(alive), [], 'no process left'), 10_000);
    assert.equal(existsSync(kubeconfig()), false);
  });
});
