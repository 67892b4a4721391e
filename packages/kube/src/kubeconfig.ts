// Kubeconfig files and in-cluster configuration, read the way kubectl and controller-runtime read
// them, without @kubernetes/client-node (whose KubeConfig loads its whole generated API: about
// 50 MiB of RSS and a second of start-up; docs/benchmarks.md). Credentials are in credentials.ts.

import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, isAbsolute, join, resolve } from 'node:path';
import { parse, stringify } from 'yaml';
import { isObject } from './object.ts';

export interface ClusterConfig {
  server: string;
  'certificate-authority'?: string;
  /** Base64 of PEM. */
  'certificate-authority-data'?: string;
  'insecure-skip-tls-verify'?: boolean;
  'tls-server-name'?: string;
  'proxy-url'?: string;
  extensions?: Array<{ name: string; extension: unknown }>;
}

/** `client.authentication.k8s.io` exec credential plugin. */
export interface ExecConfig {
  apiVersion: string;
  command: string;
  args?: string[];
  env?: Array<{ name: string; value: string }> | null;
  installHint?: string;
  provideClusterInfo?: boolean;
  interactiveMode?: 'Never' | 'IfAvailable' | 'Always';
}

export interface UserConfig {
  'client-certificate'?: string;
  /** Base64 of PEM. */
  'client-certificate-data'?: string;
  'client-key'?: string;
  'client-key-data'?: string;
  token?: string;
  /** Read again from time to time, so a rotated token is picked up. */
  tokenFile?: string;
  username?: string;
  password?: string;
  exec?: ExecConfig;
  'auth-provider'?: { name: string; config?: Record<string, string> };
  /** Impersonation. */
  as?: string;
  'as-uid'?: string;
  'as-groups'?: string[];
  'as-user-extra'?: Record<string, string[]>;
}

export interface ContextConfig {
  cluster: string;
  user: string;
  namespace?: string;
}

export interface KubeConfigData {
  clusters?: Array<{ name: string; cluster: ClusterConfig }>;
  users?: Array<{ name: string; user: UserConfig }>;
  contexts?: Array<{ name: string; context: ContextConfig }>;
  'current-context'?: string;
}

/** What a connection needs: the current context's cluster and user. */
export interface ResolvedConfig {
  contextName: string;
  context: ContextConfig;
  cluster: ClusterConfig;
  user: UserConfig;
}

export interface InClusterOptions {
  /** Default `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** Default `/var/run/secrets/kubernetes.io/serviceaccount`. */
  serviceAccountDir?: string;
}

export interface LoadOptions extends InClusterOptions {
  /** A kubeconfig path (`--kubeconfig`): used alone, and it must exist. */
  kubeconfig?: string;
  /** Use this context instead of `current-context`. */
  context?: string;
  /** Default the user's home directory (for `~/.kube/config`). */
  home?: string;
}

export const serviceAccountDir = '/var/run/secrets/kubernetes.io/serviceaccount';

/** A kubeconfig file (or several merged), or the in-cluster configuration. */
export class KubeConfig {
  readonly clusters: Array<{ name: string; cluster: ClusterConfig }>;
  readonly users: Array<{ name: string; user: UserConfig }>;
  readonly contexts: Array<{ name: string; context: ContextConfig }>;
  currentContext: string;
  /** Where it came from, for error messages: file paths or `in-cluster`. */
  readonly source: string;

  constructor(data: KubeConfigData, source = 'kubeconfig') {
    this.clusters = data.clusters ?? [];
    this.users = data.users ?? [];
    this.contexts = data.contexts ?? [];
    this.currentContext = data['current-context'] ?? '';
    this.source = source;
  }

  /** YAML or JSON; relative file paths in it are resolved against `dir` (default the working directory). */
  static fromString(text: string, options: { dir?: string; source?: string } = {}): KubeConfig {
    const source = options.source ?? 'kubeconfig';
    return new KubeConfig(resolvePaths(parseData(text, source), options.dir ?? process.cwd()), source);
  }

  static fromFile(path: string): KubeConfig {
    const absolute = resolve(path);
    let text: string;
    try {
      text = readFileSync(absolute, 'utf8');
    } catch (err) {
      throw new Error(`kubeconfig ${absolute}: cannot read it: ${(err as Error).message}`, { cause: err });
    }
    return KubeConfig.fromString(text, { dir: dirname(absolute), source: absolute });
  }

