// OSB requests per second, latency and server CPU of the broker SDK's BrokerServer, for provision
// PUTs that it checks in full (basic auth, version header, body fields, catalog look-up, a draft-04
// parameter schema) before an in-memory broker answers 201. Plain HTTP on loopback. The server runs
// in a child process (its own core on a 2-vCPU machine); this process is the client: an undici Pool
// of 16 kept-alive connections and 16 async loops. Each run also measures a baseline: a bare
// node:http server that parses the body and answers a constant, so what the SDK itself costs reads
// apart from HTTP and JSON.
// Run: node bench/osb-broker.bench.ts [requests] [runs]
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createInterface } from 'node:readline';
import { Pool } from 'undici';
import { pino } from 'pino';
import { BrokerServer, basicAuth } from '@bindery/osb-broker';
import type { Broker, Catalog } from '@bindery/osb-broker';
import { median, report } from './stats.ts';

const CONCURRENCY = 16;
const WARMUP = 1_000;
const AUTH = `Basic ${Buffer.from('platform:bench-password').toString('base64')}`;

const catalog: Catalog = {
  services: [
    {
      id: 'svc',
      name: 'db',
      description: 'a database',
      bindable: true,
      plans: [
        {
          id: 'small',
          name: 'small',
          description: 'small',
          schemas: {
            service_instance: {
              create: {
                parameters: {
                  $schema: 'http://json-schema.org/draft-04/schema#',
                  type: 'object',
                  properties: {
                    database: { type: 'string', pattern: '^[a-z][a-z0-9_]{0,62}$' },
                    connectionLimit: { type: 'integer', minimum: 1, maximum: 100 },
                  },
                  additionalProperties: false,
                },
              },
            },
          },
        },
      ],
    },
  ],
};

interface RunFigures {
  rps: number;
  p50: number;
  p99: number;
  /** Server CPU (user + system) per request, µs. */
  cpuUs: number;
}

