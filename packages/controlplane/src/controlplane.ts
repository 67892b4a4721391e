import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { KubeClient, KubeConfig } from '@bindery/kube';
import type { KubeObject } from '@bindery/kube';
import { locateBinaries, type Binaries } from './build.ts';
import { CertificateAuthority, generateSigningKey, type KeyPair } from './certs.ts';
import { rawRequest, type RawRequest, type RawResponse } from './http.ts';
import { buildKubeconfig } from './kubeconfig.ts';
import { freePorts } from './ports.ts';
import { grantClusterRole, waitForRules, type PolicyRule } from './rbac.ts';
import { ManagedProcess, isAlive } from './process.ts';
import {
  installCRDs,
  registerWebhook,
  type InstallCRDsOptions,
  type WebhookRegistration,
} from './resources.ts';

const DIR_PREFIX = 'bindery-controlplane-';

/** Command-line flags: `{ 'feature-gates': 'X=true' }`; `null` removes one of our defaults. */
export type Flags = Record<string, string | null>;

export interface ControlPlaneOptions {
  /** Use these instead of locating (envtest variables, cache) or building them. */
  binaries?: Binaries;
  /** For each process to become ready; default 60 s. */
  startTimeoutMs?: number;
  /** Merged over our kube-apiserver flags. */
  apiServerFlags?: Flags;
  /** Merged over our etcd flags. */
  etcdFlags?: Flags;
  /**
   * Serve watches from etcd rather than the API server's watch cache (`--watch-cache=false`), so a
   * watch from a resourceVersion that `compactEtcd()` removed fails with 410 Gone at once. Default: the
   * cache, as in a real cluster.
   */
  watchCache?: boolean;
  /**
   * Echo both processes' output (prefixed) to stderr; otherwise it is kept for error messages only.
   * Defaults to `BINDERY_CONTROLPLANE_VERBOSE=1`, to debug a test without editing it.
   */
  verbose?: boolean;
  /** Build progress and other notices; defaults to stderr. */
  log?: (line: string) => void;
}

export interface AddUserOptions {
  /** The user name (certificate CN). */
  name: string;
  /** Group memberships (certificate O, one each). */
  groups?: string[];
  /**
   * Cluster-wide rules for the user, granted by a ClusterRole and ClusterRoleBinding named after it;
   * `addUser` returns once the authorizer enforces them.
   */
  rules?: PolicyRule[];
}

/** A user minted by `addUser`, with a kubeconfig to act as it. */
export interface User {
  name: string;
  groups: string[];
  /** Kubeconfig YAML with embedded credentials. */
  kubeconfig: string;
  /** The same kubeconfig, written under the control plane's temporary directory. */
  kubeconfigPath: string;
  credentials: KeyPair;
}

interface Started {
  dir: string;
  binaries: Binaries;
  etcdUrl: string;
  server: string;
  /** Signed the API server's serving certificate. */
  ca: CertificateAuthority;
  clientCA: CertificateAuthority;
  admin: KeyPair;
  apiServerArgs: string[];
  etcd: ManagedProcess;
  apiServer: ManagedProcess;
}

/**
 * A real kube-apiserver and etcd on loopback, like controller-runtime's envtest: free ports, generated
 * certificates, an admin kubeconfig, users with chosen groups (to test RBAC), and no controller manager
 * or kubelet (nothing runs pods, namespaces are never finalized, nothing is garbage-collected).
 *
 * ```ts
 * await using cp = new ControlPlane();
 * await cp.start();
 * const client = cp.client();
 * ```
 */
export class ControlPlane {
  readonly #options: ControlPlaneOptions;
  #started: Started | undefined;
  #starting: Promise<void> | undefined;
  #client: KubeClient | undefined;
  #users = 0;

  constructor(options: ControlPlaneOptions = {}) {
    this.#options = options;
  }

