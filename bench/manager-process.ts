// Starts the benches' manager process (manager-child.ts) and talks to it over IPC.
//
// By default the manager runs as the production image runs it: the packages packed and compiled by
// `npm run pack:production`, installed from their tarballs without development dependencies
// (`npm install --omit=dev --prefer-offline`, as the Dockerfile's second stage does), and plain
// JavaScript, so Node never loads its type stripper. The install is cached per hash of what goes
// into it (~/.cache/bindery/bench-manager/<hash>, the six most recently used kept), so only the first
// run after a change pays for the build. `sources` (the variant word, or `BENCH_MANAGER_FROM=sources`)
// runs the TypeScript sources of the checkout instead, as the tests do.
import { execFile, fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, relative } from 'node:path';
import { stripTypeScriptTypes } from 'node:module';
import { promisify } from 'node:util';
import type { FromManager, ManagerReport, ToManager } from './manager-child.ts';

export type { Counts, ManagerReport, MemoryFigures } from './manager-child.ts';

const run = promisify(execFile);
const repo = join(import.meta.dirname, '..');
const childSource = join(import.meta.dirname, 'manager-child.ts');
const cacheRoot = join(homedir(), '.cache', 'bindery', 'bench-manager');

/** How a manager process is started: from the built packages or the sources, Node flags, environment. */
export interface Variant {
  label: string;
  from: 'built' | 'sources';
  /**
   * Another checkout than this one (`tree=<dir>`): its production install, or with `sources` its
   * sources (run through its own copy of bench/manager-child.ts).
   */
  tree?: string;
  execArgv: string[];
  env: Record<string, string>;
}

/**
 * Parses `BENCH_MANAGER_VARIANTS='default;sources --max-semi-space-size=2 MALLOC_ARENA_MAX=2'`
 * (`;`-separated; each a space-separated list of Node flags, `NAME=value` environment variables,
 * the words `sources` or `built`, and `tree=<dir>` for the built manager of another checkout), else
 * `BENCH_MANAGER_ARGS` (one such), else `default`.
 */
export function variants(): Variant[] {
  const spec = process.env['BENCH_MANAGER_VARIANTS'] ?? process.env['BENCH_MANAGER_ARGS'] ?? 'default';
  const defaultFrom = process.env['BENCH_MANAGER_FROM'] === 'sources' ? 'sources' : 'built';
  return spec.split(';').map((label) => {
    const words = label
      .trim()
      .split(' ')
      .filter((w) => w !== '' && w !== 'default');
    const env: Record<string, string> = {};
    for (const w of words.filter((w) => /^[A-Z_]+=/.test(w))) {
      const [k = '', v = ''] = w.split('=');
      env[k] = v;
    }
    const from = words.includes('sources') ? 'sources' : words.includes('built') ? 'built' : defaultFrom;
    const tree = words.find((w) => w.startsWith('tree='))?.slice('tree='.length);
    return {
      label: label.trim() || 'default',
      from,
      ...(tree && { tree }),
      execArgv: words.filter(
        (w) => !/^[A-Z_]+=/.test(w) && w !== 'sources' && w !== 'built' && !w.startsWith('tree='),
      ),
      env,
    };
  });
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries
    .filter((e) => e.isFile() && !e.name.endsWith('.test.ts'))
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

/** A hash of everything a tree's production install is made of: sources, manifests, lock, compiler settings. */
async function treeHash(tree: string): Promise<string> {
  const files = ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json'].map((f) =>
    join(tree, f),
  );
  for (const p of (await readdir(join(tree, 'packages'))).sort()) {
    files.push(join(tree, 'packages', p, 'package.json'), join(tree, 'packages', p, 'README.md'));
    files.push(...(await filesUnder(join(tree, 'packages', p, 'src'))));
  }
  const hash = createHash('sha256');
  for (const f of files) {
    hash.update(relative(tree, f));
    hash.update(await readFile(f).catch(() => Buffer.alloc(0)));
  }
  hash.update(await readFile(childSource));
  return hash.digest('hex').slice(0, 16);
}

const installs = new Map<string, Promise<string>>();

/** Installs kept in the cache (about 25 MB each), the most recently used. */
const keptInstalls = 6;

/** Removes all but the `keep` most recently used installs, and builds abandoned a day ago. */
async function pruneInstalls(keep: number): Promise<void> {
  const entries = await Promise.all(
    (await readdir(cacheRoot)).map(async (name) => ({
      name,
      mtimeMs: (await stat(join(cacheRoot, name))).mtimeMs,
    })),
  );
  const dayAgo = Date.now() - 24 * 3600_000;
  const stale = [
    ...entries
      .filter((e) => !e.name.startsWith('build-'))
      .sort((a, b) => b.mtimeMs - a.mtimeMs)
      .slice(keep),
    ...entries.filter((e) => e.name.startsWith('build-') && e.mtimeMs < dayAgo),
  ];
  for (const e of stale) await rm(join(cacheRoot, e.name), { recursive: true, force: true });
}

