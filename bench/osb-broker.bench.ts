// OSB requests per second, latency and server CPU of the broker SDK's BrokerServer, for provision
// PUTs that it checks in full (basic auth, version header, body fields, catalog look-up, a draft-04
// parameter schema) before an in-memory broker answers 201. Plain HTTP on loopback. The server runs
// in a child process (its own core on a 2-vCPU machine); this process is the client: an undici Pool
// of 16 kept-alive connections and 16 async loops. Each run also measures a baseline: a bare
// node:http server that parses the body and answers a constant, so what the SDK itself costs reads
// apart from HTTP and JSON.
// Run: node bench/osb-broker.bench.ts [requests] [runs]
import { pino } from 'pino';
import { BrokerServer, basicAuth } from '@bindery/osb-broker';
import type { Broker, Catalog } from '@bindery/osb-broker';
import {
  CONCURRENCY,
  baselineServer,
  compareWithBaseline,
  measureRequests,
  serveParent,
  spawnServer,
} from './load.ts';

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
    ({ port, stop } = await baselineServer({
      status: 201,
      answer: () => ({ dashboard_url: 'https://dashboard.example' }),
    }));
  }
  serveParent({ port }, stop);
} else {
  const body = JSON.stringify({
    service_id: 'svc',
    plan_id: 'small',
    organization_guid: 'cluster-id',
    space_guid: 'namespace-uid',
    context: { platform: 'kubernetes', namespace: 'default', clusterid: 'cluster-id', instance_name: 'db' },
    parameters: { database: 'orders', connectionLimit: 20 },
  });
  await compareWithBaseline({
    subject: 'broker',
    rateLabel: 'provision requests/s',
    baselineLabel: 'bare node:http, parse + constant answer',
    body,
    title: (count) => `BrokerServer, provision PUTs, ${CONCURRENCY} concurrent clients, ${count} requests`,
    measure: async (kind, count) => {
      const server = await spawnServer<{ port: number }>(import.meta.filename, kind);
      return measureRequests({
        server,
        origin: `http://127.0.0.1:${server.ready.port}`,
        request: (i) => ({
          path: `/v2/service_instances/instance-${i}`,
          method: 'PUT',
          headers: {
            authorization: AUTH,
            'x-broker-api-version': '2.17',
            'content-type': 'application/json',
          },
          body,
        }),
        accept: (status, answer) =>
          status === 201 && (answer as { dashboard_url?: string }).dashboard_url !== undefined,
        count,
      });
    },
  });
}