  /**
   * Several files merged as kubectl merges `$KUBECONFIG`: the first file to define a cluster, user or
   * context of a name wins, and the first `current-context` set wins.
   */
  static fromFiles(paths: string[]): KubeConfig {
    const merged: Required<KubeConfigData> = { clusters: [], users: [], contexts: [], 'current-context': '' };
    for (const path of paths) {
      const one = KubeConfig.fromFile(path);
      const add = <E extends { name: string }>(into: E[], from: E[]): void => {
        for (const e of from) if (!into.some((have) => have.name === e.name)) into.push(e);
      };
      add(merged.clusters, one.clusters);
      add(merged.users, one.users);
      add(merged.contexts, one.contexts);
      merged['current-context'] ||= one.currentContext;
    }
    return new KubeConfig(merged, paths.map((p) => resolve(p)).join(delimiter));
  }

  /**
   * The pod's service account: `KUBERNETES_SERVICE_HOST`/`_PORT`, the CA and a token file that is read
   * again as the kubelet rotates it.
   */
  static inCluster(options: InClusterOptions = {}): KubeConfig {
    const env = options.env ?? process.env;
    const dir = options.serviceAccountDir ?? serviceAccountDir;
    const host = env['KUBERNETES_SERVICE_HOST'];
    const port = env['KUBERNETES_SERVICE_PORT'];
    if (!host || !port) {
      throw new Error(
        'not in a cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not both set',
      );
    }
    const tokenFile = join(dir, 'token');
    if (!existsSync(tokenFile)) throw new Error(`in-cluster: no service account token at ${tokenFile}`);
    const ca = join(dir, 'ca.crt');
    const namespaceFile = join(dir, 'namespace');
    const namespace = existsSync(namespaceFile) ? readFileSync(namespaceFile, 'utf8').trim() : '';
    const server = `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
    return new KubeConfig(
      {
        clusters: [
          { name: 'in-cluster', cluster: { server, ...(existsSync(ca) && { 'certificate-authority': ca }) } },
        ],
        users: [{ name: 'in-cluster', user: { tokenFile } }],
        contexts: [
          {
            name: 'in-cluster',
            context: { cluster: 'in-cluster', user: 'in-cluster', ...(namespace && { namespace }) },
          },
        ],
        'current-context': 'in-cluster',
      },
      'in-cluster',
    );
  }

  /**
   * From the usual places, in controller-runtime's order: `kubeconfig` (`--kubeconfig`), else
   * `$KUBECONFIG` (its files merged), else the in-cluster service account, else `~/.kube/config`.
   * Finding none is an error that says what was tried; there is no default server.
   */
  static load(options: LoadOptions = {}): KubeConfig {
    const config = KubeConfig.#find(options);
    if (options.context !== undefined) config.useContext(options.context);
    return config;
  }

  static #find(options: LoadOptions): KubeConfig {
    if (options.kubeconfig !== undefined) return KubeConfig.fromFile(options.kubeconfig);
    const env = options.env ?? process.env;
    const listed = (env['KUBECONFIG'] ?? '').split(delimiter).filter((p) => p !== '');
    if (listed.length > 0) {
      // As kubectl: files of $KUBECONFIG that do not exist are skipped, but not all of them.
      const present = listed.filter((p) => existsSync(p));
      if (present.length === 0) {
        throw new Error(
          `no kubeconfig found: none of the files in $KUBECONFIG exists (${listed.join(delimiter)})`,
        );
      }
      return KubeConfig.fromFiles(present);
    }
    let inCluster: string;
    try {
      return KubeConfig.inCluster(options);
    } catch (err) {
      inCluster = (err as Error).message;
    }
    const home = join(options.home ?? homedir(), '.kube', 'config');
    if (existsSync(home)) return KubeConfig.fromFile(home);
    throw new Error(
      `no kubeconfig found: no --kubeconfig given, $KUBECONFIG is not set, ${inCluster}, and ${home} does not exist`,
    );
  }

  /** Switches to another context of the file; it must exist. */
  useContext(name: string): void {
    if (!this.contexts.some((c) => c.name === name)) {
      throw new Error(`${this.source}: no context named "${name}" (have: ${this.#names(this.contexts)})`);
    }
    this.currentContext = name;
  }

  getCurrentContext(): ContextConfig | undefined {
    return this.contexts.find((c) => c.name === this.currentContext)?.context;
  }

  getCurrentCluster(): ClusterConfig | undefined {
    const context = this.getCurrentContext();
    return context && this.clusters.find((c) => c.name === context.cluster)?.cluster;
  }

  getCurrentUser(): UserConfig | undefined {
    const context = this.getCurrentContext();
    return context && this.users.find((u) => u.name === context.user)?.user;
  }

  /** The current context, cluster and user, or an error naming what is missing. */
  resolve(): ResolvedConfig {
    const name = this.currentContext;
    if (!name) throw new Error(`${this.source}: no current-context is set and no context was chosen`);
    const context = this.getCurrentContext();
    if (!context) {
      throw new Error(
        `${this.source}: current-context "${name}" names no context (have: ${this.#names(this.contexts)})`,
      );
    }
    const cluster = this.getCurrentCluster();
    if (!cluster)
      throw new Error(
        `${this.source}: context "${name}" names cluster "${context.cluster}", which is not defined`,
      );
    if (typeof cluster.server !== 'string' || cluster.server === '') {
      throw new Error(`${this.source}: cluster "${context.cluster}" has no server`);
    }
    // A context without a user is anonymous, as in kubectl.
    const user = context.user ? this.getCurrentUser() : {};
    if (!user)
      throw new Error(`${this.source}: context "${name}" names user "${context.user}", which is not defined`);
    return { contextName: name, context, cluster, user };
  }

  toJSON(): KubeConfigData & { apiVersion: string; kind: string } {
    return {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: this.clusters,
      users: this.users,
      contexts: this.contexts,
      'current-context': this.currentContext,
    };
  }

  /** As a kubeconfig file (YAML); file paths in it are absolute. */
  toYAML(): string {
    return stringify(this.toJSON());
  }

  #names(entries: Array<{ name: string }>): string {
    return entries.map((e) => `"${e.name}"`).join(', ') || 'none';
  }
}

