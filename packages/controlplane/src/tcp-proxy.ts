import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * What the proxy does with a new connection: forward it (`pass`), reset it at once (`refuse`), or
 * accept it and never answer (`blackhole`).
 */
export type ProxyMode = 'pass' | 'refuse' | 'blackhole';

export interface TcpProxyOptions {
  /** The upstream port, for example the API server's. */
  port: number;
  /** Default 127.0.0.1. */
  host?: string;
}

interface Link {
  client: Socket;
  upstream?: Socket;
}

/**
 * A loopback TCP proxy that tests put between a client and the API server to break the network on
 * cue: cut connections, refuse new ones, or freeze open ones so a watch goes silent without closing.
 * TLS passes through untouched, so the client still verifies the API server's certificate.
 */
export class TcpProxy {
  readonly #target: { port: number; host: string };
  readonly #links = new Set<Link>();
  #server: Server | undefined;
  #mode: ProxyMode = 'pass';
  #port = 0;

  constructor(options: TcpProxyOptions) {
    this.#target = { port: options.port, host: options.host ?? '127.0.0.1' };
  }

  /** Listens on a free loopback port (see `port`). */
  async start(): Promise<void> {
    const server = createServer((socket) => this.#accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', resolve);
    });
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('TcpProxy: no port from listen(0)');
    this.#port = address.port;
    this.#server = server;
  }

  /** The port clients connect to. */
  get port(): number {
    if (this.#server === undefined) throw new Error('TcpProxy: call start() first');
    return this.#port;
  }

  get mode(): ProxyMode {
    return this.#mode;
  }

  /** Changes what happens to new connections; `cut` also resets every open one. */
  setMode(mode: ProxyMode, options: { cut?: boolean } = {}): void {
    this.#mode = mode;
    if (options.cut) this.cutAll();
  }

  /** Resets every open connection (the client sees ECONNRESET). */
  cutAll(): void {
    for (const link of this.#links) this.#close(link, true);
  }

  /** Open connections stay open but carry nothing more in either direction; new ones follow the mode. */
  freezeAll(): void {
    for (const { client, upstream } of this.#links) {
      if (upstream) {
        client.unpipe(upstream);
        upstream.unpipe(client);
        upstream.pause();
      }
      client.pause();
    }
  }

  /** Closes the listener and every connection. */
  async stop(): Promise<void> {
    this.cutAll();
    const server = this.#server;
    this.#server = undefined;
    if (server) await new Promise((resolve) => server.close(resolve));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  #accept(client: Socket): void {
    if (this.#mode === 'refuse') {
      client.resetAndDestroy();
      return;
    }
    const link: Link = { client };
    this.#links.add(link);
    client.on('error', () => this.#close(link, true));
    client.on('close', () => this.#close(link, false));
    if (this.#mode === 'blackhole') {
      client.pause();
      return;
    }
    const upstream = connect(this.#target);
    link.upstream = upstream;
    upstream.on('error', () => this.#close(link, true));
    upstream.on('close', () => this.#close(link, false));
    client.pipe(upstream);
    upstream.pipe(client);
  }

  #close(link: Link, reset: boolean): void {
    if (!this.#links.delete(link)) return;
    for (const socket of [link.client, link.upstream]) {
      if (socket === undefined || socket.destroyed) continue;
      // Never reset a socket that is ending (its peer or the pipe ended it): libuv refuses to
      // reset one shutting down (EINVAL), Node then never closes its handle, and the process spins
      // at 100 % on exit waiting for it. It is closing anyway: destroy it.
      if (reset && !socket.writableEnded) socket.resetAndDestroy();
      else socket.destroy();
    }
  }
}
