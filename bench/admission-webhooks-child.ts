// The webhook process of the admission bench (admission.bench.ts starts one per run through
// admission-webhooks.ts): a Manager with `addServiceBindingWebhooks` (clientConfig by URL +
// caBundle, as `bindery dev` does) and a no-op controller in place of the ServiceBinding controller
// (the trigger enqueues into it), so that no reconcile writes to the Deployments while they are
// measured. Server-side latency is measured here: from the HTTP request's headers to its response's
// last byte (node:http's diagnostics channels, the span the WebhookServer's own
// `controller_runtime_webhook_latency_seconds` histogram observes, whose buckets are too coarse for
// percentiles), and the handler alone (`handle()` of the interceptor, timed by a wrapper).
// Run by the bench only: node bench/admission-webhooks-child.ts <kubeconfig>
import { subscribe } from 'node:diagnostics_channel';
import type { IncomingMessage } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { KubeClient } from '@bindery/kube';
import type { KubeObject } from '@bindery/kube';
import {
  Controller,
  Manager,
  ResourceReconciler,
  SyncReconciler,
  WebhookServer,
  generateSelfSigned,
} from '@bindery/runtime';
import type { AdmissionHandler } from '@bindery/runtime';
import { addServiceBindingWebhooks, interceptorPath, serviceBindingType } from '@bindery/servicebinding';
import { pino } from 'pino';

/** What the webhook process measured between `reset` and `report`. */
export interface ChildReport {
  /** Per path: request headers → response finished, ms. */
  server: Record<string, number[]>;
  /** The interceptor's `handle()`, ms. */
  handler: number[];
  cpuMs: number;
  /** `controller_runtime_webhook_latency_seconds` for the interceptor: count and sum (s). */
  histogram: { count: number; sum: number };
  /** TCP connections the API server opened to the webhook server. */
  connections: number;
}

export type ToChild = { type: 'reset' } | { type: 'report' } | { type: 'stop' };
export type FromChild = { type: 'ready' } | ({ type: 'report' } & ChildReport);

/** Times `handle()` of the handlers registered on it. */
class TimedWebhookServer extends WebhookServer {
  readonly handlerMs: Record<string, number[]> = {};

  override register(path: string, handler: AdmissionHandler): void {
    const times = (this.handlerMs[path] = [] as number[]);
    super.register(path, {
      type: handler.type,
      handle: async (ctx) => {
        const started = performance.now();
        try {
          return await handler.handle(ctx);
        } finally {
          times.push(performance.now() - started);
        }
      },
    });
  }
}
await child(process.argv[2] as string);

/** The webhooks, in their own process. */
async function child(kubeconfig: string): Promise<never> {
  let server: Record<string, number[]> = {};
  const started = new WeakMap<IncomingMessage, number>();
  subscribe('http.server.request.start', (message) => {
    started.set((message as { request: IncomingMessage }).request, performance.now());
  });
  subscribe('http.server.response.finish', (message) => {
    const { request } = message as { request: IncomingMessage };
    const at = started.get(request);
    if (at === undefined) return;
    const path = (request.url ?? '').split('?')[0] ?? '';
    (server[path] ??= []).push(performance.now() - at);
  });

  let connections = 0;
  let port = -1;
  subscribe('net.server.socket', (message) => {
    if ((message as { socket: { localPort?: number } }).socket.localPort === port) connections++;
  });

  const client = KubeClient.fromKubeConfig({ kubeconfig });
  const log = pino({ level: 'silent' });
  const manager = new Manager({
    client,
    name: 'bindery',
    log,
    metrics: { host: '127.0.0.1', port: 0 },
    health: { host: '127.0.0.1', port: 0 },
    leaderElection: false,
  });
  const certs = await generateSelfSigned({
    service: 'bindery-webhook',
    namespace: 'default',
    extraHosts: ['127.0.0.1'],
  });
  const webhookServer = new TimedWebhookServer({
    port: 0,
    host: '127.0.0.1',
    tls: certs.serving,
    log,
    registry: manager.registry,
  });
  await webhookServer.listen();
  port = webhookServer.port;
  // In place of addServiceBindingController: the trigger enqueues into it, nothing is written.
  const controller = new Controller({
    name: 'servicebinding',
    for: serviceBindingType,
    reconciler: new ResourceReconciler({
      name: 'Noop',
      type: serviceBindingType,
      reconciler: new SyncReconciler<KubeObject>({ name: 'Noop', sync: () => undefined }),
    }),
  });
  manager.add(controller);
  const webhooks = addServiceBindingWebhooks(manager, {
    server: webhookServer,
    controller,
    clientConfig: { endpoint: { url: webhookServer.url('') }, caBundle: certs.caBundle },
    // The bench deletes the configurations it does not want; no resync puts them back meanwhile.
    rulesResyncMs: 3_600_000,
  });
  const stop = new AbortController();
  const running = manager.start(stop.signal);
  while (!webhooks.index.hasSynced() || !webhookServer.ready()) await sleep(20);
  send({ type: 'ready' });

  let cpu = process.cpuUsage();
  let histogramBefore = { count: 0, sum: 0 };
  const histogram = async (): Promise<{ count: number; sum: number }> => {
    const metric = await manager.registry
      .getSingleMetric('controller_runtime_webhook_latency_seconds')
      ?.get();
    const values = (metric?.values ?? []) as Array<{
      metricName?: string;
      labels: Record<string, unknown>;
      value: number;
    }>;
    const value = (name: string): number =>
      values.find((v) => v.metricName === name && v.labels['webhook'] === interceptorPath)?.value ?? 0;
    return {
      count: value('controller_runtime_webhook_latency_seconds_count'),
      sum: value('controller_runtime_webhook_latency_seconds_sum'),
    };
  };
  process.on('message', (msg: ToChild) => {
    void (async () => {
      if (msg.type === 'reset') {
        server = {};
        connections = 0;
        for (const times of Object.values(webhookServer.handlerMs)) times.length = 0;
        histogramBefore = await histogram();
        cpu = process.cpuUsage();
        send({ type: 'ready' });
      } else if (msg.type === 'report') {
        const used = process.cpuUsage(cpu);
        const after = await histogram();
        send({
          type: 'report',
          server,
          handler: webhookServer.handlerMs[interceptorPath] ?? [],
          cpuMs: (used.user + used.system) / 1000,
          histogram: { count: after.count - histogramBefore.count, sum: after.sum - histogramBefore.sum },
          connections,
        });
      } else {
        stop.abort();
        await running.catch(() => undefined);
        await client.close();
        process.exit(0);
      }
    })();
  });
  return new Promise<never>(() => undefined);
}

function send(msg: FromChild): void {
  process.send?.(msg);
}