function parseData(text: string, source: string): KubeConfigData {
  let data: unknown;
  try {
    data = parse(text) as unknown;
  } catch (err) {
    throw new Error(`${source}: not YAML: ${(err as Error).message}`, { cause: err });
  }
  if (data === null || data === undefined) return {};
  if (!isObject(data)) throw new Error(`${source}: not a kubeconfig (expected a mapping at the top)`);
  for (const [field, entry] of [
    ['clusters', 'cluster'],
    ['users', 'user'],
    ['contexts', 'context'],
  ] as const) {
    const list = data[field];
    if (list === undefined || list === null) continue;
    if (!Array.isArray(list)) throw new Error(`${source}: ${field} must be a list`);
    list.forEach((e: unknown, i) => {
      if (!isObject(e) || typeof e['name'] !== 'string' || !isObject(e[entry] ?? {})) {
        throw new Error(`${source}: ${field}[${i}] needs a name and a ${entry} mapping`);
      }
    });
  }
  return data;
}

/** Paths in a kubeconfig are relative to the file that holds them (kubectl's rule). */
function resolvePaths(data: KubeConfigData, dir: string): KubeConfigData {
  const abs = (p: string | undefined): string | undefined => (p && !isAbsolute(p) ? join(dir, p) : p);
  const set = <T extends object, K extends keyof T>(o: T, key: K, value: T[K] | undefined): void => {
    if (value !== undefined) o[key] = value;
  };
  for (const { cluster } of data.clusters ?? []) {
    if (!cluster) continue;
    set(cluster, 'certificate-authority', abs(cluster['certificate-authority']));
  }
  for (const { user } of data.users ?? []) {
    if (!user) continue;
    set(user, 'client-certificate', abs(user['client-certificate']));
    set(user, 'client-key', abs(user['client-key']));
    set(user, 'tokenFile', abs(user.tokenFile));
    // A command with a path separator is relative to the kubeconfig; a bare name is looked up on PATH.
    if (user.exec?.command?.includes('/')) set(user.exec, 'command', abs(user.exec.command));
  }
  return data;
}
