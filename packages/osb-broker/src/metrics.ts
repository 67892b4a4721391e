// Prometheus metrics of the broker server: requests per OSB operation and status code, their duration,
// and how many are in flight. Labels are operation names and codes only, never ids or credentials.

import { counterOn, gaugeOn, histogramOn } from '@bindery/kube';
import type { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** The operation a request was routed to; `unmatched` for anything else. */
export type OperationName =
  | 'catalog'
  | 'provision'
  | 'update'
  | 'deprovision'
  | 'get_instance'
  | 'last_operation'
  | 'bind'
  | 'unbind'
  | 'get_binding'
  | 'binding_last_operation'
  | 'unmatched';

export interface BrokerMetrics {
  requests: Counter<'operation' | 'code'>;
  duration: Histogram<'operation'>;
  inFlight: Gauge<'operation'>;
}

export function brokerMetrics(registry: Registry): BrokerMetrics {
  return {
    requests: counterOn(registry, {
      name: 'osb_broker_requests_total',
      help: 'OSB requests answered, per operation and HTTP status code',
      labelNames: ['operation', 'code'],
    }),
    duration: histogramOn(registry, {
      name: 'osb_broker_request_duration_seconds',
      help: 'Time from receiving an OSB request to answering it, per operation',
      labelNames: ['operation'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    }),
    inFlight: gaugeOn(registry, {
      name: 'osb_broker_requests_in_flight',
      help: 'OSB requests being handled, per operation',
      labelNames: ['operation'],
    }),
  };
}
