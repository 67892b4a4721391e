import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
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
});
