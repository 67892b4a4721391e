// OSB requests per second, latency and server CPU of the broker SDK's BrokerServer, for provision
// PUTs that it checks in full (basic auth, version header, body fields, catalog look-up, a draft-04
// parameter schema) before an in-memory broker answers 201. Plain HTTP on loopback. The server runs
// in a child process (its own core on a 2-vCPU machine); this process is the client: an undici Pool
// of 16 kept-alive connections and 16 async loops. Each run also measures a baseline: a bare
// node:http server that parses the body and answers a constant, so what the SDK itself costs reads
// apart from HTTP and JSON.
// Run: node bench/osb-broker.bench.ts [requests] [runs]
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Pool } from 'undici';
import { pino } from 'pino';
import { BrokerServer, basicAuth } from '@bindery/osb-broker';
import type { Broker, Catalog } from '@bindery/osb-broker';
import { measureLoad, medianRounds, serveParent, spawnServer } from './load.ts';
import type { LoadFigures } from './load.ts';
import { report } from './stats.ts';

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
  serveParent({ port }, stop);
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
  const medians = await medianRounds(['broker', 'baseline'] as const, runs, (kind) =>
    measure(kind, body, count),
  );
  const m = (kind: 'broker' | 'baseline', key: keyof LoadFigures): number => medians[kind][key];
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

async function measure(kind: 'broker' | 'baseline', body: string, count: number): Promise<LoadFigures> {
  const server = await spawnServer<{ port: number }>(import.meta.filename, kind);
  const pool = new Pool(`http://127.0.0.1:${server.ready.port}`, { connections: CONCURRENCY, pipelining: 1 });
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
  try {
    return await measureLoad({ server, send, concurrency: CONCURRENCY, warmup: WARMUP, count });
  } finally {
    await pool.close();
    await server.stop();
  }
}
