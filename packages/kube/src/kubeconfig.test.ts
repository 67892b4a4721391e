import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { Authenticator } from './credentials.ts';
import { KubeConfig } from './kubeconfig.ts';
import type { KubeConfigData } from './kubeconfig.ts';

/** A kubeconfig with one context per name, each with its own cluster and user. */
function config(names: string[], current?: string, user: Record<string, unknown> = {}): KubeConfigData {
  return {
    clusters: names.map((n) => ({ name: n, cluster: { server: `https://${n}.example:6443` } })),
    users: names.map((n) => ({ name: n, user: { token: `token-${n}`, ...user } })),
    contexts: names.map((n) => ({ name: n, context: { cluster: n, user: n } })),
    ...(current !== undefined && { 'current-context': current }),
  };
}

describe('KubeConfig', () => {
  let dir: string;
  let empty: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bindery-kubeconfig-test-'));
    empty = join(dir, 'empty-home');
    await mkdir(empty);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  const write = async (name: string, data: unknown): Promise<string> => {
    const path = join(dir, name);
    await mkdir(join(path, '..'), { recursive: true });
    await writeFile(path, stringify(data));
    return path;
  };
  /** No $KUBECONFIG, not in a cluster, an empty home: only what a test passes is found. */
  const nowhere = (): { env: NodeJS.ProcessEnv; home: string; serviceAccountDir: string } => ({
    env: {},
    home: empty,
    serviceAccountDir: join(dir, 'no-sa'),
  });

  it('resolves file paths against the kubeconfig that holds them; a bare exec command is left to PATH', async () => {
    const path = await write('nested/config', {
      ...config(['a'], 'a'),
      clusters: [{ name: 'a', cluster: { server: 'https://a:6443', 'certificate-authority': 'ca.crt' } }],
      users: [
        {
          name: 'a',
          user: {
            'client-certificate': 'certs/a.crt',
            'client-key': '/abs/a.key',
            tokenFile: '../token',
            exec: { apiVersion: 'client.authentication.k8s.io/v1', command: './plugin' },
          },
        },
        {
          name: 'b',
          user: { exec: { apiVersion: 'client.authentication.k8s.io/v1', command: 'kubelogin' } },
        },
      ],
    });
    const kc = KubeConfig.fromFile(path);
    const { cluster, user } = kc.resolve();
    assert.equal(cluster['certificate-authority'], join(dir, 'nested', 'ca.crt'));
    assert.equal(user['client-certificate'], join(dir, 'nested', 'certs', 'a.crt'));
    assert.equal(user['client-key'], '/abs/a.key');
    assert.equal(user.tokenFile, join(dir, 'token'));
    assert.equal(user.exec?.command, join(dir, 'nested', 'plugin'));
    assert.equal(kc.users[1]?.user.exec?.command, 'kubelogin');
  });

  it('merges the files of $KUBECONFIG as kubectl does: the first definition and current-context win, missing files are skipped', async () => {
    const first = await write('merge/first', {
      ...config(['shared', 'only-first']),
      clusters: [{ name: 'shared', cluster: { server: 'https://first:6443' } }],
    });
    const second = await write('merge/second', {
      ...config(['shared', 'only-second'], 'only-second'),
      clusters: [
        { name: 'shared', cluster: { server: 'https://second:6443' } },
        { name: 'only-second', cluster: { server: 'https://only-second:6443' } },
      ],
    });
    const third = await write('merge/third', config(['third'], 'third'));
    const kc = KubeConfig.load({
      ...nowhere(),
      env: { KUBECONFIG: [join(dir, 'merge/missing'), first, second, third].join(':') },
    });
    // The first file sets no current-context; the second does, and the third's is ignored.
    assert.equal(kc.currentContext, 'only-second');
    assert.equal(kc.resolve().cluster.server, 'https://only-second:6443');
    kc.useContext('shared');
    assert.equal(kc.resolve().cluster.server, 'https://first:6443');
    assert.deepEqual(
      kc.contexts.map((c) => c.name),
      ['shared', 'only-first', 'only-second', 'third'],
    );
    assert.equal(kc.source, [first, second, third].join(':'));
  });

  it('chooses --kubeconfig, then $KUBECONFIG, then the in-cluster service account, then ~/.kube/config', async () => {
    const explicit = await write('order/explicit', config(['explicit'], 'explicit'));
    const fromEnv = await write('order/env', config(['env'], 'env'));
    const home = join(dir, 'order/home');
    await write('order/home/.kube/config', config(['home'], 'home'));
    const sa = join(dir, 'order/sa');
    await mkdir(sa, { recursive: true });
    await writeFile(join(sa, 'token'), 'sa-token\n');
    await writeFile(join(sa, 'namespace'), 'team-a');
    const inCluster = { KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBERNETES_SERVICE_PORT: '443' };
    const base = { home, serviceAccountDir: sa };

    const current = (kc: KubeConfig): string => kc.currentContext;
    assert.equal(
      current(KubeConfig.load({ ...base, kubeconfig: explicit, env: { KUBECONFIG: fromEnv } })),
      'explicit',
    );
    assert.equal(current(KubeConfig.load({ ...base, env: { KUBECONFIG: fromEnv, ...inCluster } })), 'env');
    const pod = KubeConfig.load({ ...base, env: inCluster });
    assert.equal(pod.source, 'in-cluster');
    assert.deepEqual(pod.resolve().cluster, { server: 'https://10.0.0.1:443' });
    assert.deepEqual(pod.resolve().user, { tokenFile: join(sa, 'token') });
    assert.equal(pod.resolve().context.namespace, 'team-a');
    assert.equal(current(KubeConfig.load({ ...base, env: {} })), 'home');
    // A context chosen by name; one that does not exist is an error naming the ones that do.
    assert.equal(
      current(KubeConfig.load({ ...base, kubeconfig: explicit, context: 'explicit' })),
      'explicit',
    );
    assert.throws(
      () => KubeConfig.load({ ...base, kubeconfig: explicit, context: 'nope' }),
      /no context named "nope" \(have: "explicit"\)/,
    );
  });

  it('brackets an IPv6 service host', async () => {
    const sa = join(dir, 'v6');
    await mkdir(sa);
    await writeFile(join(sa, 'token'), 't');
    await writeFile(join(sa, 'ca.crt'), 'pem');
    const kc = KubeConfig.inCluster({
      env: { KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443' },
      serviceAccountDir: sa,
    });
    assert.deepEqual(kc.resolve().cluster, {
      server: 'https://[fd00::1]:443',
      'certificate-authority': join(sa, 'ca.crt'),
    });
  });

  it('finding no kubeconfig is an error that says what was tried', () => {
    assert.throws(
      () => KubeConfig.load(nowhere()),
      (err: Error) =>
        /^no kubeconfig found: no --kubeconfig given, \$KUBECONFIG is not set, not in a cluster/.test(
          err.message,
        ) && err.message.includes(join(empty, '.kube', 'config')),
    );
    assert.throws(
      () => KubeConfig.load({ ...nowhere(), env: { KUBECONFIG: '/nonexistent/a:/nonexistent/b' } }),
      /no kubeconfig found: none of the files in \$KUBECONFIG exists \(\/nonexistent\/a:\/nonexistent\/b\)/,
    );
    assert.throws(
      () => KubeConfig.load({ ...nowhere(), kubeconfig: '/nonexistent/config' }),
      /kubeconfig \/nonexistent\/config: cannot read it/,
    );
  });

  it('never falls back to http://localhost:8080: KubeClient.fromKubeConfig() with nothing to find throws', async () => {
    // In a child process, as the manager starts: its own environment, no options.
    const script =
      `const { KubeClient } = await import(${JSON.stringify(new URL('./client.ts', import.meta.url).href)});` +
      `try { const c = KubeClient.fromKubeConfig(); console.log('server ' + c.transport.server); }` +
      `catch (err) { console.log('error ' + err.message); }`;
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], {
      env: { PATH: process.env['PATH'] ?? '', HOME: empty },
      timeout: 60_000,
    });
    assert.match(stdout, /^error no kubeconfig found: /);
  });

  it('names what is missing from the current context', () => {
    const broken =
      (data: KubeConfigData): (() => unknown) =>
      () =>
        new KubeConfig(data, 'test').resolve();
    assert.throws(broken(config(['a'])), /test: no current-context is set/);
    assert.throws(broken(config(['a'], 'b')), /current-context "b" names no context \(have: "a"\)/);
    assert.throws(
      broken({ ...config(['a'], 'a'), clusters: [] }),
      /context "a" names cluster "a", which is not defined/,
    );
    assert.throws(
      broken({ ...config(['a'], 'a'), users: [] }),
      /context "a" names user "a", which is not defined/,
    );
    assert.throws(
      broken({ ...config(['a'], 'a'), clusters: [{ name: 'a', cluster: { server: '' } }] }),
      /cluster "a" has no server/,
    );
    assert.throws(
      () => KubeConfig.fromString('clusters: 3', { source: 'odd' }),
      /odd: clusters must be a list/,
    );
    assert.throws(() => KubeConfig.fromString('[1]', { source: 'odd' }), /odd: not a kubeconfig/);
  });

  it('writes itself out as a kubeconfig that reads back the same', () => {
    const kc = new KubeConfig(config(['a', 'b'], 'b'));
    const again = KubeConfig.fromString(kc.toYAML());
    assert.deepEqual(again.toJSON(), kc.toJSON());
  });
});

