// Every way a kubeconfig or a pod authenticates, against a real kube-apiserver: who the API server
// says the client is (SelfSubjectReview) is the assertion.

import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { stringify } from 'yaml';
import { ControlPlane, eventually, skipE2E } from '@bindery/controlplane';
import type { User } from '@bindery/controlplane';
import { KubeClient } from './client.ts';
import { StatusError } from './errors.ts';
import { KubeConfig } from './kubeconfig.ts';
import type { KubeConfigData, UserConfig } from './kubeconfig.ts';

const ns = 'credentials-e2e';

async function whoami(client: KubeClient): Promise<string> {
  const review = await client.request<{ status: { userInfo: { username: string } } }>({
    method: 'POST',
    path: '/apis/authentication.k8s.io/v1/selfsubjectreviews',
    body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' },
  });
  return review.status.userInfo.username;
}

describe('credentials against a real API server', { skip: skipE2E }, () => {
  let cp: ControlPlane;
  let dir: string;
  let alice: User;
  let bob: User;
  const clients: KubeClient[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bindery-credentials-e2e-'));
    // Static tokens: kube-apiserver's token file (token,user,uid,"groups").
    const tokens = join(dir, 'tokens.csv');
    await writeFile(tokens, 'token-carol,carol,uid-carol,"testers"\ntoken-dave,dave,uid-dave,"testers"\n');
    cp = new ControlPlane({ apiServerFlags: { 'token-auth-file': tokens } });
    await cp.start();
    alice = await cp.addUser({ name: 'alice' });
    bob = await cp.addUser({ name: 'bob' });
    await cp.client().create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
    await writeFile(join(dir, 'ca.crt'), cp.caCert);
  });

  after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await cp?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  /** A kubeconfig for the control plane with this user; `caFile` uses the CA file rather than data. */
  function kubeconfig(user: UserConfig, options: { caFile?: boolean } = {}): KubeConfigData {
    return {
      clusters: [
        {
          name: 'cp',
          cluster: {
            server: cp.server,
            ...(options.caFile
              ? { 'certificate-authority': 'ca.crt' }
              : { 'certificate-authority-data': Buffer.from(cp.caCert).toString('base64') }),
          },
        },
      ],
      users: [{ name: 'u', user }],
      contexts: [{ name: 'cp', context: { cluster: 'cp', user: 'u' } }],
      'current-context': 'cp',
    };
  }

  async function clientFor(
    data: KubeConfigData,
    options: { credentialsRefreshMs?: number } = {},
  ): Promise<KubeClient> {
    const path = join(dir, `kubeconfig-${clients.length}`);
    await writeFile(path, stringify(data), { mode: 0o600 });
    const client = new KubeClient({ kubeConfig: KubeConfig.fromFile(path), ...options });
    clients.push(client);
    return client;
  }

  it('client certificate and key as data, CA as data', async () => {
    const client = new KubeClient({ kubeConfig: KubeConfig.fromString(alice.kubeconfig) });
    clients.push(client);
    assert.equal(await whoami(client), 'alice');
  });

  it('client certificate and key as files relative to the kubeconfig, CA as a file; a rotated certificate is picked up', async () => {
    await writeFile(join(dir, 'client.crt'), alice.credentials.cert);
    await writeFile(join(dir, 'client.key'), alice.credentials.key, { mode: 0o600 });
    const client = await clientFor(
      kubeconfig({ 'client-certificate': 'client.crt', 'client-key': 'client.key' }, { caFile: true }),
      { credentialsRefreshMs: 200 },
    );
    assert.equal(await whoami(client), 'alice');
    // As cert-manager or the kubelet would rotate it: new files, new connections.
    await writeFile(join(dir, 'client.crt'), bob.credentials.cert);
    await writeFile(join(dir, 'client.key'), bob.credentials.key);
    await eventually(async () => assert.equal(await whoami(client), 'bob'), 10_000);
  });

  it('bearer token', async () => {
    assert.equal(await whoami(await clientFor(kubeconfig({ token: 'token-carol' }))), 'carol');
  });

  it('token file: read again as it rotates, and at once after a 401', async () => {
    const tokenFile = join(dir, 'token');
    await writeFile(tokenFile, 'token-carol\n');
    const rotating = await clientFor(kubeconfig({ tokenFile }), { credentialsRefreshMs: 200 });
    assert.equal(await whoami(rotating), 'carol');
    await writeFile(tokenFile, 'token-dave\n');
    await eventually(async () => assert.equal(await whoami(rotating), 'dave'), 10_000);

    // A token the server rejects: the 401 makes the client read the file again before its hour is up.
    await writeFile(tokenFile, 'revoked');
    const hourly = await clientFor(kubeconfig({ tokenFile }), { credentialsRefreshMs: 3_600_000 });
    const err = await whoami(hourly).catch((e: unknown) => e);
    assert.ok(err instanceof StatusError && err.code === 401, String(err));
    await writeFile(tokenFile, 'token-carol');
    assert.equal(await whoami(hourly), 'carol');
  });

  it('impersonation (as, as-groups) on top of the admin certificate', async () => {
    const admin = KubeConfig.fromString(cp.kubeconfig()).resolve().user;
    const client = await clientFor(kubeconfig({ ...admin, as: 'erin', 'as-groups': ['auditors'] }));
    const review = await client.request<{ status: { userInfo: { username: string; groups?: string[] } } }>({
      method: 'POST',
      path: '/apis/authentication.k8s.io/v1/selfsubjectreviews',
      body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' },
    });
    assert.equal(review.status.userInfo.username, 'erin');
    assert.ok(review.status.userInfo.groups?.includes('auditors'));
  });

  /**
   * An exec plugin as a shell script: logs a line per run (what it was given in
   * KUBERNETES_EXEC_INFO and its env), sets `run` to the run's number, then runs `body`, which
   * prints the ExecCredential.
   */
  async function plugin(
    name: string,
    body: string,
  ): Promise<{ path: string; runs: () => Promise<string[]> }> {
    const path = join(dir, `${name}.sh`);
    const log = join(dir, `${name}.log`);
    const script = [
      '#!/bin/sh',
      `echo "$KUBERNETES_EXEC_INFO|$PLUGIN_GREETING" >> '${log}'`,
      `run=$(wc -l < '${log}' | tr -d ' ')`,
      body,
    ].join('\n');
    await writeFile(path, `${script}\n`);
    await chmod(path, 0o755);
    return {
      path,
      runs: async () => (await readFile(log, 'utf8').catch(() => '')).split('\n').filter(Boolean),
    };
  }

  it('exec plugin, client.authentication.k8s.io/v1: a token cached until it expires, cluster info and env passed', async () => {
    // Run 1 answers carol's token, valid 3 s; later runs dave's, valid an hour.
    const apiVersion = 'client.authentication.k8s.io/v1';
    const exec = await plugin(
      'v1',
      [
        'if [ "$run" = 1 ]; then who=carol; ttl=3; else who=dave; ttl=3600; fi',
        'expiry=$(date -u -d "@$(( $(date +%s) + ttl ))" +%Y-%m-%dT%H:%M:%SZ)',
        `printf '{"apiVersion":"${apiVersion}","kind":"ExecCredential","status":{"token":"token-%s","expirationTimestamp":"%s"}}' "$who" "$expiry"`,
      ].join('\n'),
    );
    const client = await clientFor(
      kubeconfig({
        exec: {
          apiVersion,
          command: exec.path,
          env: [{ name: 'PLUGIN_GREETING', value: 'hello' }],
          provideClusterInfo: true,
          interactiveMode: 'Never',
        },
      }),
    );
    assert.equal(await whoami(client), 'carol');
    assert.equal(await whoami(client), 'carol');
    assert.equal((await exec.runs()).length, 1, 'the token is cached while valid');
    await eventually(async () => assert.equal(await whoami(client), 'dave'), 15_000);
    const runs = await exec.runs();
    assert.equal(runs.length, 2, 'run again once, when the token expired');
    const [info, greeting] = (runs[0] ?? '').split('|');
    assert.equal(greeting, 'hello');
    const given = JSON.parse(info ?? '') as {
      apiVersion: string;
      kind: string;
      spec: { interactive: boolean; cluster: { server: string; 'certificate-authority-data': string } };
    };
    assert.equal(given.apiVersion, apiVersion);
    assert.equal(given.kind, 'ExecCredential');
    assert.equal(given.spec.interactive, false);
    assert.equal(given.spec.cluster.server, cp.server);
    assert.equal(
      Buffer.from(given.spec.cluster['certificate-authority-data'], 'base64').toString(),
      cp.caCert,
    );
  });

  it('exec plugin, client.authentication.k8s.io/v1beta1: a client certificate, cached while it gives no expiry', async () => {
    const apiVersion = 'client.authentication.k8s.io/v1beta1';
    const credential = JSON.stringify({
      apiVersion,
      kind: 'ExecCredential',
      status: { clientCertificateData: alice.credentials.cert, clientKeyData: alice.credentials.key },
    });
    const exec = await plugin('v1beta1', `cat <<'EOF'\n${credential}\nEOF`);
    const client = await clientFor(kubeconfig({ exec: { apiVersion, command: exec.path } }));
    assert.equal(await whoami(client), 'alice');
    assert.equal(await whoami(client), 'alice');
    assert.equal((await exec.runs()).length, 1, 'no expiry: cached');
  });

  it('exec plugin failures are clear errors naming the command, never its output', async () => {
    const apiVersion = 'client.authentication.k8s.io/v1';
    const failing = join(dir, 'failing.sh');
    await writeFile(failing, '#!/bin/sh\necho "secret-on-stdout"\necho "login required" >&2\nexit 3\n');
    await chmod(failing, 0o755);
    const missing = join(dir, 'no-such-plugin');
    for (const [command, expected] of [
      [failing, /exec plugin ".*failing\.sh" exited with 3: login required/],
      [missing, /exec plugin ".*no-such-plugin" could not be started: .*ENOENT[\s\S]*install it with: brew/],
    ] as const) {
      const client = await clientFor(
        kubeconfig({ exec: { apiVersion, command, installHint: 'install it with: brew install x' } }),
      );
      const err = (await whoami(client).catch((e: unknown) => e)) as Error;
      assert.match(err.message, expected);
      assert.doesNotMatch(err.message, /secret-on-stdout/);
    }
  });

  it('in-cluster: a service account token from a TokenRequest, the CA file, and the token rotated', async () => {
    const admin = cp.client();
    for (const name of ['first', 'second']) {
      await admin.create({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace: ns } });
    }
    const tokenFor = async (name: string): Promise<string> => {
      const res = await admin.request<{ status: { token: string } }>({
        method: 'POST',
        path: `/api/v1/namespaces/${ns}/serviceaccounts/${name}/token`,
        body: {
          apiVersion: 'authentication.k8s.io/v1',
          kind: 'TokenRequest',
          spec: { expirationSeconds: 3600 },
        },
      });
      return res.status.token;
    };
    const sa = join(dir, 'serviceaccount');
    await mkdir(sa);
    await writeFile(join(sa, 'token'), await tokenFor('first'));
    await writeFile(join(sa, 'ca.crt'), cp.caCert);
    await writeFile(join(sa, 'namespace'), ns);
    const url = new URL(cp.server);
    const kubeConfig = KubeConfig.load({
      env: { KUBERNETES_SERVICE_HOST: url.hostname, KUBERNETES_SERVICE_PORT: url.port },
      serviceAccountDir: sa,
      home: join(dir, 'no-home'),
    });
    assert.equal(kubeConfig.source, 'in-cluster');
    const client = new KubeClient({ kubeConfig, credentialsRefreshMs: 200 });
    clients.push(client);
    assert.equal(await whoami(client), `system:serviceaccount:${ns}:first`);
    // The kubelet writes a fresh token into the projected volume; here, another account's.
    await writeFile(join(sa, 'token'), await tokenFor('second'));
    await eventually(
      async () => assert.equal(await whoami(client), `system:serviceaccount:${ns}:second`),
      10_000,
    );
  });
});
