// What the event tests share: a reporting source, a time, a regarding object and a warning.

import { buildEvent } from './event-builder.ts';
import type { Event, EventOptions } from './event-builder.ts';
import type { KubeObject } from './object.ts';

export const source = { reportingController: 'bindery.dev/test', reportingInstance: 'pod-1' };
export const t0 = Date.UTC(2024, 0, 1);

export function configMap(name = 'web', uid = 'uid-1', namespace: string | null = 'apps'): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, uid, resourceVersion: '42', ...(namespace ? { namespace } : {}) },
    data: { secret: 'never copied' },
  };
}

export const warning: EventOptions = {
  type: 'Warning',
  reason: 'ProjectionFailed',
  action: 'Binding',
  note: 'no such secret',
};

/** The Event `buildEvent` makes, with a fixed random part of the name; throws if it makes none. */
export function build(regarding: KubeObject = configMap(), options: EventOptions = warning, now = t0): Event {
  const event = buildEvent(regarding, options, source, now, () => 0.5);
  if (event instanceof Error) throw event;
  return event;
}
