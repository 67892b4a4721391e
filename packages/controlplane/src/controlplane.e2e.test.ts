import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { KubeClient, KubeConfig, StatusError } from '@bindery/kube';
import type { KubeObject } from '@bindery/kube';
import { ControlPlane } from './controlplane.ts';
import { eventually, skipE2E } from './e2e.ts';
import { rawRequest } from './http.ts';
import { waitForRules } from './rbac.ts';

// BINDERY_SKIP_E2E is opt-out only: without it, missing binaries fail these tests rather than skip them.

/** Whether any process is left in a process group. */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('ControlPlane on the real kube-apiserver and etcd', { skip: skipE2E }, () => {
  // PodTemplates bypass the watch cache, so their watches read etcd and see its compaction.
  const cp = new ControlPlane({ apiServerFlags: { 'watch-cache-sizes': 'podtemplates#0' } });
  let client: KubeClient;

  before(
    async () => {
      await cp.start();
      client = cp.client();
    },
    { timeout: 30 * 60_000 },
  ); // the first run builds the binaries

  after(async () => {
    await cp.stop();
  });

  it('serves /healthz and /readyz', async () => {
    for (const path of ['/healthz', '/readyz']) {
      const res = await cp.request(path);
      assert.equal(res.status, 200);
      assert.equal(res.body, 'ok');
    }
  });

  it('gives the admin kubeconfig full access', async () => {
    const kc = KubeConfig.fromString(cp.kubeconfig());
    assert.equal(kc.getCurrentCluster()?.server, cp.server);
    assert.match(cp.server, /^https:\/\/127\.0\.0\.1:\d+$/);

    const dir = await mkdtemp(join(tmpdir(), 'bindery-kubeconfig-'));
    try {
      await cp.writeKubeconfig(join(dir, 'nested', 'kubeconfig'));
      assert.equal(await readFile(join(dir, 'nested', 'kubeconfig'), 'utf8'), cp.kubeconfig());
    } finally {
      await rm(dir, { recursive: true });
    }

    const namespaces = await client.list({ apiVersion: 'v1', kind: 'Namespace' });
    const names = namespaces.items.map((ns) => ns.metadata.name);
    for (const name of ['default', 'kube-system', 'kube-public'])
      assert.ok(names.includes(name), names.join());
  });

  it('mints users whose groups come from the certificate and who have no permissions', async () => {
    const user = await cp.addUser({ name: 'alice', groups: ['no-rbac', 'testers'] });
    assert.ok(existsSync(user.kubeconfigPath));
    const kc = KubeConfig.fromString(user.kubeconfig);
    const alice = new KubeClient({ kubeConfig: kc });
    try {
      // Every authenticated user may ask who they are.
      const review = await alice.request<{ status: { userInfo: { username: string; groups: string[] } } }>({
        method: 'POST',
        path: '/apis/authentication.k8s.io/v1/selfsubjectreviews',
        body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' },
      });
      assert.equal(review.status.userInfo.username, 'alice');
      assert.deepEqual(review.status.userInfo.groups, ['no-rbac', 'testers', 'system:authenticated']);

      const err = await alice.list({ apiVersion: 'v1', kind: 'Namespace' }).catch((e: unknown) => e);
      assert.ok(err instanceof StatusError, String(err));
      assert.equal(err.code, 403);
      assert.match(err.message, /User "alice" cannot list resource "namespaces"/);
    } finally {
      await alice.close();
    }
  });

  it('grants a user cluster-wide rules, in force when addUser returns', async () => {
    const user = await cp.addUser({
      name: 'bob',
      rules: [
        { apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list'] },
        { apiGroups: [''], resources: ['secrets'], resourceNames: ['only-this'], verbs: ['get'] },
      ],
    });
    const bob = KubeClient.fromKubeConfig({ kubeconfig: user.kubeconfigPath });
    try {
      // No retry: the rules are enforced already.
      await bob.list({ apiVersion: 'v1', kind: 'ConfigMap' });
      const err = await bob.list({ apiVersion: 'v1', kind: 'Secret' }).catch((e: unknown) => e);
      assert.ok(err instanceof StatusError, String(err));
      assert.equal(err.code, 403);
      // A rule not granted is reported by name when the wait ends.
      await assert.rejects(
        waitForRules(bob, [{ apiGroups: [''], resources: ['pods'], verbs: ['watch'] }], { timeoutMs: 500 }),
        /watch pods\. is not granted yet/,
      );
    } finally {
      await bob.close();
    }
  });

  it('keeps the data across an API server restart on the same port', async () => {
    const created = await client.create<KubeObject>({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'survivor', namespace: 'default' },
      data: { k: 'v' },
    });
    const server = cp.server;
    const before = cp.pids.kubeApiserver;
    await cp.restartApiServer();
    assert.equal(cp.server, server);
    assert.notEqual(cp.pids.kubeApiserver, before);
    assert.equal(groupAlive(before), false, 'the old API server is gone');
    const read = await client.get({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      namespace: 'default',
      name: 'survivor',
    });
    assert.equal(read.metadata.uid, created.metadata.uid);
    assert.deepEqual(read['data'], { k: 'v' });
  });

  it('compacts etcd so that a watch from an older resourceVersion gets 410 Gone', async () => {
    const ref = { apiVersion: 'v1', kind: 'PodTemplate', namespace: 'default', name: 'old' };
    const created = await client.create<KubeObject>({
      ...ref,
      metadata: { name: ref.name, namespace: ref.namespace },
      template: { spec: { containers: [{ name: 'c', image: 'i:1' }] } },
    });
    const old = created.metadata.resourceVersion ?? '';
    for (const v of ['2', '3']) await client.patch(ref, { metadata: { labels: { v } } }, { type: 'merge' });

    const watch = (): Promise<{ status: number; body: string }> =>
      cp.request(`/api/v1/namespaces/default/podtemplates?watch=1&resourceVersion=${old}&timeoutSeconds=1`);
    const beforeCompaction = await watch();
    assert.equal(beforeCompaction.status, 200);
    assert.doesNotMatch(beforeCompaction.body, /"code":410/);

    const revision = await cp.compactEtcd();
    assert.ok(revision > Number(old));
    // etcd itself no longer has the old revision ...
    const range = await rawRequest({
      url: `${cp.etcdUrl}/v3/kv/range`,
      body: { key: Buffer.from('/registry').toString('base64'), revision: old },
    });
    assert.match(range.body, /compacted/);
    // ... so the API server answers a watch from it with 410, either up front or as the first event.
    const res = await watch();
    if (res.status === 200) {
      const first = JSON.parse(res.body.split('\n')[0] ?? '') as { type: string; object: { code?: number } };
      assert.equal(first.type, 'ERROR', res.body);
      assert.equal(first.object.code, 410, res.body);
    } else {
      assert.equal(res.status, 410, res.body);
    }
  });

  it('installs CRDs and returns once the new kind is served', async () => {
    const [crd] = await cp.installCRDs([
      {
        apiVersion: 'apiextensions.k8s.io/v1',
        kind: 'CustomResourceDefinition',
        metadata: { name: 'gadgets.e2e.bindery.dev' },
        spec: {
          group: 'e2e.bindery.dev',
          scope: 'Namespaced',
          names: { plural: 'gadgets', singular: 'gadget', kind: 'Gadget', listKind: 'GadgetList' },
          versions: [
            {
              name: 'v1',
              served: true,
              storage: true,
              schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
            },
          ],
        },
      },
    ]);
    assert.equal(crd?.metadata.name, 'gadgets.e2e.bindery.dev');
    const gadget = await client.create({
      apiVersion: 'e2e.bindery.dev/v1',
      kind: 'Gadget',
      metadata: { name: 'g', namespace: 'default' },
      size: 3,
    });
    assert.equal(gadget['size'], 3);
  });

  it('registers a webhook that calls a local HTTPS server', async () => {
    const serving = await cp.certificateAuthority.issueServing({ hosts: ['127.0.0.1'] });
    const server: Server = createServer({ cert: serving.cert, key: serving.key }, (req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        const review = JSON.parse(body) as { request: { uid: string } };
        res.setHeader('content-type', 'application/json');
        res.end(
          JSON.stringify({
            apiVersion: 'admission.k8s.io/v1',
            kind: 'AdmissionReview',
            response: {
              uid: review.request.uid,
              allowed: false,
              status: { code: 403, message: 'denied by e2e' },
            },
          }),
        );
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as { port: number };
    try {
      await cp.registerWebhook({
        kind: 'Validating',
        name: 'deny-labelled',
        url: `https://127.0.0.1:${port}/validate`,
        caBundle: cp.caCert,
        rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['configmaps'] }],
        objectSelector: { matchLabels: { deny: 'yes' } },
      });
      let n = 0;
      const cm = (): KubeObject => ({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: `deny-${n++}`, namespace: 'default', labels: { deny: 'yes' } },
      });
      // The API server learns of new configurations through an informer, moments later.
      await eventually(async () => {
        const err = await client.create(cm()).catch((e: unknown) => e);
        assert.ok(err instanceof StatusError, 'the create was denied');
        assert.match(err.message, /denied by e2e/);
      });
    } finally {
      await client.delete({
        apiVersion: 'admissionregistration.k8s.io/v1',
        kind: 'ValidatingWebhookConfiguration',
        name: 'deny-labelled',
      });
      server.close();
    }
  });

  it('stops both processes and removes its files', async () => {
    const { etcd, kubeApiserver } = cp.pids;
    assert.ok(groupAlive(etcd) && groupAlive(kubeApiserver));
    await cp.stop();
    assert.equal(groupAlive(etcd), false, 'etcd is gone');
    assert.equal(groupAlive(kubeApiserver), false, 'kube-apiserver is gone');
    assert.throws(() => cp.server, /not running/);
  });

  it('leaves no process behind when the Node process that started it is killed', async () => {
    const index = new URL('./index.ts', import.meta.url).pathname;
    const child = spawn(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `import { ControlPlane } from ${JSON.stringify(index)};
         const cp = new ControlPlane();
         await cp.start();
         console.log(JSON.stringify(cp.pids));
         setInterval(() => {}, 1000);`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const [line] = (await once(createInterface({ input: child.stdout }), 'line')) as [string];
    const pids = JSON.parse(line) as { etcd: number; kubeApiserver: number };
    assert.ok(groupAlive(pids.etcd) && groupAlive(pids.kubeApiserver));
    child.kill('SIGKILL');
    await eventually(() => {
      assert.equal(groupAlive(pids.kubeApiserver) || groupAlive(pids.etcd), false);
    }, 20_000);
    // Its files are left for the next start() to sweep; do not wait for that.
    for (const name of await readdir(tmpdir())) {
      if (name.startsWith(`bindery-controlplane-${child.pid}-`))
        await rm(join(tmpdir(), name), { recursive: true });
    }
  });
});
