// Records events instead of sending them, for ExpectEvents.

import type { KubeObject } from '@bindery/kube';
import type { EventType, Recorder } from '../config.ts';

/** An event as the kit records and compares it. */
export interface RecordedEvent {
  regarding: { kind: string; namespace?: string; name: string };
  type: EventType;
  reason: string;
  note: string;
  /** Compared only when the expected event sets it. */
  action?: string;
}

/** A `Recorder` that keeps every event in `events`, in order. */
export class FakeRecorder implements Recorder {
  readonly events: RecordedEvent[] = [];

  event(
    regarding: KubeObject,
    event: { type: EventType; reason: string; note: string; action?: string },
  ): void {
    this.events.push(newEvent(regarding, event.type, event.reason, event.note, event.action));
  }
}

/** The event a reconciler records about `regarding` (reconciler.io's `NewEvent`). */
export function newEvent(
  regarding: KubeObject | { kind: string; namespace?: string; name: string },
  type: EventType,
  reason: string,
  note: string,
  action?: string,
): RecordedEvent {
  const r =
    'metadata' in regarding
      ? {
          kind: regarding.kind ?? '',
          namespace: regarding.metadata.namespace,
          name: regarding.metadata.name ?? '',
        }
      : regarding;
  return {
    regarding: { kind: r.kind, ...(r.namespace ? { namespace: r.namespace } : {}), name: r.name },
    type,
    reason,
    note,
    ...(action !== undefined ? { action } : {}),
  };
}