if (process.argv[2] === '--server') {
  const kind = process.argv[3];
  let port: number;
  let stop: () => Promise<void>;
  if (kind === 'broker') {
    const created = new Set<string>();
    const broker: Broker = {
      catalog: () => catalog,
      provision: (req) => {
        created.add(req.instanceId);
        return Promise.resolve({ status: 201, dashboard_url: 'https://dashboard.example' });
      },
      update: () => Promise.resolve({ status: 200 }),
      deprovision: () => Promise.resolve({ status: 200 }),
      lastOperation: () => Promise.resolve({ state: 'succeeded' }),
      bind: () => Promise.resolve({ status: 201, credentials: {} }),
      unbind: () => Promise.resolve({ status: 200 }),
    };
    const server = new BrokerServer({
      broker,
      auth: [basicAuth({ username: 'platform', password: 'bench-password' })],
      port: 0,
      log: pino({ level: 'warn' }),
    });
    await server.listen();
    port = server.port;
    stop = () => server.stop();
  } else {
    const server = createServer({ keepAliveTimeout: 65_000 }, (req: IncomingMessage, res: ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        JSON.parse(Buffer.concat(chunks).toString('utf8'));
        const body = JSON.stringify({ dashboard_url: 'https://dashboard.example' });
        res.writeHead(201, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
        res.end(body);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as { port: number }).port;
    stop = () => new Promise((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
  }
  console.log(JSON.stringify({ port }));
  createInterface({ input: process.stdin }).on('line', (line) => {
    if (line === 'cpu') console.log(JSON.stringify(process.cpuUsage()));
    if (line === 'stop') void stop().then(() => process.exit(0));
  });
} else {
  const count = Number(process.argv[2] ?? 20_000);
  const runs = Number(process.argv[3] ?? 5);
  const body = JSON.stringify({
    service_id: 'svc',
    plan_id: 'small',
    organization_guid: 'cluster-id',
    space_guid: 'namespace-uid',
    context: { platform: 'kubernetes', namespace: 'default', clusterid: 'cluster-id', instance_name: 'db' },
    parameters: { database: 'orders', connectionLimit: 20 },
  });
  console.log(
    `request body: ${body.length} bytes; ${CONCURRENCY} connections; ${WARMUP} warm-up + ${count} requests`,
  );
  const results: Record<'broker' | 'baseline', RunFigures[]> = { broker: [], baseline: [] };
  for (let run = 1; run <= runs; run++) {
    for (const kind of ['broker', 'baseline'] as const) {
      const r = await measure(kind, body, count);
      results[kind].push(r);
      console.log(
        `run ${run} ${kind.padEnd(8)}: ${r.rps.toFixed(0)} requests/s, p50 ${r.p50.toFixed(2)} ms, ` +
          `p99 ${r.p99.toFixed(2)} ms, server CPU ${r.cpuUs.toFixed(0)} µs/request`,
      );
    }
  }
  const m = (kind: 'broker' | 'baseline', key: keyof RunFigures): number =>
    median(results[kind].map((r) => r[key]));
  report(`BrokerServer, provision PUTs, ${CONCURRENCY} concurrent clients, ${count} requests`, [
    ['provision requests/s', m('broker', 'rps')],
    ['p50 latency (ms)', m('broker', 'p50')],
    ['p99 latency (ms)', m('broker', 'p99')],
    ['server CPU per request (µs, user + system)', m('broker', 'cpuUs')],
    ['baseline (bare node:http, parse + constant answer): requests/s', m('baseline', 'rps')],
    ['baseline p50 latency (ms)', m('baseline', 'p50')],
    ['baseline p99 latency (ms)', m('baseline', 'p99')],
    ['baseline server CPU per request (µs)', m('baseline', 'cpuUs')],
  ]);
}

async function measure(kind: 'broker' | 'baseline', body: string, count: number): Promise<RunFigures> {
  const child = spawn(process.execPath, [import.meta.filename, '--server', kind], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const nextLine = async (): Promise<string> => {
    const { value, done } = await lines.next();
    if (done) throw new Error('the server process exited');
    return value;
  };
  const serverCpuMs = async (): Promise<number> => {
    child.stdin.write('cpu\n');
    const u = JSON.parse(await nextLine()) as { user: number; system: number };
    return (u.user + u.system) / 1000;
  };
  const { port } = JSON.parse(await nextLine()) as { port: number };
  const pool = new Pool(`http://127.0.0.1:${port}`, { connections: CONCURRENCY, pipelining: 1 });
  let sequence = 0;
  const send = async (): Promise<number> => {
    const started = performance.now();
    const res = await pool.request({
      path: `/v2/service_instances/instance-${++sequence}`,
      method: 'PUT',
      headers: { authorization: AUTH, 'x-broker-api-version': '2.17', 'content-type': 'application/json' },
      body,
    });
    const answer = (await res.body.json()) as { dashboard_url?: string };
    if (res.statusCode !== 201 || answer.dashboard_url === undefined) {
      throw new Error(`unexpected answer ${res.statusCode}: ${JSON.stringify(answer)}`);
    }
    return performance.now() - started;
  };
  const drive = async (total: number): Promise<{ ms: number; latencies: number[] }> => {
    const latencies: number[] = [];
    let issued = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (issued < total) {
          issued++;
          latencies.push(await send());
        }
      }),
    );
    return { ms: performance.now() - started, latencies };
  };
  try {
    await drive(WARMUP);
    const cpuBefore = await serverCpuMs();
    const { ms, latencies } = await drive(count);
    const cpuUs = (((await serverCpuMs()) - cpuBefore) * 1000) / count;
    latencies.sort((a, b) => a - b);
    const pct = (p: number): number =>
      latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? 0;
    return { rps: (count / ms) * 1000, p50: pct(0.5), p99: pct(0.99), cpuUs };
  } finally {
    await pool.close();
    const exited = once(child, 'exit');
    child.stdin.end('stop\n');
    await exited;
  }
}
