// What the kube transport costs a process once it is used: RSS after importing @bindery/kube, after
// one request, and after N more (8 in flight, so 8 kept-alive connections), each after a full GC;
// and its CPU per request. Each run is a fresh child process; the server is this process (a bare
// node:http one answering a small JSON body), so the child's figures are the client's alone.
// `BENCH_TREES='before=/path/to/other/checkout;after=.'` measures other checkouts' transport
// round-robin with this one (default: this checkout only).
// Run: node bench/transport.bench.ts [requests] [runs]
import { execFile } from 'node:child_process';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import type * as KubeModule from '@bindery/kube';
import { machine, median } from './stats.ts';

interface Figures {
  importedMiB: number;
  oneRequestMiB: number;
  afterMiB: number;
  cpuUsPerRequest: number;
  requestsPerSecond: number;
}

const inFlight = 8;

if (process.argv[2] === '--child') {
  const [, , , tree = '.', port = '0', requests = '4000'] = process.argv;
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('the child runs with --expose-gc');
  const rss = (): number => {
    gc();
    return process.memoryUsage().rss / 2 ** 20;
  };
  const kube = (await import(
    pathToFileURL(join(tree, 'packages/kube/src/index.ts')).href
  )) as typeof KubeModule;
  const kubeConfig = kube.KubeConfig.fromString(
    JSON.stringify({
      clusters: [{ name: 'bench', cluster: { server: `http://127.0.0.1:${port}` } }],
      users: [{ name: 'bench', user: {} }],
      contexts: [{ name: 'bench', context: { cluster: 'bench', user: 'bench' } }],
      'current-context': 'bench',
    }),
  );
  const importedMiB = rss();
  const client = new kube.KubeClient({ kubeConfig });
  await client.request({ method: 'GET', path: '/version' });
  const oneRequestMiB = rss();
  const rounds = Math.ceil(Number(requests) / inFlight);
  const cpu = process.cpuUsage();
  const started = performance.now();
  for (let i = 0; i < rounds; i++) {
    await Promise.all(
      Array.from({ length: inFlight }, () => client.request({ method: 'GET', path: '/version' })),
    );
  }
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  const figures: Figures = {
    importedMiB,
    oneRequestMiB,
    afterMiB: rss(),
    cpuUsPerRequest: (used.user + used.system) / (rounds * inFlight),
    requestsPerSecond: (rounds * inFlight) / seconds,
  };
  await client.close();
  process.stdout.write(JSON.stringify(figures));
  process.exit(0);
}

const requests = Number(process.argv[2] ?? 4000);
const runs = Number(process.argv[3] ?? 5);
const trees = (process.env['BENCH_TREES'] ?? 'this checkout=.').split(';').map((entry) => {
  const [label = '', dir = '.'] = entry.split('=');
  return { label, dir: resolve(dir) };
});

const body = JSON.stringify({ major: '1', minor: '34', gitVersion: 'v1.34.0', platform: 'linux/amd64' });
// Not imported by name at the top: the child runs this file too, and an ES module import of
// node:http loads Node's internal undici (9 MiB), which would be counted against the transport.
const { createServer } = process.getBuiltinModule('node:http');
const server = createServer((_, res) => {
  res.writeHead(200, { 'content-type': 'application/json' }).end(body);
});
await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
const port = (server.address() as { port: number }).port;
const run = promisify(execFile);

const results = new Map<string, Figures[]>(trees.map((t) => [t.label, []]));
const loads: number[] = [];
for (let i = 1; i <= runs; i++) {
  for (const tree of trees) {
    loads.push(loadavg()[0] ?? 0);
    const { stdout } = await run(
      process.execPath,
      ['--expose-gc', import.meta.filename, '--child', tree.dir, String(port), String(requests)],
      { timeout: 300_000 },
    );
    const figures = JSON.parse(stdout) as Figures;
    results.get(tree.label)?.push(figures);
    console.log(
      `run ${i}, ${tree.label}: RSS ${figures.importedMiB.toFixed(0)} → ${figures.oneRequestMiB.toFixed(0)} → ` +
        `${figures.afterMiB.toFixed(0)} MiB, ${figures.cpuUsPerRequest.toFixed(0)} µs CPU/request, ` +
        `${figures.requestsPerSecond.toFixed(0)} requests/s`,
    );
  }
}
server.close();

const rows: Array<[string, (f: Figures) => number, number]> = [
  ['RSS after importing @bindery/kube (MiB)', (f) => f.importedMiB, 0],
  ['RSS after one request (MiB)', (f) => f.oneRequestMiB, 0],
  [`RSS after ${requests} more, ${inFlight} in flight (MiB)`, (f) => f.afterMiB, 0],
  ['client CPU per request (µs)', (f) => f.cpuUsPerRequest, 0],
  ['requests/s', (f) => f.requestsPerSecond, 0],
];
console.log(
  `\nkube transport, median of ${runs} fresh processes; ${machine()}; load average ` +
    `${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)}\n`,
);
console.log(`| measure | ${trees.map((t) => t.label).join(' | ')} |`);
console.log(`|---|${trees.map(() => '---').join('|')}|`);
for (const [name, pick, digits] of rows) {
  const cells = trees.map((t) => median((results.get(t.label) ?? []).map(pick)).toFixed(digits));
  console.log(`| ${name} | ${cells.join(' | ')} |`);
}
