// Runs the digest controller against the cluster of $KUBECONFIG (or ~/.kube/config,
// or the in-cluster service account) until SIGINT or SIGTERM.
// Run: KUBECONFIG=.bindery/kubeconfig node samples/configmap-digest/main.ts

import { parseArgs } from 'node:util';
import { KubeClient } from '@bindery/kube';
import { Manager } from '@bindery/runtime';
import { digestController } from './controller.ts';

const { values } = parseArgs({
  options: {
    // The flags kubebuilder's scaffold uses; port 0 picks a free port.
    'metrics-bind-address': { type: 'string', default: '127.0.0.1:8080' },
    'health-probe-bind-address': { type: 'string', default: '127.0.0.1:8081' },
    workers: { type: 'string', default: '2' },
  },
});

/** `host:port`, `:port` (every interface) or `0` (off). */
function bindAddress(flag: string, value: string): { host?: string; port: number } | false {
  if (value === '0') return false;
  const colon = value.lastIndexOf(':');
  const port = Number(value.slice(colon + 1));
  if (colon < 0 || !Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new Error(`--${flag}: expected host:port, :port or 0, got ${JSON.stringify(value)}`);
  }
  const host = value.slice(0, colon);
  return host ? { host, port } : { port };
}

const workers = Number(values.workers);
if (!Number.isInteger(workers) || workers < 1) {
  throw new Error(`--workers: expected a positive integer, got ${JSON.stringify(values.workers)}`);
}

const client = KubeClient.fromKubeConfig({ userAgent: 'configmap-digest' });
const manager = new Manager({
  client,
  name: 'configmap-digest',
  metrics: bindAddress('metrics-bind-address', values['metrics-bind-address']),
  health: bindAddress('health-probe-bind-address', values['health-probe-bind-address']),
});
manager.add(digestController({ workers }));

// The first signal shuts down gracefully (in-flight reconciles finish); a second one is Node's default: exit.
const stop = new AbortController();
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => stop.abort());

try {
  await manager.start(stop.signal);
} finally {
  await client.close();
}
