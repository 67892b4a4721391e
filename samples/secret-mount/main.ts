// Runs the SecretMount controller and its admission webhook against the cluster of
// $KUBECONFIG (or ~/.kube/config, or the in-cluster service account) until SIGINT or SIGTERM.
// Install first: kubectl apply -f samples/secret-mount/config/crd.yaml, then -f samples/secret-mount/config/
// Run: KUBECONFIG=.bindery/kubeconfig node samples/secret-mount/main.ts --cert-dir /tmp/serving-certs

import { parseArgs } from 'node:util';
import { KubeClient } from '@bindery/kube';
import { Manager, WebhookServer } from '@bindery/runtime';
import { addSecretMount } from './controller.ts';

const { values } = parseArgs({
  options: {
    // A directory with tls.crt and tls.key (cert-manager's Secret layout), reloaded on change.
    'cert-dir': { type: 'string', default: '/tmp/k8s-webhook-server/serving-certs' },
    'webhook-port': { type: 'string', default: '9443' },
    'webhook-host': { type: 'string', default: '0.0.0.0' },
  },
});

const port = Number(values['webhook-port']);
if (!Number.isInteger(port) || port < 0 || port > 65_535) {
  throw new Error(`--webhook-port: expected a port number, got ${JSON.stringify(values['webhook-port'])}`);
}

const client = KubeClient.fromKubeConfig({ userAgent: 'secret-mount' });
const manager = new Manager({ client, name: 'secret-mount' });
const server = new WebhookServer({
  port,
  host: values['webhook-host'],
  certDir: values['cert-dir'],
  log: manager.log,
  registry: manager.registry,
});
addSecretMount(manager, { client, server });

// The first signal shuts down gracefully (in-flight reconciles finish); a second one is Node's default: exit.
const stop = new AbortController();
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => stop.abort());

try {
  await manager.start(stop.signal);
} finally {
  await client.close();
}
