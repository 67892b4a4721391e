import { counterOn, gaugeOn, histogramOn } from '@bindery/kube';
import type { Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * controller-runtime's webhook metrics, under the same names and labels so dashboards carry over.
 * `webhook` is the registered path (requests to other paths count as `unmatched`, so a scanner
 * cannot blow up the label's cardinality); `code` is the HTTP status code.
 */
export interface WebhookMetrics {
  requestsTotal: Counter<'webhook' | 'code'>;
  latency: Histogram<'webhook'>;
  inFlight: Gauge<'webhook'>;
}

export function webhookMetrics(registry: Registry): WebhookMetrics {
  return {
    requestsTotal: counterOn(registry, {
      name: 'controller_runtime_webhook_requests_total',
      help: 'Total number of admission requests by HTTP status code.',
      labelNames: ['webhook', 'code'],
    }),
    latency: histogramOn(registry, {
      name: 'controller_runtime_webhook_latency_seconds',
      help: 'Histogram of the latency of processing admission requests',
      labelNames: ['webhook'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    }),
    inFlight: gaugeOn(registry, {
      name: 'controller_runtime_webhook_requests_in_flight',
      help: 'Current number of admission requests being served.',
      labelNames: ['webhook'],
    }),
  };
}
