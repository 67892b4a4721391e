// What a process costs before it does anything: RSS and V8 heap after importing a module (and a
// full GC), and the time the import took, each in a fresh Node process. The child is plain
// JavaScript (`node -e`), so the TypeScript type stripper is loaded only when a scenario imports
// a .ts file (`@bindery/*` from the checkout are TypeScript sources, run as they are). The
// "built" scenarios import the same packages compiled and installed from their tarballs, as the
// image runs them (bench/manager-process.ts; built once per tree, then cached).
// Run: node bench/startup.bench.ts [runs]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { productionInstall } from './manager-process.ts';
import { machine, median } from './stats.ts';

interface Figures {
  importMs: number;
  rssMiB: number;
  heapUsedMiB: number;
  externalMiB: number;
}

const runs = Number(process.argv[2] ?? 5);
const dir = mkdtempSync(join(tmpdir(), 'bindery-startup-'));
const emptyTs = join(dir, 'empty.ts');
writeFileSync(emptyTs, 'const x: number = 1;\nexport default x;\n');

const sourcesDir = join(import.meta.dirname, '..', 'packages', 'servicebinding');
const builtDir = await productionInstall();

/** Name, modules imported, and the directory bare names resolve from. */
const scenarios: Array<[string, string[]] | [string, string[], string]> = [
  ['node, nothing imported', []],
  ['one empty .ts file (the type stripper)', [emptyTs]],
  ['undici', ['undici']],
  ['prom-client', ['prom-client']],
  ['pino', ['pino']],
  ['yaml', ['yaml']],
  // Gone from the dependencies (docs/benchmarks.md); measured where it is still installed.
  ['@kubernetes/client-node', ['@kubernetes/client-node']],
  ['@bindery/kube', ['@bindery/kube']],
  ['@bindery/runtime', ['@bindery/runtime']],
  ['@bindery/servicebinding (the manager)', ['@bindery/servicebinding']],
  ['@bindery/kube, built', ['@bindery/kube'], builtDir],
  ['@bindery/runtime, built', ['@bindery/runtime'], builtDir],
  ['@bindery/servicebinding (the manager), built', ['@bindery/servicebinding'], builtDir],
];

function measure(modules: string[], cwd = sourcesDir): Figures | undefined {
  const script = `
    const started = performance.now();
    for (const m of ${JSON.stringify(modules)}) await import(m);
    const importMs = performance.now() - started;
    globalThis.gc();
    const m = process.memoryUsage();
    console.log(JSON.stringify({ importMs, rssMiB: m.rss / 2 ** 20, heapUsedMiB: m.heapUsed / 2 ** 20, externalMiB: m.external / 2 ** 20 }));`;
  try {
    const out = execFileSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', script], {
      // Bare names resolve from the servicebinding package, which depends on all the others.
      cwd,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 120_000,
    });
    return JSON.parse(out) as Figures;
  } catch {
    return undefined; // not installed
  }
}

try {
  const results = new Map<string, Figures[]>(scenarios.map(([name]) => [name, []]));
  for (let run = 0; run < runs; run++) {
    for (const [name, modules, cwd] of scenarios) {
      const figures = measure(modules, cwd);
      if (figures) results.get(name)?.push(figures);
    }
  }
  console.log(`\nStart-up cost, median of ${runs} fresh processes; ${machine()}\n`);
  console.log(
    '| imported | RSS (MiB) | V8 heap used (MiB) | external (MiB) | import (ms) |\n|---|---|---|---|---|',
  );
  for (const [name] of scenarios) {
    const rs = results.get(name) ?? [];
    if (rs.length === 0) {
      console.log(`| ${name} | not installed | | | |`);
      continue;
    }
    const med = (f: (r: Figures) => number): string => median(rs.map(f)).toFixed(0);
    console.log(
      `| ${name} | ${med((r) => r.rssMiB)} | ${med((r) => r.heapUsedMiB)} | ${med((r) => r.externalMiB)} | ${med((r) => r.importMs)} |`,
    );
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
