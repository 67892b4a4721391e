// Shared by the request-rate benchmarks (webhook, osb-broker): the server under test runs in a child
// process of the bench script (`<script> --server <kind>`), spoken to in lines over stdin and stdout,
// and a fixed number of requests is driven through it by concurrent loops, against a bare baseline.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer as createHttpServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createInterface } from 'node:readline';
import { Pool } from 'undici';
import type { Dispatcher } from 'undici';
import { median, percentile, report } from './stats.ts';

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

/** Connections kept alive by the client, and loops sending on them: an API server's fan-out. */
export const CONCURRENCY = 16;
/** Requests sent to a fresh server before measuring. */
export const WARMUP = 1_000;

/**
 * The baseline a request-rate bench compares with: a bare node:http (or, with `tls`, node:https)
 * server on loopback that parses each request's JSON body and answers `answer(body)` with `status`.
 */
export async function baselineServer(options: {
  tls?: { cert: string; key: string };
  status: number;
  answer: (body: unknown) => unknown;
}): Promise<{ port: number; stop: () => Promise<void> }> {
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.stringify(options.answer(JSON.parse(Buffer.concat(chunks).toString('utf8'))));
      res.writeHead(options.status, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
      });
      res.end(body);
    });
  };
  const server = options.tls
    ? createHttpsServer({ ...options.tls, keepAliveTimeout: 100_000 }, handler)
    : createHttpServer({ keepAliveTimeout: 65_000 }, handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  server.closeIdleConnections();
  return {
    port: (server.address() as { port: number }).port,
    stop: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

export interface RequestLoadOptions {
  server: ServerProcess<unknown>;
  /** `http(s)://127.0.0.1:<port>`. */
  origin: string;
  /** TLS options of the connections (the server's CA). */
  connect?: { ca: string; rejectUnauthorized: boolean };
  /** The i-th request (from 1). */
  request: (i: number) => Dispatcher.RequestOptions;
  /** Whether an answer is the one expected; anything else ends the bench. */
  accept: (status: number, answer: unknown) => boolean;
  count: number;
}

/** `measureLoad` of requests sent over an undici Pool of `CONCURRENCY` connections; stops the server after. */
export async function measureRequests(options: RequestLoadOptions): Promise<LoadFigures> {
  const pool = new Pool(options.origin, {
    connections: CONCURRENCY,
    pipelining: 1,
    ...(options.connect && { connect: options.connect }),
  });
  let sequence = 0;
  const send = async (): Promise<number> => {
    const started = performance.now();
    const res = await pool.request(options.request(++sequence));
    const answer = await res.body.json();
    if (!options.accept(res.statusCode, answer)) {
      throw new Error(`unexpected answer ${res.statusCode}: ${JSON.stringify(answer)}`);
    }
    return performance.now() - started;
  };
  try {
    return await measureLoad({
      server: options.server,
      send,
      concurrency: CONCURRENCY,
      warmup: WARMUP,
      count: options.count,
    });
  } finally {
    await pool.close();
    await options.server.stop();
  }
}

export interface BaselineComparison<K extends string> {
  /** The server under test, measured against `baseline`. */
  subject: K;
  /** What `subject` serves, e.g. `provision requests/s`. */
  rateLabel: string;
  /** What the baseline is, e.g. `bare node:http, parse + constant answer`. */
  baselineLabel: string;
  /** Printed before the runs (the request's size). */
  body: string;
  title: (count: number) => string;
  measure: (kind: K | 'baseline', count: number) => Promise<LoadFigures>;
}

/**
 * The main of a request-rate bench (`<script> [requests] [runs]`): medians of several rounds of the
 * subject and the baseline, reported side by side.
 */
export async function compareWithBaseline<K extends string>(options: BaselineComparison<K>): Promise<void> {
  const count = Number(process.argv[2] ?? 20_000);
  const runs = Number(process.argv[3] ?? 5);
  console.log(
    `request body: ${options.body.length} bytes; ${CONCURRENCY} connections; ${WARMUP} warm-up + ${count} requests`,
  );
  const medians = await medianRounds([options.subject, 'baseline'] as const, runs, (kind) =>
    options.measure(kind, count),
  );
  const s = medians[options.subject];
  const b = medians['baseline'];
  report(options.title(count), [
    [options.rateLabel, s.rps],
    ['p50 latency (ms)', s.p50],
    ['p99 latency (ms)', s.p99],
    ['server CPU per request (µs, user + system)', s.cpuUs],
    [`baseline (${options.baselineLabel}): requests/s`, b.rps],
    ['baseline p50 latency (ms)', b.p50],
    ['baseline p99 latency (ms)', b.p99],
    ['baseline server CPU per request (µs)', b.cpuUs],
  ]);
}