describe('Authenticator', () => {
  const cluster = { server: 'https://k:6443' };

  it('sends basic auth and impersonation headers', async () => {
    const auth = new Authenticator({
      cluster,
      user: {
        username: 'admin',
        password: 'pw',
        as: 'jane',
        'as-uid': '42',
        'as-groups': ['dev', 'ops'],
        'as-user-extra': { 'scopes/x': ['a', 'b'] },
      },
    });
    assert.deepEqual((await auth.credentials()).headers, {
      authorization: `Basic ${Buffer.from('admin:pw').toString('base64')}`,
      'impersonate-user': 'jane',
      'impersonate-uid': '42',
      'impersonate-group': ['dev', 'ops'],
      'impersonate-extra-scopes%2Fx': ['a', 'b'],
    });
  });

  it('refuses what it cannot do, with a reason', () => {
    assert.throws(
      () => new Authenticator({ cluster, user: { 'auth-provider': { name: 'oidc' } } }),
      /auth-provider "oidc" is not supported.*use an exec credential plugin/,
    );
    assert.throws(
      () =>
        new Authenticator({
          cluster,
          user: { exec: { apiVersion: 'client.authentication.k8s.io/v1alpha1', command: 'x' } },
        }),
      /exec plugin "x": apiVersion "client.authentication.k8s.io\/v1alpha1" is not supported/,
    );
    assert.throws(
      () =>
        new Authenticator({
          cluster,
          user: {
            exec: { apiVersion: 'client.authentication.k8s.io/v1', command: 'x', interactiveMode: 'Always' },
          },
        }),
      /needs a terminal/,
    );
  });
});
