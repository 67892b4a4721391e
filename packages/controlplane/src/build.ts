import { spawn } from 'node:child_process';
import { constants } from 'node:fs';
import { access, mkdir, mkdtemp, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { isAlive } from './process.ts';
import { ETCD_VERSION, KUBERNETES_VERSION, stagingVersion } from './versions.ts';

/** Absolute paths of the two binaries a control plane runs. */
export interface Binaries {
  kubeApiserver: string;
  etcd: string;
}

export interface LocateOptions {
  /** Defaults to `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** Progress lines while building; defaults to stderr. */
  log?: (line: string) => void;
  signal?: AbortSignal;
}

const BUILD_MODULE = 'bindery.dev/controlplane-build';
const HEARTBEAT_MS = 15_000;

/**
 * The envtest contract, per binary: `TEST_ASSET_KUBE_APISERVER` / `TEST_ASSET_ETCD` win over
 * `KUBEBUILDER_ASSETS` (a directory holding both). A binary not configured here is built.
 */
export function binariesFromEnv(env: NodeJS.ProcessEnv): Partial<Binaries> {
  const assets = nonEmpty(env['KUBEBUILDER_ASSETS']);
  const kubeApiserver =
    nonEmpty(env['TEST_ASSET_KUBE_APISERVER']) ?? (assets && join(assets, 'kube-apiserver'));
  const etcd = nonEmpty(env['TEST_ASSET_ETCD']) ?? (assets && join(assets, 'etcd'));
  return { ...(kubeApiserver && { kubeApiserver }), ...(etcd && { etcd }) };
}

/** `${BINDERY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/bindery}/controlplane/k8s-<v>-etcd-<v>` */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const root =
    nonEmpty(env['BINDERY_CACHE']) ??
    join(nonEmpty(env['XDG_CACHE_HOME']) ?? join(nonEmpty(env['HOME']) ?? homedir(), '.cache'), 'bindery');
  return join(root, 'controlplane', `k8s-${KUBERNETES_VERSION}-etcd-${ETCD_VERSION}`);
}

/**
 * The go.mod that builds kube-apiserver outside the Kubernetes repository: `k8s.io/kubernetes` itself
 * points its `k8s.io/*` staging modules at `./staging/src/...`, which a module dependency cannot see,
 * so every such replace becomes the published `v0.X.Y` release. The `go` and `godebug` lines are
 * copied so the binary gets the same runtime defaults as the release build.
 */
