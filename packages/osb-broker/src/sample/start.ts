// Runs the sample broker in-process: what `bindery broker` runs, and what the platform's e2e tests
// start against a control plane.

import { isAlreadyExists, isForbidden } from '@bindery/kube';
import type { KubeClient } from '@bindery/kube';
import type { Logger } from 'pino';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { basicAuth } from '../auth.ts';
import type { Authenticator, BasicCredentials } from '../auth.ts';
import { BrokerServer } from '../server.ts';
import type { BrokerServerOptions } from '../server.ts';
import { tokenReviewAuth } from '../token-review.ts';
import { SampleBroker } from './broker.ts';
import type { SampleBrokerOptions } from './broker.ts';

export interface StartSampleBrokerOptions extends SampleBrokerOptions {
  /** Default 0: a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** HTTPS with this key pair; plain HTTP without. */
  tls?: { cert: string; key: string };
  /** Accept HTTP Basic with these credentials. */
  basic?: BasicCredentials;
  /** Accept Kubernetes bearer tokens (TokenReview + SubjectAccessReview with `client`). */
  bearer?: boolean;
  /**
   * Other authenticators, tried by scheme with the two above. With none at all, every request is let
   * in: fine for a test on loopback, never for a broker others can reach.
   */
  auth?: Authenticator[];
  /** Default: a new registry, returned as `registry`. */
  registry?: Registry;
  log?: Logger;
  /** Passed to the server (`minApiVersion`, `requestTimeoutMs`, ...). */
  server?: Omit<BrokerServerOptions, 'broker' | 'auth' | 'port' | 'host' | 'tls' | 'registry' | 'log'>;
  /** Stops the broker when it aborts. */
  signal?: AbortSignal;
}

export interface RunningSampleBroker {
  /** `http://127.0.0.1:<port>` (or https). */
  url: string;
  port: number;
  namespace: string;
  broker: SampleBroker;
  server: BrokerServer;
  /** The `osb_broker_*` metrics: requests per operation and status code. */
  registry: Registry;
  /** Stops gracefully: in-flight requests finish. */
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Creates the namespace unless it exists (or we may not look). */
async function ensureNamespace(client: KubeClient, name: string, signal?: AbortSignal): Promise<void> {
  try {
    await client.create(
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name } },
      signal ? { signal } : {},
    );
  } catch (err) {
    if (!isAlreadyExists(err) && !isForbidden(err)) throw err;
  }
}

/**
 * Starts the sample broker and resolves once it listens. Its state lives in Secrets of `namespace`
 * (created if missing), so a broker started again on the same cluster carries on where one stopped.
 */
export async function startSampleBroker(options: StartSampleBrokerOptions): Promise<RunningSampleBroker> {
  options.signal?.throwIfAborted();
  const broker = new SampleBroker(options);
  await ensureNamespace(options.client, broker.namespace, options.signal);
  const auth: Authenticator[] = [...(options.auth ?? [])];
  if (options.basic) auth.push(basicAuth(options.basic));
  if (options.bearer) auth.push(tokenReviewAuth({ client: options.client }));
  const registry = options.registry ?? new Registry();
  const server = new BrokerServer({
    ...options.server,
    broker,
    auth,
    port: options.port ?? 0,
    host: options.host ?? '127.0.0.1',
    ...(options.tls && { tls: options.tls }),
    registry,
    log: options.log ?? pino({ name: 'bindery-sample-broker', level: 'warn' }),
  });
  await server.listen();
  const stop = (): Promise<void> => server.stop();
  options.signal?.addEventListener('abort', () => void stop(), { once: true });
  return {
    url: server.url,
    port: server.port,
    namespace: broker.namespace,
    broker,
    server,
    registry,
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
