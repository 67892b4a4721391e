// Serves the greeting broker: `GREETING_PASSWORD=... node samples/osb-broker/main.ts`.

import { BrokerServer, basicAuth } from '@bindery/osb-broker';
import { GreetingBroker } from './broker.ts';

const password = process.env['GREETING_PASSWORD'];
if (!password) throw new Error('set GREETING_PASSWORD: the platform authenticates as user "platform"');

const server = new BrokerServer({
  broker: new GreetingBroker(),
  auth: [basicAuth({ username: 'platform', password })],
  port: 8080,
});
await server.listen();
console.log(`greeting broker at ${server.url}`);

// SIGTERM (a pod being stopped): requests in flight are answered, then the server closes.
process.once('SIGTERM', () => void server.stop());