export function kubeApiserverGoMod(upstreamGoMod: string, kubernetesVersion = KUBERNETES_VERSION): string {
  const staging = stagingVersion(kubernetesVersion);
  const replaced = [...upstreamGoMod.matchAll(/^\s*(?:replace\s+)?(k8s\.io\/[\w.-]+)\s+=>\s+\.\/staging\//gm)]
    .map((m) => m[1])
    .filter((name) => name !== undefined);
  if (replaced.length === 0)
    throw new Error('the k8s.io/kubernetes go.mod has no ./staging replace directives');
  const goLine = /^go\s+(\S+)\s*$/m.exec(upstreamGoMod)?.[1] ?? '1.26.0';
  const godebug = upstreamGoMod.match(/^godebug\s+.*$/gm) ?? [];
  return [
    `module ${BUILD_MODULE}`,
    '',
    `go ${goLine}`,
    ...(godebug.length > 0 ? ['', ...godebug] : []),
    '',
    `require k8s.io/kubernetes ${kubernetesVersion}`,
    '',
    'replace (',
    ...[...new Set(replaced)].sort().map((name) => `\t${name} => ${name} ${staging}`),
    ')',
    '',
  ].join('\n');
}

export function etcdGoMod(etcdVersion = ETCD_VERSION, goVersion = '1.26.0'): string {
  return `module ${BUILD_MODULE}\n\ngo ${goVersion}\n\nrequire go.etcd.io/etcd/server/v3 ${etcdVersion}\n`;
}

/**
 * Finds kube-apiserver and etcd: the envtest variables first, then the version-keyed cache, and
 * otherwise builds what is missing with the Go toolchain (once; concurrent callers wait on a lock).
 */
export async function locateBinaries(options: LocateOptions = {}): Promise<Binaries> {
  const env = options.env ?? process.env;
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const configured = binariesFromEnv(env);
  for (const [name, path] of Object.entries(configured)) {
    if (!(await isExecutable(path))) {
      throw new Error(
        `${name === 'etcd' ? 'etcd' : 'kube-apiserver'} not found at ${path} (from ${envSource(name, env)})`,
      );
    }
  }
  const dir = cacheDir(env);
  const cached: Binaries = { kubeApiserver: join(dir, 'kube-apiserver'), etcd: join(dir, 'etcd') };
  const wanted = { ...cached, ...configured };
  if ((await isExecutable(wanted.kubeApiserver)) && (await isExecutable(wanted.etcd))) return wanted;

  const go = await findGo(env);
  if (go === undefined) {
    throw new Error(
      `kube-apiserver ${KUBERNETES_VERSION} and etcd ${ETCD_VERSION} were not found and cannot be built: ` +
        'there is no Go toolchain on PATH. Either install Go 1.26 or newer (https://go.dev/dl/) so they are ' +
        `built once into ${dir}, or point the envtest variables at existing binaries: ` +
        'KUBEBUILDER_ASSETS=<directory holding kube-apiserver and etcd> (for example from ' +
        '`setup-envtest use -p path`), or TEST_ASSET_KUBE_APISERVER and TEST_ASSET_ETCD.',
    );
  }
  await mkdir(dir, { recursive: true });
  await withLock(join(dir, '.build.lock'), log, options.signal, async () => {
    const ctx: BuildContext = { go, env, log, ...(options.signal && { signal: options.signal }) };
    // Re-check under the lock: another process may have built while we waited.
    if (!(await isExecutable(wanted.kubeApiserver))) await buildKubeApiserver(ctx, wanted.kubeApiserver);
    if (!(await isExecutable(wanted.etcd))) await buildEtcd(ctx, wanted.etcd);
  });
  return wanted;
}

interface BuildContext {
  go: string;
  env: NodeJS.ProcessEnv;
  log: (line: string) => void;
  signal?: AbortSignal;
}

async function buildKubeApiserver(ctx: BuildContext, out: string): Promise<void> {
  const started = Date.now();
  ctx.log(
    `controlplane: building kube-apiserver ${KUBERNETES_VERSION} (first time only; takes several minutes)`,
  );
  await inTempModule('kube-apiserver', async (dir) => {
    const upstream = await moduleGoMod(ctx, dir, `k8s.io/kubernetes@${KUBERNETES_VERSION}`);
    await writeFile(join(dir, 'go.mod'), kubeApiserverGoMod(upstream));
    await writeFile(
      join(dir, 'tools.go'),
      '//go:build tools\n\npackage tools\n\nimport _ "k8s.io/kubernetes/cmd/kube-apiserver"\n',
    );
    ctx.log('controlplane: resolving kube-apiserver dependencies (go mod tidy)');
    await runGo(ctx, dir, ['mod', 'tidy'], 'go mod tidy');
    // What the release build stamps in, so /version and the compatibility-version checks see 1.X.
    const [major, minor] = KUBERNETES_VERSION.slice(1).split('.');
    const stamp = ['k8s.io/component-base/version', 'k8s.io/client-go/pkg/version'].flatMap((pkg) => [
      `-X ${pkg}.gitVersion=${KUBERNETES_VERSION}`,
      `-X ${pkg}.gitMajor=${major}`,
      `-X ${pkg}.gitMinor=${minor}`,
      `-X ${pkg}.gitTreeState=clean`,
    ]);
    // -s -w: no symbol table or DWARF, a third smaller; panics still print stack traces.
    const ldflags = ['-s', '-w', ...stamp].join(' ');
    await compile(ctx, dir, 'kube-apiserver', out, [
      '-ldflags',
      ldflags,
      'k8s.io/kubernetes/cmd/kube-apiserver',
    ]);
  });
  ctx.log(`controlplane: built ${out} in ${elapsed(started)}`);
}

async function buildEtcd(ctx: BuildContext, out: string): Promise<void> {
  const started = Date.now();
  ctx.log(`controlplane: building etcd ${ETCD_VERSION} (first time only)`);
  // Its own module: etcd's dependency graph conflicts with Kubernetes'.
  await inTempModule('etcd', async (dir) => {
    const upstream = await moduleGoMod(ctx, dir, `go.etcd.io/etcd/server/v3@${ETCD_VERSION}`);
    await writeFile(join(dir, 'go.mod'), etcdGoMod(ETCD_VERSION, /^go\s+(\S+)\s*$/m.exec(upstream)?.[1]));
    // A main package of a dependency cannot be imported by a tools.go, so wrap etcdmain ourselves.
    await writeFile(
      join(dir, 'main.go'),
      'package main\n\nimport (\n\t"os"\n\n\t"go.etcd.io/etcd/server/v3/etcdmain"\n)\n\n' +
        'func main() { etcdmain.Main(os.Args) }\n',
    );
    ctx.log('controlplane: resolving etcd dependencies (go mod tidy)');
    await runGo(ctx, dir, ['mod', 'tidy'], 'go mod tidy');
    await compile(ctx, dir, 'etcd', out, ['-ldflags', '-s -w', '.']);
  });
  ctx.log(`controlplane: built ${out} in ${elapsed(started)}`);
}

async function inTempModule(name: string, fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), `bindery-build-${name}-`));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The go.mod a module version was published with, via the module proxy. */
async function moduleGoMod(ctx: BuildContext, dir: string, moduleAtVersion: string): Promise<string> {
  const stdout = await runGo(ctx, dir, ['mod', 'download', '-json', moduleAtVersion], 'go mod download');
  const info = JSON.parse(stdout) as { GoMod?: string; Error?: string };
  if (info.GoMod === undefined)
    throw new Error(`go mod download ${moduleAtVersion}: ${info.Error ?? 'no GoMod'}`);
  return readFile(info.GoMod, 'utf8');
}