  /** Locates (or builds) the binaries, then starts etcd and kube-apiserver and waits until both are ready. */
  start(signal?: AbortSignal): Promise<void> {
    if (this.#started) return Promise.resolve();
    this.#starting ??= this.#start(signal).finally(() => (this.#starting = undefined));
    return this.#starting;
  }

  async #start(signal: AbortSignal | undefined): Promise<void> {
    const log = this.#options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
    const binaries = this.#options.binaries ?? (await locateBinaries({ log, ...(signal && { signal }) }));
    await sweepStaleDirs();
    const dir = await mkdtemp(join(tmpdir(), `${DIR_PREFIX}${process.pid}-`));
    const partial: Partial<Started> & { dir: string } = { dir };
    try {
      const [etcdPort, peerPort, apiPort] = (await freePorts(3)) as [number, number, number];
      const etcdUrl = `http://127.0.0.1:${etcdPort}`;
      const server = `https://127.0.0.1:${apiPort}`;

      const ca = await CertificateAuthority.create('bindery-controlplane-ca');
      const serving = await ca.issueServing({
        hosts: ['127.0.0.1', 'localhost'],
        commonName: 'kube-apiserver',
      });
      const clientCA = await CertificateAuthority.create('bindery-controlplane-client-ca');
      const admin = await clientCA.issueClient({ name: 'admin', groups: ['system:masters'] });
      const sa = await generateSigningKey();
      const files = {
        ca: join(dir, 'ca.crt'),
        servingCert: join(dir, 'apiserver.crt'),
        servingKey: join(dir, 'apiserver.key'),
        clientCA: join(dir, 'client-ca.crt'),
        saPublic: join(dir, 'sa.pub'),
        saPrivate: join(dir, 'sa.key'),
      };
      await Promise.all([
        writeFile(files.ca, ca.cert),
        writeFile(files.servingCert, serving.cert),
        writeFile(files.servingKey, serving.key, { mode: 0o600 }),
        writeFile(files.clientCA, clientCA.cert),
        writeFile(files.saPublic, sa.publicKey),
        writeFile(files.saPrivate, sa.privateKey, { mode: 0o600 }),
      ]);

      partial.etcd = this.#spawn(
        binaries.etcd,
        flags(
          {
            'data-dir': join(dir, 'etcd'),
            'listen-client-urls': etcdUrl,
            'advertise-client-urls': etcdUrl,
            'listen-peer-urls': `http://127.0.0.1:${peerPort}`,
            'initial-advertise-peer-urls': `http://127.0.0.1:${peerPort}`,
            'initial-cluster': `default=http://127.0.0.1:${peerPort}`,
            // Test data is disposable: skipping fsync makes every write an order of magnitude faster.
            'unsafe-no-fsync': 'true',
            'log-level': 'warn',
          },
          this.#options.etcdFlags,
        ),
      );
      await this.#waitReady(partial.etcd, signal, async () => {
        const res = await rawRequest({ url: `${etcdUrl}/health`, timeoutMs: 2000 });
        return res.status === 200 && (JSON.parse(res.body) as { health?: string }).health === 'true';
      });

      const apiServerArgs = flags(
        {
          'bind-address': '127.0.0.1',
          'advertise-address': '127.0.0.1',
          'secure-port': String(apiPort),
          'etcd-servers': etcdUrl,
          'tls-cert-file': files.servingCert,
          'tls-private-key-file': files.servingKey,
          'client-ca-file': files.clientCA,
          'service-account-key-file': files.saPublic,
          'service-account-signing-key-file': files.saPrivate,
          'service-account-issuer': 'https://kubernetes.default.svc',
          'service-cluster-ip-range': '10.0.0.0/24',
          'authorization-mode': 'RBAC',
          'allow-privileged': 'true',
          // As envtest: the ServiceAccount plugin rejects pods until a controller manager has created
          // each namespace's `default` service account, and there is none here.
          'disable-admission-plugins': 'ServiceAccount',
          ...(this.#options.watchCache === false && { 'watch-cache': 'false' }),
        },
        this.#options.apiServerFlags,
      );
      const tls = { ca: ca.cert, cert: admin.cert, key: admin.key };
      partial.apiServer = await this.#startApiServer(
        binaries.kubeApiserver,
        apiServerArgs,
        server,
        tls,
        signal,
      );

      this.#started = {
        dir,
        binaries,
        etcdUrl,
        server,
        ca,
        clientCA,
        admin,
        apiServerArgs,
        etcd: partial.etcd,
        apiServer: partial.apiServer,
      };
    } catch (err) {
      await partial.apiServer?.stop();
      await partial.etcd?.stop();
      await rm(dir, { recursive: true, force: true });
      throw err;
    }
  }

  async #startApiServer(
    path: string,
    args: string[],
    server: string,
    tls: NonNullable<RawRequest['tls']>,
    signal: AbortSignal | undefined,
  ): Promise<ManagedProcess> {
    const proc = this.#spawn(path, args);
    try {
      // /readyz, not /healthz: it also waits for the post-start hooks (RBAC bootstrap roles, the
      // default namespaces, CRD informers), which a test otherwise races.
      await this.#waitReady(proc, signal, async () => {
        const res = await rawRequest({ url: `${server}/readyz`, tls, timeoutMs: 5000 });
        return res.status === 200 && res.body === 'ok';
      });
    } catch (err) {
      await proc.stop();
      throw err;
    }
    return proc;
  }

  #spawn(path: string, args: string[]): ManagedProcess {
    const name = path.split('/').pop() ?? path;
    return new ManagedProcess({
      path,
      args,
      ...((this.#options.verbose ?? process.env['BINDERY_CONTROLPLANE_VERBOSE'] === '1') && {
        onLine: (line: string) => process.stderr.write(`[${name}] ${line}\n`),
      }),
    });
  }

  /** Polls `ready` until it says yes; fails with the process's last output if it exits or time runs out. */
  async #waitReady(
    proc: ManagedProcess,
    signal: AbortSignal | undefined,
    ready: () => Promise<boolean>,
  ): Promise<void> {
    const timeoutMs = this.#options.startTimeoutMs ?? 60_000;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      signal?.throwIfAborted();
      if (!proc.running) {
        throw new Error(`${proc.name} exited during startup. Its last output:\n${proc.tail()}`);
      }
      if (await ready().catch(() => false)) return;
      if (Date.now() > deadline) {
        throw new Error(
          `${proc.name} was not ready after ${timeoutMs / 1000} s. Its last output:\n${proc.tail()}`,
        );
      }
      await sleep(100, undefined, signal ? { signal } : {});
    }
  }

  /** Stops kube-apiserver, then etcd, and removes the temporary directory. Safe to call twice. */
  async stop(): Promise<void> {
    await this.#starting?.catch(() => undefined);
    const started = this.#started;
    this.#started = undefined;
    const client = this.#client;
    this.#client = undefined;
    await client?.close();
    if (!started) return;
    try {
      await started.apiServer.stop();
      await started.etcd.stop();
    } finally {
      await rm(started.dir, { recursive: true, force: true });
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  get #state(): Started {
    if (!this.#started) throw new Error('the control plane is not running: call start() first');
    return this.#started;
  }

  /** `https://127.0.0.1:<port>` */
  get server(): string {
    return this.#state.server;
  }

  /** `http://127.0.0.1:<port>` (plain HTTP, loopback only). */
  get etcdUrl(): string {
    return this.#state.etcdUrl;
  }

  /** PEM of the CA that signed the API server's certificate; it can sign a webhook server's too. */
  get caCert(): string {
    return this.#state.ca.cert;
  }

  /** The CA that signed the API server's certificate, to issue serving certificates for local webhook servers. */
  get certificateAuthority(): CertificateAuthority {
    return this.#state.ca;
  }

  /** Process group ids of the running processes (each binary runs in its own group). */
  get pids(): { etcd: number; kubeApiserver: number } {
    return { etcd: this.#state.etcd.pid, kubeApiserver: this.#state.apiServer.pid };
  }

  /** The admin kubeconfig (user `admin` in `system:masters`) as YAML with embedded credentials. */
  kubeconfig(): string {
    const s = this.#state;
    return buildKubeconfig({
      server: s.server,
      caCert: s.ca.cert,
      clientCert: s.admin.cert,
      clientKey: s.admin.key,
    });
  }

  async writeKubeconfig(path: string): Promise<void> {
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, this.kubeconfig(), { mode: 0o600 });
  }

  /** The admin kubeconfig, parsed. */
  kubeConfig(): KubeConfig {
    return KubeConfig.fromString(this.kubeconfig(), { source: 'control plane admin kubeconfig' });
  }

  /** A client acting as admin, shared and closed by `stop()`. */
  client(): KubeClient {
    this.#client ??= new KubeClient({ kubeConfig: this.kubeConfig() });
    return this.#client;
  }

  /**
   * A user authenticated by a client certificate with CN=name and O=each group. It has no permissions
   * but its `rules` unless a (Cluster)RoleBinding grants some, so requests get 403 Forbidden.
   */
  async addUser(options: AddUserOptions): Promise<User> {
    const s = this.#state;
    const groups = options.groups ?? [];
    const credentials = await s.clientCA.issueClient({ name: options.name, groups });
    const kubeconfig = buildKubeconfig({
      server: s.server,
      caCert: s.ca.cert,
      clientCert: credentials.cert,
      clientKey: credentials.key,
      user: options.name,
    });
    const kubeconfigPath = join(
      s.dir,
      'users',
      `${++this.#users}-${options.name.replace(/[^\w.-]/g, '_')}.kubeconfig`,
    );
    await mkdir(dirname(kubeconfigPath), { recursive: true });
    await writeFile(kubeconfigPath, kubeconfig, { mode: 0o600 });
    if (options.rules !== undefined) {
      await grantClusterRole(this.client(), { name: options.name, rules: options.rules, user: options.name });
      const client = KubeClient.fromKubeConfig({ kubeconfig: kubeconfigPath });
      try {
        await waitForRules(client, options.rules);
      } finally {
        await client.close();
      }
    }
    return { name: options.name, groups, kubeconfig, kubeconfigPath, credentials };
  }

  /**
   * Stops kube-apiserver and starts it again on the same port and etcd: watches end and must resume, and
   * the watch cache starts over, so a watch from a resourceVersion older than any write since gets 410.
   */
  async restartApiServer(signal?: AbortSignal): Promise<void> {
    const s = this.#state;
    await s.apiServer.stop();
    s.apiServer = await this.#startApiServer(
      s.binaries.kubeApiserver,
      s.apiServerArgs,
      s.server,
      { ca: s.ca.cert, cert: s.admin.cert, key: s.admin.key },
      signal,
    );
  }

  /**
   * Compacts etcd's history up to the current revision (through etcd's JSON gateway), so reads and
   * watches at an older resourceVersion that reach etcd get 410 Gone. The API server's watch cache still
   * serves the events it holds, so for a deterministic 410 either keep the resource out of the cache
   * (`apiServerFlags: { 'watch-cache-sizes': 'podtemplates#0' }`, or `watchCache: false` for all) or
   * restart the API server afterwards. Returns the revision compacted to.
   */
  async compactEtcd(): Promise<number> {
    const etcd = this.#state.etcdUrl;
    const range = await etcdCall(etcd, '/v3/kv/range', { key: Buffer.from('\0').toString('base64') });
    const revision = (range as { header?: { revision?: string } }).header?.revision;
    if (revision === undefined) throw new Error(`etcd range returned no revision: ${JSON.stringify(range)}`);
    await etcdCall(etcd, '/v3/kv/compaction', { revision, physical: true });
    return Number(revision);
  }

  /**
   * Applies CustomResourceDefinitions and waits until each is Established and discovery serves every
   * version it declares served.
   */
  async installCRDs(crds: KubeObject[], options: InstallCRDsOptions = {}): Promise<KubeObject[]> {
    return installCRDs(this.client(), crds, options);
  }

  /** Creates (or replaces) a Mutating/ValidatingWebhookConfiguration that calls a local HTTPS server by URL. */
  async registerWebhook(
    webhook: WebhookRegistration,
    options: { signal?: AbortSignal } = {},
  ): Promise<KubeObject> {
    return registerWebhook(this.client(), webhook, options);
  }

  /** A raw HTTPS request to the API server as admin, with no client library in between. */
  async request(path: string, options: Omit<RawRequest, 'url' | 'tls'> = {}): Promise<RawResponse> {
    const s = this.#state;
    return rawRequest({
      ...options,
      url: `${s.server}${path}`,
      tls: { ca: s.ca.cert, cert: s.admin.cert, key: s.admin.key },
    });
  }
}

/** `--name=value` flags from our defaults merged with the caller's (`null` drops a default). */
function flags(defaults: Flags, overrides: Flags = {}): string[] {
  return Object.entries({ ...defaults, ...overrides }).flatMap(([name, value]) =>
    value === null ? [] : [`--${name}=${value}`],
  );
}

async function etcdCall(etcdUrl: string, path: string, body: unknown): Promise<unknown> {
  const res = await rawRequest({ url: `${etcdUrl}${path}`, body });
  if (res.status !== 200) throw new Error(`etcd ${path}: HTTP ${res.status}: ${res.body}`);
  return JSON.parse(res.body) as unknown;
}

/**
 * Removes the temporary directories of control planes whose Node process died without stop() (the
 * watchdog kills their binaries, but nothing else can delete the files). The owner's pid is in the name.
 */
async function sweepStaleDirs(): Promise<void> {
  const pattern = new RegExp(`^${DIR_PREFIX}(\\d+)-`);
  for (const name of await readdir(tmpdir()).catch(() => [])) {
    const pid = Number(pattern.exec(name)?.[1]);
    if (!pid || pid === process.pid || isAlive(pid)) continue;
    await rm(join(tmpdir(), name), { recursive: true, force: true }).catch(() => undefined);
  }
}
