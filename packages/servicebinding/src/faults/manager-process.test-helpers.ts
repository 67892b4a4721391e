// The ServiceBinding manager in a process of its own, for the fault suite: it can be SIGKILLed at
// any moment, as a pod is. Run: node manager-process.test-helpers.ts <kubeconfig> <identity> [lease]
// With leader election on a short Lease, so that a replica takes over seconds after a kill.
// With BINDERY_FAULTS_WEBHOOKS (JSON, `FaultWebhooks`) it serves the webhooks too, as a pod does.

import { KubeClient } from '@bindery/kube';
import { Manager, WebhookServer } from '@bindery/runtime';
import { pino } from 'pino';
import { addServiceBindingController } from '../controllers/servicebinding.ts';
import { addServiceBindingWebhooks } from '../webhooks/add.ts';

/**
 * Shorter than the default 15 s, so that a takeover after a SIGKILL takes seconds; long enough that
 * a replica on a loaded 2-core machine does not lose it to a slow renewal.
 */
export const faultLease = {
  namespace: 'default',
  name: 'bindery-faults',
  leaseDurationMs: 8_000,
  renewDeadlineMs: 6_000,
  retryPeriodMs: 1_000,
};

/** The webhooks of a replica: its loopback port, and the one URL every replica registers. */
export interface FaultWebhooks {
  port: number;
  /** `tls.crt` and `tls.key`, signed by the CA in `caBundle`. */
  certDir: string;
  url: string;
  caBundle: string;
  /** The controller's service poll; long, so that only a trigger announces a change in time. */
  servicePollIntervalMs: number;
}

if (process.argv[1]?.endsWith('manager-process.test-helpers.ts') && process.argv[2] !== undefined) {
  const [kubeconfig = '', identity = 'replica', lease = faultLease.name] = process.argv.slice(2);
  const client = KubeClient.fromKubeConfig({ kubeconfig });
  const manager = new Manager({
    client,
    name: 'servicebinding',
    log: pino({ level: process.env['BINDERY_E2E_LOG'] ?? 'silent' }),
    metrics: false,
    health: false,
    leaderElection: { ...faultLease, name: lease, identity },
  });
  const webhooks = process.env['BINDERY_FAULTS_WEBHOOKS'];
  if (webhooks === undefined) {
    addServiceBindingController(manager);
  } else {
    const config = JSON.parse(webhooks) as FaultWebhooks;
    const controller = addServiceBindingController(manager, {
      servicePollIntervalMs: config.servicePollIntervalMs,
    });
    const server = new WebhookServer({ port: config.port, certDir: config.certDir, log: manager.log });
    addServiceBindingWebhooks(manager, {
      server,
      controller,
      clientConfig: { endpoint: { url: config.url }, caBundle: config.caBundle },
      triggerDebounceMs: 50,
    });
  }
  const stop = new AbortController();
  process.once('SIGTERM', () => stop.abort());
  try {
    await manager.start(stop.signal);
  } catch (err) {
    // Leadership lost: exit, as controller-runtime does; the supervisor starts a fresh process.
    process.stderr.write(`manager ${identity}: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  }
  await client.close();
}
