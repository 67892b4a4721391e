// What the instance and credential-binding controllers need from a broker: one call per OSB
// endpoint, each answered with the outcome the orphan-mitigation table reads (status, malformed
// body, timeout, unreachable) rather than thrown, because every outcome is a state transition here.

import type { BrokerOutcome } from '../operations/orphan-mitigation.ts';

export interface BrokerCallResult {
  outcome: BrokerOutcome;
  /** The JSON object body of a 2xx answer that is well formed. */
  body?: Record<string, unknown>;
  /** `Retry-After` of a `last_operation` answer, in ms from when it arrived. */
  retryAfterMs?: number;
  /** The broker's `description` of an error, for the condition message. */
  description?: string;
}

export interface BrokerCallOptions {
  /** `X-Broker-API-Originating-Identity`; omitted for orphan mitigation. */
  originatingIdentity?: string | undefined;
  signal: AbortSignal;
}

export interface LastOperationQuery {
  service_id?: string;
  plan_id?: string;
  operation?: string;
}

/** The broker, as the platform controllers call it. */
export interface BrokerApi {
  provision(
    instanceId: string,
    body: Record<string, unknown>,
    options: BrokerCallOptions,
  ): Promise<BrokerCallResult>;
  update(
    instanceId: string,
    body: Record<string, unknown>,
    options: BrokerCallOptions,
  ): Promise<BrokerCallResult>;
  deprovision(
    instanceId: string,
    query: { service_id: string; plan_id: string },
    options: BrokerCallOptions,
  ): Promise<BrokerCallResult>;
  instanceLastOperation(
    instanceId: string,
    query: LastOperationQuery,
    options: BrokerCallOptions,
  ): Promise<BrokerCallResult>;
  bind(
    instanceId: string,
    bindingId: string,
    body: Record<string, unknown>,
    options: BrokerCallOptions & { acceptsIncomplete: boolean },
  ): Promise<BrokerCallResult>;
  unbind(
    instanceId: string,
    bindingId: string,
    query: { service_id: string; plan_id: string },
    options: BrokerCallOptions & { acceptsIncomplete: boolean },
  ): Promise<BrokerCallResult>;
  bindingLastOperation(
    instanceId: string,
    bindingId: string,
    query: LastOperationQuery,
    options: BrokerCallOptions,
  ): Promise<BrokerCallResult>;
  getBinding(
    instanceId: string,
    bindingId: string,
    query: { service_id?: string; plan_id?: string },
    options: BrokerCallOptions,
  ): Promise<BrokerCallResult>;
}

/** A broker object, as a class names it. */
export interface BrokerReference {
  kind: 'ClusterServiceBroker' | 'ServiceBroker';
  name: string;
  namespace?: string;
}

/**
 * The client of a broker object (its URL, auth and TLS). Throws `BrokerUnavailableError` when the
 * broker object is missing or unusable (the controllers report it as a condition and retry).
 */
export type BrokerApiProvider = (broker: BrokerReference, signal: AbortSignal) => Promise<BrokerApi>;

export class BrokerUnavailableError extends Error {
  readonly reason: string;
  constructor(reason: string, message: string) {
    super(message);
    this.name = 'BrokerUnavailableError';
    this.reason = reason;
  }
}
