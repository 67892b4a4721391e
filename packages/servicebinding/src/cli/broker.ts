// `bindery broker`: the sample Open Service Broker of @bindery/osb-broker, against a cluster.

import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { KubeClient } from '@bindery/kube';
import { startSampleBroker } from '@bindery/osb-broker';
import type { BasicCredentials } from '@bindery/osb-broker';
import { pino } from 'pino';
import { UsageError } from './commands.ts';
import type { BrokerArgs } from './commands.ts';
import type { MainIO } from './main.ts';

/** Basic credentials from the environment: a password on the command line would show in `ps`. */
function basicFromEnv(env: NodeJS.ProcessEnv): BasicCredentials | undefined {
  const username = env['BINDERY_BROKER_USERNAME'];
  const password = env['BINDERY_BROKER_PASSWORD'];
  if (!username && !password) return undefined;
  if (!username || !password) {
    throw new UsageError(
      'set both BINDERY_BROKER_USERNAME and BINDERY_BROKER_PASSWORD, or neither',
      'broker',
    );
  }
  return { username, password };
}

/** Serves the sample broker until `signal` aborts; in-flight requests finish first. */
export async function runBroker(
  args: BrokerArgs,
  signal: AbortSignal,
  io: Pick<MainIO, 'stderr'>,
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  const basic = basicFromEnv(env);
  if (!basic && !args.tokenReview && !args.insecureNoAuth) {
    throw new UsageError(
      'choose how platforms authenticate: BINDERY_BROKER_USERNAME/PASSWORD, --token-review, or --insecure-no-auth',
      'broker',
    );
  }
  const log = pino({ name: 'bindery-broker', level: args.logLevel });
  const client = KubeClient.fromKubeConfig({
    ...(args.kubeconfig !== undefined && { kubeconfig: args.kubeconfig }),
    ...(args.context !== undefined && { context: args.context }),
    userAgent: 'bindery-broker',
  });
  try {
    const tls =
      args.tlsCertFile !== undefined && args.tlsKeyFile !== undefined
        ? { cert: await readFile(args.tlsCertFile, 'utf8'), key: await readFile(args.tlsKeyFile, 'utf8') }
        : undefined;
    const broker = await startSampleBroker({
      client,
      namespace: args.namespace,
      delayMs: args.asyncDelayMs,
      port: args.bindAddress.port,
      host: args.bindAddress.host ?? '0.0.0.0',
      ...(tls && { tls }),
      ...(basic && { basic }),
      bearer: args.tokenReview,
      log,
      server: { minApiVersion: args.minApiVersion },
    });
    io.stderr(`bindery broker: serving OSB 2.17 at ${broker.url} (state in namespace ${broker.namespace})\n`);
    if (!signal.aborted) await once(signal, 'abort').catch(() => undefined);
    await broker.stop();
    return 0;
  } finally {
    await client.close();
  }
}
