// `bindery broker` as a process against a real control plane: it serves the sample broker with basic
// auth, stops on SIGTERM, and a new process answers for the instances the first one provisioned.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ControlPlane, eventually, skipE2E } from '@bindery/controlplane';
import { sampleIds } from '@bindery/osb-broker';

const cli = new URL('../cli.ts', import.meta.url).pathname;
const auth = `Basic ${Buffer.from('platform:e2e-password').toString('base64')}`;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('bindery broker', { skip: skipE2E }, () => {
  const controlPlane = new ControlPlane();
  let dir: string;
  let kubeconfig: string;
  const children: ChildProcess[] = [];

  before(
    async () => {
      dir = await mkdtemp(join(tmpdir(), 'bindery-broker-e2e-'));
      kubeconfig = join(dir, 'kubeconfig');
      await controlPlane.start();
      await controlPlane.writeKubeconfig(kubeconfig);
    },
    { timeout: 30 * 60_000 },
  );

  after(async () => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    await controlPlane.stop();
    await rm(dir, { recursive: true, force: true });
  });

  async function startBroker(
    port: number,
  ): Promise<{ child: ChildProcess; url: string; stderr: () => string }> {
    const child = spawn(
      process.execPath,
      [
        cli,
        'broker',
        '--kubeconfig',
        kubeconfig,
        '--bind-address',
        `127.0.0.1:${port}`,
        '--async-delay',
        '60000',
      ],
      {
        env: { ...process.env, BINDERY_BROKER_USERNAME: 'platform', BINDERY_BROKER_PASSWORD: 'e2e-password' },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    children.push(child);
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const url = `http://127.0.0.1:${port}`;
    await eventually(async () => {
      assert.equal(child.exitCode, null, stderr);
      assert.equal((await fetch(`${url}/healthz`)).status, 200);
    }, 60_000);
    return { child, url, stderr: () => stderr };
  }

  const osb = (url: string, method: string, path: string, body?: unknown): Promise<Response> =>
    fetch(`${url}${path}`, {
      method,
      headers: { authorization: auth, 'x-broker-api-version': '2.17', 'content-type': 'application/json' },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });

  it('serves the sample broker, stops on SIGTERM, and a new process carries on', async () => {
    const port = await freePort();
    const first = await startBroker(port);
    // The log line may reach the pipe after /healthz already answers.
    await eventually(() => assert.match(first.stderr(), /serving OSB 2\.17 at http:\/\/127\.0\.0\.1:\d+ /));
    assert.equal(
      (await fetch(`${first.url}/v2/catalog`, { headers: { 'x-broker-api-version': '2.17' } })).status,
      401,
    );
    const body = {
      service_id: sampleIds.database,
      plan_id: sampleIds.databaseLarge,
      organization_guid: 'o',
      space_guid: 's',
    };
    const accepted = await osb(first.url, 'PUT', '/v2/service_instances/cli-1?accepts_incomplete=true', body);
    assert.equal(accepted.status, 202);
    const { operation } = (await accepted.json()) as { operation: string };

    first.child.kill('SIGTERM');
    const code = await new Promise((resolve) => first.child.once('exit', resolve));
    assert.equal(code, 0, first.stderr());

    const second = await startBroker(port);
    const polled = await osb(
      second.url,
      'GET',
      `/v2/service_instances/cli-1/last_operation?operation=${operation}`,
    );
    assert.equal(polled.status, 200);
    assert.equal(((await polled.json()) as { state: string }).state, 'in progress');
    const again = await osb(second.url, 'PUT', '/v2/service_instances/cli-1?accepts_incomplete=true', body);
    assert.equal(again.status, 202);
    assert.equal(((await again.json()) as { operation: string }).operation, operation);
    second.child.kill('SIGTERM');
    assert.equal(await new Promise((resolve) => second.child.once('exit', resolve)), 0);
  });
});
