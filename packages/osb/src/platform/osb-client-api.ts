// The controllers' BrokerApi on the OSB client: every answer, thrown or returned, becomes the
// outcome the orphan-mitigation table reads. Only an abort by the caller (shutdown) is rethrown.

import { OsbHttpError, brokerOutcome } from '../client/index.ts';
import type { OsbClient, OsbResponse } from '../client/index.ts';
import type { BrokerApi, BrokerCallOptions, BrokerCallResult } from './broker-api.ts';

export function osbClientBrokerApi(client: OsbClient): BrokerApi {
  return {
    provision: (instanceId, body, o) =>
      call(() => client.provision({ instanceId, body: body as never }, opts(o))),
    update: (instanceId, body, o) => call(() => client.update({ instanceId, body: body as never }, opts(o))),
    deprovision: (instanceId, q, o) =>
      call(() => client.deprovision({ instanceId, serviceId: q.service_id, planId: q.plan_id }, opts(o))),
    instanceLastOperation: (instanceId, q, o) =>
      call(() =>
        client.instanceLastOperation(
          {
            instanceId,
            ...(q.operation !== undefined && { operation: q.operation }),
            ...(q.service_id !== undefined && { serviceId: q.service_id }),
            ...(q.plan_id !== undefined && { planId: q.plan_id }),
          },
          opts(o),
        ),
      ),
    bind: (instanceId, bindingId, body, o) =>
      call(() =>
        client.bind(
          { instanceId, bindingId, body: body as never, acceptsIncomplete: o.acceptsIncomplete },
          opts(o),
        ),
      ),
    unbind: (instanceId, bindingId, q, o) =>
      call(() =>
        client.unbind(
          {
            instanceId,
            bindingId,
            serviceId: q.service_id,
            planId: q.plan_id,
            acceptsIncomplete: o.acceptsIncomplete,
          },
          opts(o),
        ),
      ),
    bindingLastOperation: (instanceId, bindingId, q, o) =>
      call(() =>
        client.bindingLastOperation(
          {
            instanceId,
            bindingId,
            ...(q.operation !== undefined && { operation: q.operation }),
            ...(q.service_id !== undefined && { serviceId: q.service_id }),
            ...(q.plan_id !== undefined && { planId: q.plan_id }),
          },
          opts(o),
        ),
      ),
    getBinding: (instanceId, bindingId, q, o) =>
      call(() =>
        client.getBinding(
          {
            instanceId,
            bindingId,
            ...(q.service_id !== undefined && { serviceId: q.service_id }),
            ...(q.plan_id !== undefined && { planId: q.plan_id }),
          },
          opts(o),
        ),
      ),
  };
}

function opts(o: BrokerCallOptions): { signal: AbortSignal; originatingIdentity?: string } {
  return {
    signal: o.signal,
    ...(o.originatingIdentity !== undefined && { originatingIdentity: o.originatingIdentity }),
  };
}

async function call(send: () => Promise<OsbResponse<unknown>>): Promise<BrokerCallResult> {
  try {
    const res = await send();
    const body = res.body;
    return {
      outcome: { kind: 'response', status: res.status },
      ...(typeof body === 'object' &&
        body !== null &&
        !Array.isArray(body) && { body: body as Record<string, unknown> }),
      ...(res.retryAfterMs !== undefined && { retryAfterMs: res.retryAfterMs }),
    };
  } catch (err) {
    const outcome = brokerOutcome(err);
    if (outcome === undefined) throw err;
    const result: BrokerCallResult = { outcome };
    if (err instanceof OsbHttpError) {
      if (err.description !== undefined) result.description = err.description;
      if (err.retryAfterMs !== undefined) result.retryAfterMs = err.retryAfterMs;
    } else if (err instanceof Error) {
      result.description = err.message;
    }
    return result;
  }
}
