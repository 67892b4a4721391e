import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * The packages a fresh Node process loads when it imports `modules` (each resolved from this
 * file), found with a resolve hook so CommonJS `require`s inside packages are seen too; Node's
 * internal copy of undici (what fetch and WebSocket run on) is listed as `node:internal/undici`.
 */
async function packagesLoaded(modules: string[]): Promise<Set<string>> {
  const script = `
    import { registerHooks } from 'node:module';
    const urls = new Set();
    registerHooks({ resolve: (specifier, context, next) => { const r = next(specifier, context); urls.add(r.url); return r; } });
    for (const m of ${JSON.stringify(modules.map((m) => import.meta.resolve(m)))}) await import(m);
    if (process.moduleLoadList.some((m) => m.includes('internal/deps/undici'))) urls.add('node:internal/undici');
    process.stdout.write(JSON.stringify([...urls]));
  `;
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { timeout: 60_000 });
  const names = (JSON.parse(stdout) as string[]).flatMap((url) => {
    if (url === 'node:internal/undici') return [url];
    const match = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
    return match?.[1] ? [match[1]] : [];
  });
  return new Set(names);
}

// undici is 28 MiB of RSS (docs/benchmarks.md): the kube transport is on node:https, and the OSB
// client, the only user of undici, loads it with its first request to a broker. Node's internal
// copy (9 MiB) comes with an ES module import of node:http's named exports, so the manager gets
// node:http from process.getBuiltinModule.
describe('what the manager loads', () => {
  it('bindery manager without --osb never loads undici', async () => {
    const loaded = await packagesLoaded(['./manager.ts', '@bindery/servicebinding', '@bindery/osb']);
    assert.ok(loaded.has('pino'), `the hook sees packages: ${[...loaded].join(', ')}`);
    assert.equal(loaded.has('undici'), false, [...loaded].join(', '));
    assert.equal(loaded.has('node:internal/undici'), false, [...loaded].join(', '));
  });

  it("sees undici where it is loaded, and Node's own where node:http is imported by name", async () => {
    assert.equal((await packagesLoaded(['undici'])).has('undici'), true);
    const http = await packagesLoaded(['data:text/javascript,import { request } from "node:http";']);
    assert.equal(http.has('node:internal/undici'), true);
  });
});
