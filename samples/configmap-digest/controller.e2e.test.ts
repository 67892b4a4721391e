// The digest controller against a real kube-apiserver and etcd: in-process under a
// Manager, then as the `main.ts` a user runs.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ControlPlane, eventually, skipE2E } from '@bindery/controlplane';
import { KubeClient } from '@bindery/kube';
import type { KubeObject } from '@bindery/kube';
import { Manager } from '@bindery/runtime';
import { pino } from 'pino';
import { configMapType, digestAnnotation, digestController, digestLabel, digestOf } from './controller.ts';
import type { ConfigMap } from './controller.ts';

const ns = 'configmap-digest-e2e';

interface EventsV1Event extends KubeObject {
  regarding?: { kind?: string; name?: string };
  reason?: string;
  note?: string;
  type?: string;
}

describe('configmap-digest against a real API server', { skip: skipE2E }, () => {
  let cp: ControlPlane;
  let admin: KubeClient;

  before(
    async () => {
      cp = new ControlPlane();
      await cp.start();
      admin = new KubeClient({ kubeConfig: cp.kubeConfig() });
      await admin.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
    },
    { timeout: 30 * 60_000 }, // the first run builds the binaries
  );

  after(async () => {
    await admin?.close();
    await cp?.stop();
  });

  const get = (name: string): Promise<ConfigMap> =>
    admin.get<ConfigMap>({ ...configMapType, namespace: ns, name });

  const annotationOf = async (name: string): Promise<string | undefined> =>
    (await get(name)).metadata.annotations?.[digestAnnotation];

  async function eventsFor(name: string): Promise<EventsV1Event[]> {
    const list = await admin.list<EventsV1Event>(
      { apiVersion: 'events.k8s.io/v1', kind: 'Event' },
      { namespace: ns },
    );
    return list.items.filter((e) => e.regarding?.kind === 'ConfigMap' && e.regarding.name === name);
  }

  it('writes the digest, follows data changes, and removes it when the label goes', async () => {
    const manager = new Manager({
      client: new KubeClient({ kubeConfig: cp.kubeConfig() }),
      name: 'configmap-digest',
      log: pino({ level: 'silent' }),
      metrics: false,
      health: false,
    });
    manager.add(digestController());
    const stop = new AbortController();
    const running = manager.start(stop.signal);
    try {
      await admin.create<ConfigMap>({
        ...configMapType,
        metadata: { namespace: ns, name: 'settings', labels: { [digestLabel]: 'true' } },
        data: { mode: 'fast', retries: '3' },
      });
      await admin.create<ConfigMap>({
        ...configMapType,
        metadata: { namespace: ns, name: 'unlabelled' },
        data: { mode: 'fast' },
      });

      const first = digestOf({ metadata: {}, data: { mode: 'fast', retries: '3' } });
      await eventually(async () => assert.equal(await annotationOf('settings'), first));
      await eventually(async () => {
        const events = await eventsFor('settings');
        assert.ok(
          events.some((e) => e.reason === 'DigestUpdated' && e.type === 'Normal' && e.note?.includes(first)),
          `events: ${JSON.stringify(events.map((e) => [e.reason, e.note]))}`,
        );
      });

      // Change the data: the digest follows.
      await admin.patch(
        { ...configMapType, namespace: ns, name: 'settings' },
        { data: { mode: 'slow' } },
        { type: 'merge' },
      );
      const second = digestOf({ metadata: {}, data: { mode: 'slow', retries: '3' } });
      assert.notEqual(second, first);
      await eventually(async () => assert.equal(await annotationOf('settings'), second));

      // Opt out: the annotation goes, the data stays.
      await admin.patch(
        { ...configMapType, namespace: ns, name: 'settings' },
        { metadata: { labels: { [digestLabel]: null } } },
        { type: 'merge' },
      );
      await eventually(async () => assert.equal(await annotationOf('settings'), undefined));
      assert.deepEqual((await get('settings')).data, { mode: 'slow', retries: '3' });

      // Everything above was reconciled after `unlabelled` was created: it was seen, and left alone.
      assert.equal(await annotationOf('unlabelled'), undefined);
      assert.deepEqual(await eventsFor('unlabelled'), []);
    } finally {
      stop.abort();
      await running;
    }
  });

  it('runs as `node samples/configmap-digest/main.ts` and stops cleanly on SIGTERM', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'configmap-digest-'));
    const kubeconfig = join(dir, 'kubeconfig');
    await cp.writeKubeconfig(kubeconfig);
    const child = spawn(
      process.execPath,
      [
        join(import.meta.dirname, 'main.ts'),
        '--metrics-bind-address',
        '127.0.0.1:0',
        '--health-probe-bind-address',
        '0',
      ],
      { env: { ...process.env, KUBECONFIG: kubeconfig }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
    try {
      await admin.create<ConfigMap>({
        ...configMapType,
        metadata: { namespace: ns, name: 'from-main', labels: { [digestLabel]: 'true' } },
        data: { greeting: 'hello' },
      });
      const digest = digestOf({ metadata: {}, data: { greeting: 'hello' } });
      await eventually(async () => assert.equal(await annotationOf('from-main'), digest, output), 60_000);

      child.kill('SIGTERM');
      const [code, signal] = await exited;
      assert.equal(signal, null, output);
      assert.equal(code, 0, output);
      assert.match(output, /"msg":"manager stopped"/);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await rm(dir, { recursive: true, force: true });
    }
  });
});