/**
 * The directory holding the production install of `tree` (default this checkout) and
 * `manager-child.mjs`, built on first use (a minute or more: `npm run pack:production` of the tree,
 * which compiles and packs each package, then `npm install` of the tarballs). Another tree (say, a
 * `git archive` of an older commit, with a `node_modules` that has typescript) measures that
 * commit's manager with this bench's harness.
 */
export function productionInstall(tree = repo): Promise<string> {
  let install = installs.get(tree);
  if (!install) {
    install = build(tree);
    installs.set(tree, install);
  }
  return install;
}

async function build(tree: string): Promise<string> {
  const target = join(cacheRoot, await treeHash(tree));
  if (existsSync(join(target, 'manager-child.mjs'))) {
    const now = new Date();
    await utimes(target, now, now); // most recently used: kept by the pruning below
    return target;
  }
  await mkdir(cacheRoot, { recursive: true });
  const work = await mkdtemp(join(cacheRoot, 'build-'));
  try {
    const started = performance.now();
    console.error(`  building the production install of ${tree} for the manager (${target}) …`);
    const { stdout } = await run(
      process.execPath,
      [join(tree, 'packages/servicebinding/src/cli/pack.ts'), join(work, 'tarballs')],
      { cwd: tree, maxBuffer: 16 * 2 ** 20 },
    );
    const tarballs = stdout.split('\n').filter((l) => l.endsWith('.tgz'));
    const app = join(work, 'app');
    await mkdir(app);
    await writeFile(join(app, 'package.json'), '{ "name": "bench-manager", "private": true }\n');
    await run('npm', ['install', '--omit=dev', '--no-audit', '--no-fund', '--prefer-offline', ...tarballs], {
      cwd: app,
    });
    // Written last: its presence marks a complete install.
    const js = stripTypeScriptTypes(await readFile(childSource, 'utf8'), { mode: 'strip' });
    await writeFile(join(app, 'manager-child.mjs'), js);
    await rename(app, target).catch((err: unknown) => {
      // Another bench built the same tree meanwhile: use that one.
      if (!existsSync(join(target, 'manager-child.mjs'))) throw err;
    });
    console.error(`  built in ${((performance.now() - started) / 1000).toFixed(0)} s`);
    await pruneInstalls(keptInstalls);
    return target;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

export interface ManagerProcess {
  child: ChildProcess;
  /** Resolves with the caches synced, ms after spawn. */
  ready: Promise<number>;
  report(options?: { gc?: boolean; heapSnapshotDir?: string }): Promise<ManagerReport>;
  /** Stops the manager and waits for its process to exit. */
  stop(): Promise<void>;
}

/** Spawns a manager process for `kubeconfig`, as `variant` says. */
export async function startManager(kubeconfig: string, variant: Variant): Promise<ManagerProcess> {
  const program =
    variant.from === 'built'
      ? join(await productionInstall(variant.tree), 'manager-child.mjs')
      : variant.tree
        ? join(variant.tree, 'bench', 'manager-child.ts')
        : childSource;
  if (!existsSync(program)) throw new Error(`${program} is missing: copy bench/manager-child.ts there`);
  const child = fork(program, [kubeconfig], {
    execArgv: variant.execArgv,
    env: { ...process.env, ...variant.env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const inbox: Array<{ resolve: (msg: FromManager) => void; reject: (err: Error) => void }> = [];
  const exited = new Promise<void>((resolve) =>
    child.once('exit', (code) => {
      for (const waiter of inbox.splice(0)) waiter.reject(new Error(`manager process exited with ${code}`));
      resolve();
    }),
  );
  child.on('message', (msg: FromManager) => inbox.shift()?.resolve(msg));
  const receive = <K extends FromManager['type']>(type: K): Promise<Extract<FromManager, { type: K }>> =>
    new Promise((resolve, reject) => {
      inbox.push({
        resolve: (msg) =>
          msg.type === type ? resolve(msg as Extract<FromManager, { type: K }>) : reject(new Error(msg.type)),
        reject,
      });
    });
  const ready = receive('ready').then((m) => m.syncedMs);
  return {
    child,
    ready,
    report: async (options = {}) => {
      await ready;
      const answer = receive('report');
      child.send({ type: 'report', ...options } satisfies ToManager);
      const { type: _type, ...report } = await answer;
      return report;
    },
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null)
        child.send({ type: 'stop' } satisfies ToManager);
      await exited;
    },
  };
}
