// Shared by the request-rate benchmarks (webhook, osb-broker): the server under test runs in a child
// process of the bench script (`<script> --server <kind>`), spoken to in lines over stdin and stdout,
// and a fixed number of requests is driven through it by concurrent loops.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { median, percentile } from './stats.ts';

/**
 * The child's side: prints `ready` (where it listens) as one JSON line, then answers each `cpu` line
 * with its CPU usage and exits after `stop` on a `stop` line.
 */
export function serveParent(ready: Record<string, unknown>, stop: () => Promise<void>): void {
  console.log(JSON.stringify(ready));
  createInterface({ input: process.stdin }).on('line', (line) => {
    if (line === 'cpu') console.log(JSON.stringify(process.cpuUsage()));
    if (line === 'stop') void stop().then(() => process.exit(0));
  });
}

export interface ServerProcess<Ready> {
  /** What the child printed first. */
  ready: Ready;
  /** The child's CPU time so far (user + system), in ms. */
  cpuMs(): Promise<number>;
  /** Asks the child to stop, and waits until it has exited. */
  stop(): Promise<void>;
}

/** Starts `script --server kind` in a child Node process (with `execArgv` flags) and reads its ready line. */
export async function spawnServer<Ready>(
  script: string,
  kind: string,
  execArgv: readonly string[] = [],
): Promise<ServerProcess<Ready>> {
  const child = spawn(process.execPath, [...execArgv, script, '--server', kind], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const nextLine = async (): Promise<string> => {
    const { value, done } = await lines.next();
    if (done) throw new Error('the server process exited');
    return value;
  };
  const ready = JSON.parse(await nextLine()) as Ready;
  return {
    ready,
    cpuMs: async () => {
      child.stdin.write('cpu\n');
      const u = JSON.parse(await nextLine()) as { user: number; system: number };
      return (u.user + u.system) / 1000;
    },
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = once(child, 'exit');
      child.stdin.end('stop\n');
      await exited;
    },
  };
}

export interface LoadFigures {
  rps: number;
  /** Latency percentiles, ms. */
  p50: number;
  p99: number;
  /** Server CPU (user + system) per timed request, µs. */
  cpuUs: number;
}

export interface LoadOptions {
  server: ServerProcess<unknown>;
  /** Sends one request, checks the answer, and returns its latency in ms. */
  send: () => Promise<number>;
  concurrency: number;
  /** Requests sent before measuring. */
  warmup: number;
  /** Requests measured. */
  count: number;
}

/** `warmup` requests, then `count` timed ones, `concurrency` in flight; the server's CPU over the timed ones. */
export async function measureLoad(options: LoadOptions): Promise<LoadFigures> {
  const { server, count } = options;
  await drive(options, options.warmup);
  const cpuBefore = await server.cpuMs();
  const { ms, latencies } = await drive(options, count);
  const cpuUs = (((await server.cpuMs()) - cpuBefore) * 1000) / count;
  return {
    rps: (count / ms) * 1000,
    p50: percentile(latencies, 0.5),
    p99: percentile(latencies, 0.99),
    cpuUs,
  };
}

async function drive(options: LoadOptions, total: number): Promise<{ ms: number; latencies: number[] }> {
  const latencies: number[] = [];
  let issued = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: options.concurrency }, async () => {
      while (issued < total) {
        issued++;
        latencies.push(await options.send());
      }
    }),
  );
  return { ms: performance.now() - started, latencies };
}

/**
 * `runs` rounds of `measure` over `kinds`, round-robin (a slow spell of a shared machine spreads over
 * every kind), each run printed; then the median of each figure, by kind.
 */
export async function medianRounds<K extends string>(
  kinds: readonly K[],
  runs: number,
  measure: (kind: K) => Promise<LoadFigures>,
): Promise<Record<K, LoadFigures>> {
  const results = new Map<K, LoadFigures[]>(kinds.map((k) => [k, []]));
  for (let run = 1; run <= runs; run++) {
    for (const kind of kinds) {
      const r = await measure(kind);
      results.get(kind)?.push(r);
      console.log(
        `run ${run} ${kind.padEnd(8)}: ${r.rps.toFixed(0)} requests/s, p50 ${r.p50.toFixed(2)} ms, ` +
          `p99 ${r.p99.toFixed(2)} ms, server CPU ${r.cpuUs.toFixed(0)} µs/request`,
      );
    }
  }
  const medians = (figures: LoadFigures[]): LoadFigures => ({
    rps: median(figures.map((r) => r.rps)),
    p50: median(figures.map((r) => r.p50)),
    p99: median(figures.map((r) => r.p99)),
    cpuUs: median(figures.map((r) => r.cpuUs)),
  });
  return Object.fromEntries(kinds.map((k) => [k, medians(results.get(k) ?? [])])) as Record<K, LoadFigures>;
}
