import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { TcpProxy } from './tcp-proxy.ts';

/** Sends a line and waits for the echo, or for the connection to fail. */
async function roundTrip(socket: Socket, text: string, timeoutMs = 1000): Promise<string> {
  if (socket.destroyed) return 'closed';
  socket.write(text);
  const received = once(socket, 'data').then(
    ([chunk]) => String(chunk as Buffer),
    () => 'closed', // `once` rejects on 'error': ECONNRESET
  );
  const closed = once(socket, 'close').then(() => 'closed');
  const timedOut = sleep(timeoutMs, 'timeout');
  return Promise.race([received, closed, timedOut]);
}

describe('TcpProxy', () => {
  let echo: Server;
  let proxy: TcpProxy;
  const sockets: Socket[] = [];

  before(async () => {
    echo = createServer((socket) => socket.on('error', () => {}).pipe(socket));
    echo.listen(0, '127.0.0.1');
    await once(echo, 'listening');
    proxy = new TcpProxy({ port: (echo.address() as { port: number }).port });
    await proxy.start();
  });

  after(async () => {
    for (const socket of sockets) socket.destroy();
    await proxy.stop();
    echo.close();
  });

  /** Connects through the proxy; writes queue until connected, and a refused connection reads as closed. */
  async function open(): Promise<Socket> {
    const socket = connect(proxy.port, '127.0.0.1');
    socket.on('error', () => {});
    sockets.push(socket);
    await new Promise((resolve) => socket.once('connect', resolve).once('close', resolve));
    return socket;
  }

  it('passes bytes both ways', async () => {
    assert.equal(await roundTrip(await open(), 'hello'), 'hello');
  });

  it('cuts open connections and refuses new ones until passing again', async () => {
    const socket = await open();
    proxy.setMode('refuse', { cut: true });
    assert.equal(await roundTrip(socket, 'x'), 'closed');
    assert.equal(await roundTrip(await open(), 'y'), 'closed');
    proxy.setMode('pass');
    assert.equal(await roundTrip(await open(), 'z'), 'z');
  });

  it('freezes open connections silently while new ones still pass', async () => {
    const frozen = await open();
    assert.equal(await roundTrip(frozen, 'a'), 'a');
    proxy.freezeAll();
    assert.equal(await roundTrip(frozen, 'b', 300), 'timeout');
    assert.equal(await roundTrip(await open(), 'c'), 'c');
  });

  it('holds connections without answering in blackhole mode', async () => {
    proxy.setMode('blackhole');
    assert.equal(await roundTrip(await open(), 'd', 300), 'timeout');
    proxy.setMode('pass');
  });

  it('stops while a connection is ending without leaving a socket that spins the process at exit', async () => {
    // In a child process: before the fix, the proxy reset the upstream socket the pipe had just
    // ended; libuv refused (EINVAL), Node never closed the handle, and the child, its work done,
    // spun at 100 % on exit forever.
    const script = `
      import { subscribe } from 'node:diagnostics_channel';
      import { once } from 'node:events';
      import { connect, createServer } from 'node:net';
      import { TcpProxy } from ${JSON.stringify(new URL('./tcp-proxy.ts', import.meta.url).href)};
      const upstream = createServer((socket) => socket.on('error', () => {}));
      upstream.listen(0, '127.0.0.1');
      await once(upstream, 'listening');
      const proxy = new TcpProxy({ port: upstream.address().port });
      await proxy.start();
      const accepted = new Promise((resolve) =>
        subscribe('net.server.socket', ({ socket }) => socket.localPort === proxy.port && resolve(socket)),
      );
      const client = connect(proxy.port, '127.0.0.1').on('error', () => {});
      await once(client, 'connect');
      const inner = await accepted;
      // The client ends; the pipe ends the upstream socket (its shutdown starts), and the proxy stops then.
      let stopped;
      inner.once('end', () => process.nextTick(() => (stopped = proxy.stop())));
      client.end();
      await once(inner, 'close');
      await stopped;
      upstream.close();
      client.destroy();
      console.log('stopped');
    `;
    const run = promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], {
      timeout: 30_000,
    });
    const { stdout } = await run.catch((err: { killed?: boolean; stdout?: string }) => {
      assert.fail(`the child did not exit (killed: ${err.killed}, output: ${err.stdout ?? ''})`);
    });
    assert.equal(stdout.trim(), 'stopped');
  });
});