/** Builds to a temporary name and renames, so a reader never sees half a binary. */
async function compile(
  ctx: BuildContext,
  dir: string,
  name: string,
  out: string,
  args: string[],
): Promise<void> {
  const tmp = `${out}.tmp-${process.pid}`;
  ctx.log(`controlplane: compiling ${name} (go build)`);
  let compiled = 0;
  let last = '';
  const heartbeat = setInterval(() => {
    ctx.log(`controlplane: still compiling ${name}: ${compiled} packages so far${last && `, at ${last}`}`);
  }, HEARTBEAT_MS);
  try {
    // -v names each package as it is compiled (cached ones are not): the heartbeat counts them.
    await runGo(ctx, dir, ['build', '-v', '-o', tmp, ...args], `go build ${name}`, (line) => {
      if (/^[\w.~-]+(\/[\w.~+-]+)*$/.test(line)) {
        compiled++;
        last = line;
        return true;
      }
      return false;
    });
    await rename(tmp, out);
  } finally {
    clearInterval(heartbeat);
    await rm(tmp, { force: true });
  }
}

/**
 * Runs go, passing its stderr through to the log (unless `quiet` claims a line), and returns stdout.
 * A failure carries the tail of the output.
 */
function runGo(
  ctx: BuildContext,
  cwd: string,
  args: string[],
  what: string,
  quiet?: (line: string) => boolean,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(ctx.go, args, {
      cwd,
      // Outside any go.work the user may have above the temp dir.
      env: { ...ctx.env, GOWORK: 'off' },
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(ctx.signal && { signal: ctx.signal }),
    });
    let stdout = '';
    const tail: string[] = [];
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    let partial = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        tail.push(line);
        if (tail.length > 40) tail.shift();
        if (!quiet?.(line)) ctx.log(`  ${line}`);
      }
    });
    child.on('error', reject);
    child.on('close', (code, sig) => {
      if (partial !== '') tail.push(partial);
      if (code === 0) resolve(stdout);
      // `go mod download -json` reports its errors on stdout.
      else
        reject(
          new Error(`${what} failed (${sig ?? `exit ${code}`}):\n${[...tail, stdout.trim()].join('\n')}`),
        );
    });
  });
}

/**
 * An exclusive-create lock file holding the owner's pid, so concurrent test processes never build twice.
 * A lock whose owner is dead is stale. (Two processes breaking the same stale lock may both build; that
 * is wasteful, not wrong: binaries are renamed into place atomically.)
 */
async function withLock(
  path: string,
  log: (line: string) => void,
  signal: AbortSignal | undefined,
  fn: () => Promise<void>,
): Promise<void> {
  let waitingSince = 0;
  for (;;) {
    signal?.throwIfAborted();
    try {
      const handle = await open(path, 'wx');
      await handle.writeFile(String(process.pid));
      await handle.close();
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const owner = await lockOwner(path);
    if (owner === 'stale') {
      await rm(path, { force: true });
      continue;
    }
    const now = Date.now();
    if (now - waitingSince >= HEARTBEAT_MS) {
      log(`controlplane: waiting for process ${owner} to finish building the binaries (${path})`);
      waitingSince = now;
    }
    await sleep(1000, undefined, signal ? { signal } : {});
  }
  try {
    await fn();
  } finally {
    await rm(path, { force: true });
  }
}

async function lockOwner(path: string): Promise<number | 'stale' | 'unknown'> {
  try {
    const [text, info] = await Promise.all([readFile(path, 'utf8'), stat(path)]);
    const pid = Number.parseInt(text, 10);
    // An empty file is a lock being written right now, unless it has been empty for long.
    if (Number.isNaN(pid)) return Date.now() - info.mtimeMs > 30_000 ? 'stale' : 'unknown';
    return isAlive(pid) ? pid : 'stale';
  } catch {
    return 'unknown'; // removed between our open and read: just retry
  }
}

/** `go` on PATH, else in $GOROOT. */
export async function findGo(env: NodeJS.ProcessEnv = process.env): Promise<string | undefined> {
  const candidates = [
    ...(env['PATH'] ?? '')
      .split(delimiter)
      .filter((dir) => dir !== '')
      .map((dir) => join(dir, 'go')),
    ...(nonEmpty(env['GOROOT']) ? [join(env['GOROOT'] ?? '', 'bin', 'go')] : []),
  ];
  for (const candidate of candidates) if (await isExecutable(candidate)) return candidate;
  return undefined;
}

async function isExecutable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

function envSource(name: string, env: NodeJS.ProcessEnv): string {
  const specific = name === 'etcd' ? 'TEST_ASSET_ETCD' : 'TEST_ASSET_KUBE_APISERVER';
  return nonEmpty(env[specific]) ? specific : 'KUBEBUILDER_ASSETS';
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

function elapsed(since: number): string {
  const s = Math.round((Date.now() - since) / 1000);
  return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}
