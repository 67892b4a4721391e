// What a request authenticates with, from a kubeconfig user: client certificates (files or data),
// bearer tokens (inline or a file read again as it rotates), basic auth, exec credential plugins
// (cached until they expire), and impersonation headers. Files are read again every
// `refreshMs`, and everything after the API server answers 401.

import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import type { ClusterConfig, ExecConfig, UserConfig } from './kubeconfig.ts';
import { isObject } from './object.ts';

export interface Credentials {
  headers: Record<string, string | string[]>;
  /** PEM client certificate and key, when the user authenticates with one. */
  cert?: string;
  key?: string;
}

export interface AuthenticatorOptions {
  user: UserConfig;
  /** For exec plugins with `provideClusterInfo`. */
  cluster: ClusterConfig;
  /** Token and certificate files are read again after this long (default 10 s). */
  refreshMs?: number;
  /** An exec plugin that has not answered by then is killed (default 60 s). */
  execTimeoutMs?: number;
}

interface Cached {
  credentials: Credentials;
  /** ms since epoch. */
  expiresAt: number;
}

const execApiVersions = ['client.authentication.k8s.io/v1', 'client.authentication.k8s.io/v1beta1'];
/** Plugins print a small JSON document; anything bigger is not one. */
const maxExecOutput = 1 << 20;

/** Credentials for one kubeconfig user, cached and shared by concurrent requests. */
export class Authenticator {
  readonly #user: UserConfig;
  readonly #cluster: ClusterConfig;
  readonly #refreshMs: number;
  readonly #execTimeoutMs: number;
  #cached: Promise<Cached> | undefined;

  constructor(options: AuthenticatorOptions) {
    const provider = options.user['auth-provider'];
    if (provider) {
      throw new Error(
        `kubeconfig: auth-provider "${provider.name}" is not supported (client-go deprecated auth providers); ` +
          'use an exec credential plugin instead (e.g. kubelogin for OIDC)',
      );
    }
    const exec = options.user.exec;
    if (exec && !execApiVersions.includes(exec.apiVersion)) {
      throw new Error(
        `kubeconfig: exec plugin "${exec.command}": apiVersion "${exec.apiVersion}" is not supported (use ${execApiVersions.join(' or ')})`,
      );
    }
    if (exec?.interactiveMode === 'Always') {
      throw new Error(`kubeconfig: exec plugin "${exec.command}" needs a terminal (interactiveMode Always)`);
    }
    this.#user = options.user;
    this.#cluster = options.cluster;
    this.#refreshMs = options.refreshMs ?? 10_000;
    this.#execTimeoutMs = options.execTimeoutMs ?? 60_000;
  }

  async credentials(): Promise<Credentials> {
    const current = this.#cached;
    if (current) {
      const cached = await current;
      if (cached.expiresAt > Date.now()) return cached.credentials;
      if (this.#cached !== current) return this.credentials();
    }
    const next = this.#load();
    this.#cached = next;
    next.catch(() => {
      if (this.#cached === next) this.#cached = undefined;
    });
    return (await next).credentials;
  }

  /** After a 401: the next request reads files and runs the plugin again. */
  invalidate(): void {
    this.#cached = undefined;
  }

  async #load(): Promise<Cached> {
    const u = this.#user;
    const now = Date.now();
    let expiresAt = Number.POSITIVE_INFINITY;
    const readsFiles = u.tokenFile !== undefined || u['client-certificate'] !== undefined;
    if (readsFiles) expiresAt = now + this.#refreshMs;

    let token = u.token;
    if (u.tokenFile) token = (await readText(u.tokenFile, 'tokenFile')).trim();
    let cert = await pem(u['client-certificate'], u['client-certificate-data'], 'client-certificate');
    let key = await pem(u['client-key'], u['client-key-data'], 'client-key');

    if (u.exec) {
      const answer = await runExecPlugin(u.exec, this.#cluster, this.#execTimeoutMs);
      if (answer.token !== undefined) token = answer.token;
      if (answer.cert !== undefined) [cert, key] = [answer.cert, answer.key];
      expiresAt = Math.min(expiresAt, answer.expiresAt);
    }
    if ((cert === undefined) !== (key === undefined)) {
      throw new Error('kubeconfig: a client certificate needs both a certificate and a key');
    }

    const headers: Credentials['headers'] = {};
    if (token) headers['authorization'] = `Bearer ${token}`;
    else if (u.username !== undefined) {
      headers['authorization'] =
        `Basic ${Buffer.from(`${u.username}:${u.password ?? ''}`).toString('base64')}`;
    }
    if (u.as) headers['impersonate-user'] = u.as;
    if (u['as-uid']) headers['impersonate-uid'] = u['as-uid'];
    if (u['as-groups']?.length) headers['impersonate-group'] = u['as-groups'];
    for (const [k, v] of Object.entries(u['as-user-extra'] ?? {})) {
      headers[`impersonate-extra-${encodeURIComponent(k)}`] = v;
    }
    const credentials: Credentials = {
      headers,
      ...(cert !== undefined && key !== undefined && { cert, key }),
    };
    return { credentials, expiresAt };
  }
}

async function readText(path: string, field: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw new Error(`kubeconfig: ${field} ${path}: ${(err as Error).message}`, { cause: err });
  }
}

async function pem(
  path: string | undefined,
  data: string | undefined,
  field: string,
): Promise<string | undefined> {
  if (path) return readText(path, field);
  return data ? Buffer.from(data, 'base64').toString('utf8') : undefined;
}

export interface ExecAnswer {
  token?: string;
  cert?: string;
  key?: string;
  /** ms since epoch; infinite when the plugin gave no expiry (then only a 401 runs it again). */
  expiresAt: number;
}

/**
 * Runs a `client.authentication.k8s.io` exec plugin non-interactively and reads its ExecCredential.
 * Errors name the command and never carry what it printed on stdout (the credential).
 */
export async function runExecPlugin(
  exec: ExecConfig,
  cluster: ClusterConfig,
  timeoutMs: number,
): Promise<ExecAnswer> {
  const name = `exec plugin "${exec.command}"`;
  const info = {
    apiVersion: exec.apiVersion,
    kind: 'ExecCredential',
    spec: {
      interactive: false,
      ...(exec.provideClusterInfo && { cluster: await clusterInfo(cluster) }),
    },
  };
  const env: NodeJS.ProcessEnv = { ...process.env, KUBERNETES_EXEC_INFO: JSON.stringify(info) };
  for (const { name: k, value } of exec.env ?? []) env[k] = value;

  const stdout = await new Promise<string>((resolvePromise, reject) => {
    const child = spawn(exec.command, exec.args ?? [], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: timeoutMs,
      killSignal: 'SIGKILL',
    });
    const out: Buffer[] = [];
    let outBytes = 0;
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => {
      outBytes += chunk.length;
      if (outBytes > maxExecOutput) child.kill('SIGKILL');
      else out.push(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      err = (err + chunk.toString('utf8')).slice(-2_000);
    });
    child.on('error', (e: NodeJS.ErrnoException) => {
      const hint = e.code === 'ENOENT' && exec.installHint ? `\n${exec.installHint}` : '';
      reject(new Error(`${name} could not be started: ${e.message}${hint}`, { cause: e }));
    });
    child.on('close', (code, signal) => {
      if (outBytes > maxExecOutput) reject(new Error(`${name} printed more than ${maxExecOutput} bytes`));
      else if (signal) reject(new Error(`${name} was killed (${signal}) after ${timeoutMs} ms at most`));
      else if (code !== 0) reject(new Error(`${name} exited with ${code}: ${err.trim().slice(-500)}`));
      else resolvePromise(Buffer.concat(out).toString('utf8'));
    });
  });

