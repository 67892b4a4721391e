// Packs the production artifacts: @bindery/kube, osb-broker, runtime, osb, bindings and servicebinding (with the
// `bindery` bin) as npm tarballs of compiled JavaScript.
//
// Why a build: the workspace packages export their .ts sources, which Node runs directly in the
// repository, but Node refuses to strip types under node_modules
// (ERR_UNSUPPORTED_NODE_MODULES_TYPE_STRIPPING), so an installed package must ship .js. The
// repository's package.json files keep pointing at src/ (tests, dev mode and the other packages
// run the sources with no build step); each package is staged with its package.json rewritten to
// dist/, and packed from there. Nothing in the checkout is modified.
//
// Run: node packages/servicebinding/src/cli/pack.ts [outDir]   (npm run pack:production)

import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const repo = fileURLToPath(new URL('../../../../', import.meta.url));

/** In dependency order. */
export const productionPackages = [
  'kube',
  'osb-broker',
  'runtime',
  'osb',
  'bindings',
  'servicebinding',
] as const;

export interface PackOptions {
  /** Where the tarballs go. */
  outDir: string;
  signal?: AbortSignal;
}

export interface PackedPackage {
  name: string;
  /** Absolute path of the .tgz. */
  tarball: string;
}

interface PackageJson {
  name: string;
  /** In the repository: subpath → ./src/**.ts. */
  exports?: Record<string, string | { types: string; default: string }>;
  bin?: Record<string, string>;
  scripts?: unknown;
  devDependencies?: unknown;
  [key: string]: unknown;
}

/** `./src/a/b.ts` → `./dist/a/b.js` (the layout tsconfig.build.json emits). */
function toDist(path: string, extension: '.js' | '.d.ts'): string {
  if (!path.startsWith('./src/') || !path.endsWith('.ts')) {
    throw new Error(`cannot map ${path} to dist/: expected ./src/**.ts`);
  }
  return `./dist/${path.slice('./src/'.length, -'.ts'.length)}${extension}`;
}

/** The published package.json: entry points in dist/, no development fields. */
export function productionManifest(pkg: PackageJson): PackageJson {
  const { scripts: _scripts, devDependencies: _dev, ...rest } = pkg;
  return {
    ...rest,
    ...(pkg.exports && {
      exports: Object.fromEntries(
        Object.entries(pkg.exports).map(([key, path]) => {
          if (typeof path !== 'string') throw new Error(`${pkg.name}: exports[${key}] is not a path`);
          return [key, { types: toDist(path, '.d.ts'), default: toDist(path, '.js') }];
        }),
      ),
    }),
    ...(pkg.bin && {
      bin: Object.fromEntries(Object.entries(pkg.bin).map(([key, path]) => [key, toDist(path, '.js')])),
    }),
  };
}

/** Type-checks and compiles the production packages, stages each with its production manifest, and packs it. */
export async function packProduction(options: PackOptions): Promise<PackedPackage[]> {
  const outDir = resolve(options.outDir);
  const signal = options.signal;
  await mkdir(outDir, { recursive: true });
  const stage = await mkdtemp(join(tmpdir(), 'bindery-pack-'));
  try {
    const build = join(stage, 'build');
    const tsc = join(repo, 'node_modules', 'typescript', 'bin', 'tsc');
    try {
      await run(process.execPath, [tsc, '-p', join(repo, 'tsconfig.build.json'), '--outDir', build], {
        cwd: repo,
        ...(signal && { signal }),
        maxBuffer: 16 * 1024 * 1024,
      });
    } catch (err) {
      const out = (err as { stdout?: string }).stdout ?? '';
      throw new Error(`tsc -p tsconfig.build.json failed:\n${out}`, { cause: err });
    }
    const packed: PackedPackage[] = [];
    for (const dir of productionPackages) {
      const source = join(repo, 'packages', dir);
      const target = join(stage, dir);
      await mkdir(target, { recursive: true });
      await cp(join(build, dir, 'src'), join(target, 'dist'), { recursive: true });
      const pkg = JSON.parse(await readFile(join(source, 'package.json'), 'utf8')) as PackageJson;
      await writeFile(join(target, 'package.json'), `${JSON.stringify(productionManifest(pkg), null, 2)}\n`);
      // Every published package says what it is: a package without a README fails the pack.
      await cp(join(source, 'README.md'), join(target, 'README.md')).catch((err: unknown) => {
        throw new Error(`${pkg.name}: packages/${dir}/README.md is missing`, { cause: err });
      });
      await cp(join(source, 'LICENSE'), join(target, 'LICENSE')).catch(() => undefined);
      const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', outDir], {
        cwd: target,
        ...(signal && { signal }),
      });
      const [info] = JSON.parse(stdout) as Array<{ filename: string }>;
      if (!info) throw new Error(`npm pack printed no tarball for ${pkg.name}`);
      packed.push({ name: pkg.name, tarball: join(outDir, info.filename) });
    }
    return packed;
  } finally {
    await rm(stage, { recursive: true, force: true });
  }
}

if (import.meta.main) {
  const outDir = process.argv[2] ?? join(repo, 'dist', 'tarballs');
  for (const { tarball } of await packProduction({ outDir })) process.stdout.write(`${tarball}\n`);
}
