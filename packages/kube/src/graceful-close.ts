// The graceful stop of an HTTP(S) server, shared by the admission webhook server and the OSB broker
// server: stop accepting, let the requests in flight finish up to a deadline, then close every
// connection, so a stop never waits on a client that keeps a connection open.

/** Counts the requests a server is handling, and tells when none is left. */
export class InFlightRequests {
  #count = 0;
  #idle: (() => void) | undefined;

  get count(): number {
    return this.#count;
  }

  enter(): void {
    this.#count++;
  }

  leave(): void {
    if (--this.#count === 0) this.#idle?.();
  }

  /** Resolves true once no request is in flight, or false after `timeoutMs`. */
  async drained(timeoutMs: number): Promise<boolean> {
    if (this.#count === 0) return true;
    let timer: NodeJS.Timeout | undefined;
    const idle = new Promise<true>((resolve) => (this.#idle = () => resolve(true)));
    const timedOut = new Promise<false>((resolve) => (timer = setTimeout(resolve, timeoutMs, false)));
    try {
      return await Promise.race([idle, timedOut]);
    } finally {
      clearTimeout(timer);
      this.#idle = undefined;
    }
  }
}

/** What `closeGracefully` needs of a `node:http` or `node:https` server. */
export interface ClosableServer {
  close(callback: () => void): unknown;
  closeIdleConnections(): void;
  closeAllConnections(): void;
}

export interface CloseGracefullyOptions {
  inFlight: InFlightRequests;
  /** How long the requests in flight may take to finish. Default 30 s. */
  timeoutMs?: number | undefined;
  /** Called when `timeoutMs` ran out, with how many requests were still in flight (for a log line). */
  onTimeout?: (left: { inFlight: number; timeoutMs: number }) => void;
}

/**
 * Stops accepting connections and closes the idle ones, waits up to `timeoutMs` for the requests in
 * flight, then closes every connection (a keep-alive client does not hold the stop), and resolves once
 * the server is closed.
 */
export async function closeGracefully(
  server: ClosableServer,
  options: CloseGracefullyOptions,
): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  const { inFlight, timeoutMs = 30_000 } = options;
  if (!(await inFlight.drained(timeoutMs))) options.onTimeout?.({ inFlight: inFlight.count, timeoutMs });
  server.closeAllConnections();
  await closed;
}