  let answer: unknown;
  try {
    answer = JSON.parse(stdout);
  } catch {
    throw new Error(`${name} did not print an ExecCredential (not JSON)`);
  }
  if (!isObject(answer) || answer['kind'] !== 'ExecCredential') {
    throw new Error(`${name} did not print an ExecCredential`);
  }
  if (answer['apiVersion'] !== exec.apiVersion) {
    throw new Error(
      `${name} answered with apiVersion "${String(answer['apiVersion'])}", not "${exec.apiVersion}"`,
    );
  }
  const status = answer['status'];
  if (!isObject(status)) throw new Error(`${name}: the ExecCredential has no status`);
  const str = (field: string): string | undefined => {
    const v = status[field];
    if (v !== undefined && typeof v !== 'string')
      throw new Error(`${name}: status.${field} must be a string`);
    return v === '' ? undefined : v;
  };
  const token = str('token');
  const cert = str('clientCertificateData');
  const key = str('clientKeyData');
  if ((cert === undefined) !== (key === undefined)) {
    throw new Error(`${name}: status.clientCertificateData and status.clientKeyData come together`);
  }
  if (token === undefined && cert === undefined) {
    throw new Error(`${name}: the ExecCredential has neither status.token nor a client certificate`);
  }
  const expiry = str('expirationTimestamp');
  let expiresAt = Number.POSITIVE_INFINITY;
  if (expiry !== undefined) {
    expiresAt = Date.parse(expiry);
    if (Number.isNaN(expiresAt))
      throw new Error(`${name}: status.expirationTimestamp "${expiry}" is not a time`);
  }
  return {
    ...(token !== undefined && { token }),
    ...(cert !== undefined && key !== undefined && { cert, key }),
    expiresAt,
  };
}

/** `spec.cluster` of the ExecCredential given to a plugin that asked for it. */
async function clusterInfo(cluster: ClusterConfig): Promise<Record<string, unknown>> {
  const caFile = cluster['certificate-authority'];
  const caData = caFile
    ? Buffer.from(await readText(caFile, 'certificate-authority')).toString('base64')
    : cluster['certificate-authority-data'];
  const config = cluster.extensions?.find((e) => e.name === 'client.authentication.k8s.io/exec')?.extension;
  return {
    server: cluster.server,
    ...(cluster['tls-server-name'] && { 'tls-server-name': cluster['tls-server-name'] }),
    ...(cluster['insecure-skip-tls-verify'] && { 'insecure-skip-tls-verify': true }),
    ...(caData && { 'certificate-authority-data': caData }),
    ...(cluster['proxy-url'] && { 'proxy-url': cluster['proxy-url'] }),
    ...(config !== undefined && { config }),
  };
}
