// The production artifact: `npm pack` of every package in productionPackages (compiled by pack.ts),
// installed together in an empty directory without development dependencies, then `bindery --help`,
// `bindery broker` and `bindery manager` against a real control plane from there.

import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { ControlPlane, eventually, skipE2E } from '@bindery/controlplane';
import { clusterWorkloadResourceMappingCRD, serviceBindingCRD } from '../apis/index.ts';
import { installNames } from '../install/index.ts';
import { packProduction } from './pack.ts';

const run = promisify(execFile);

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

describe('the packed production artifact', { skip: skipE2E }, () => {
  let dir: string;
  let app: string;
  let bin: string;
  const controlPlane = new ControlPlane();
  let kubeconfig: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bindery-pack-e2e-'));
    app = join(dir, 'app');
    bin = join(app, 'node_modules', '.bin', 'bindery');
    const [packed] = await Promise.all([
      packProduction({ outDir: join(dir, 'tarballs') }),
      (async () => {
        await controlPlane.start();
        await controlPlane.installCRDs([serviceBindingCRD(), clusterWorkloadResourceMappingCRD()]);
      })(),
    ]);
    await run('mkdir', ['-p', app]);
    await writeFile(join(app, 'package.json'), '{ "name": "app", "private": true }\n');
    // All the tarballs at once: their @bindery/* dependencies resolve to each other, and the rest
    // comes from the npm cache (or the registry when the cache lacks it).
    await run(
      'npm',
      [
        'install',
        '--omit=dev',
        '--no-audit',
        '--no-fund',
        '--prefer-offline',
        ...packed.map((p) => p.tarball),
      ],
      { cwd: app },
    );
    kubeconfig = join(dir, 'kubeconfig');
    await controlPlane.writeKubeconfig(kubeconfig);
  });

  after(async () => {
    await controlPlane.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('installs compiled JavaScript without the development packages', () => {
    assert.ok(existsSync(join(app, 'node_modules', '@bindery', 'servicebinding', 'dist', 'cli.js')));
    assert.ok(!existsSync(join(app, 'node_modules', '@bindery', 'servicebinding', 'src')));
    assert.ok(!existsSync(join(app, 'node_modules', '@bindery', 'controlplane')), 'no dev dependency');
    assert.ok(!existsSync(join(app, 'node_modules', 'typescript')));
  });

  it('runs bindery --help, and says what dev mode needs', async () => {
    const { stdout } = await run(bin, ['--help'], { cwd: app });
    assert.match(stdout, /^Usage: bindery <command>/);
    const dev = await run(bin, ['dev'], { cwd: app }).then(
      () => assert.fail('dev ran without @bindery/controlplane'),
      (err: { code?: number; stderr?: string }) => err,
    );
    assert.equal(dev.code, 1);
    assert.match(dev.stderr ?? '', /needs @bindery\/controlplane/);
  });

  it('runs bindery broker (the packed osb-broker) against the control plane, and stops on SIGTERM', async () => {
    const port = await freePort();
    const child = spawn(
      bin,
      ['broker', '--kubeconfig', kubeconfig, '--bind-address', `127.0.0.1:${port}`, '--insecure-no-auth'],
      { cwd: app, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    try {
      await eventually(async () => {
        assert.equal(child.exitCode, null, stderr);
        const res = await fetch(`http://127.0.0.1:${port}/v2/catalog`, {
          headers: { 'x-broker-api-version': '2.17' },
        });
        assert.equal(res.status, 200);
      }, 60_000);
      child.kill('SIGTERM');
      assert.equal(await exited(child), 0, stderr);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });

  it('runs bindery manager against the control plane until it is ready, and stops on SIGTERM', async () => {
    const [webhookPort, healthPort] = [await freePort(), await freePort()];
    const child = spawn(
      bin,
      [
        'manager',
        '--kubeconfig',
        kubeconfig,
        '--self-signed',
        '--webhook-host',
        '127.0.0.1',
        '--webhook-port',
        String(webhookPort),
        '--webhook-url',
        `https://127.0.0.1:${webhookPort}`,
        '--metrics-bind-address',
        '127.0.0.1:0',
        '--health-probe-bind-address',
        `127.0.0.1:${healthPort}`,
        '--log-level',
        'warn',
      ],
      { cwd: app, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    try {
      await eventually(async () => {
        assert.equal(child.exitCode, null, `the manager exited:\n${output}`);
        const res = await fetch(`http://127.0.0.1:${healthPort}/readyz`);
        assert.equal(res.status, 200, await res.text());
      }, 60_000);
      // The API server reaches its webhooks: the validation webhook fails closed, so a dry-run
      // create passes only through the manager's answer.
      await eventually(async () => {
        await controlPlane.client().get({
          apiVersion: 'admissionregistration.k8s.io/v1',
          kind: 'ValidatingWebhookConfiguration',
          name: installNames.validationConfiguration,
        });
        await controlPlane.client().create(
          {
            apiVersion: 'servicebinding.io/v1',
            kind: 'ServiceBinding',
            metadata: { name: 'pack', namespace: 'default' },
            spec: {
              service: { apiVersion: 'v1', kind: 'Secret', name: 'db' },
              workload: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'app' },
            },
          },
          { dryRun: true },
        );
      }, 30_000);
      child.kill('SIGTERM');
      const code = await Promise.race([exited(child), sleep(60_000, 'timeout' as const, { ref: false })]);
      assert.equal(code, 0, output.slice(-4000));
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
