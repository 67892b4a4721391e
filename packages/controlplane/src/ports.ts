import { createServer, type Server } from 'node:net';

/**
 * Free loopback ports, found by binding port 0. All are held open until every one is picked, so the
 * same port is never returned twice; another process can still take one before our binary binds it,
 * which is rare enough on loopback to surface as a clear startup error rather than be designed around.
 */
export async function freePorts(count: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const server = createServer();
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', resolve);
      });
    }
    return servers.map((server) => {
      const address = server.address();
      if (address === null || typeof address === 'string') throw new Error('no port from listen(0)');
      return address.port;
    });
  } finally {
    await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  }
}
