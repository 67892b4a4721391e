// `bindery dev --samples`, the OSB part: the sample broker of @bindery/osb-broker in this process, a
// ClusterServiceBroker pointing at it (HTTP Basic with a generated password), and, once its catalog is
// listed, samples/osb (an instance, a credential binding and a ServiceBinding into a Deployment).

import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { errorMessage } from '@bindery/kube';
import type { KubeClient, KubeObject } from '@bindery/kube';
import { apiVersion as osbApiVersion } from '@bindery/osb';
import { startSampleBroker } from '@bindery/osb-broker';
import type { RunningSampleBroker } from '@bindery/osb-broker';
import type { Logger } from 'pino';

export const devBrokerName = 'sample';
const brokerNamespace = 'bindery-broker';
const authSecretName = 'sample-broker-auth';

export interface DevBrokerOptions {
  client: KubeClient;
  fieldManager: string;
  log: Logger;
  signal: AbortSignal;
}

/** Starts the sample broker and registers it; resolves once its catalog is listed. The caller stops it. */
export async function startDevBroker(options: DevBrokerOptions): Promise<RunningSampleBroker> {
  const { client, fieldManager, signal } = options;
  const credentials = { username: 'bindery-dev', password: randomBytes(18).toString('base64url') };
  const broker = await startSampleBroker({
    client,
    namespace: brokerNamespace,
    basic: credentials,
    log: options.log.child({ component: 'sample-broker' }),
    signal,
  });
  try {
    const apply = (obj: KubeObject): Promise<KubeObject> =>
      client.apply(obj, { fieldManager, force: true, signal });
    await apply({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: authSecretName, namespace: brokerNamespace },
      stringData: credentials,
    });
    await apply({
      apiVersion: osbApiVersion,
      kind: 'ClusterServiceBroker',
      metadata: { name: devBrokerName },
      spec: {
        url: broker.url,
        // Loopback only, in this process: no TLS to set up for it.
        insecureAllowHTTP: true,
        authInfo: { basic: { secretRef: { namespace: brokerNamespace, name: authSecretName } } },
      },
    });
    await untilBrokerReady(client, signal);
    return broker;
  } catch (err) {
    await broker.stop();
    throw err;
  }
}

async function untilBrokerReady(client: KubeClient, signal: AbortSignal): Promise<void> {
  const deadline = Date.now() + 60_000;
  let last: string;
  for (;;) {
    signal.throwIfAborted();
    try {
      const obj = await client.get(
        { apiVersion: osbApiVersion, kind: 'ClusterServiceBroker', name: devBrokerName },
        { signal },
      );
      const conditions = (obj['status'] as { conditions?: { type: string; status: string }[] } | undefined)
        ?.conditions;
      const ready = conditions?.find((c) => c.type === 'Ready');
      if (ready?.status === 'True') return;
      last = JSON.stringify(ready ?? null);
    } catch (err) {
      last = errorMessage(err);
    }
    if (Date.now() > deadline) {
      throw new Error(`ClusterServiceBroker ${devBrokerName} was not Ready within 60 s: ${last}`);
    }
    await sleep(200, undefined, { signal });
  }
}
