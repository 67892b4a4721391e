// Helpers for the e2e suites that run against this package's control plane.

import { setTimeout as sleep } from 'node:timers/promises';
import { StatusError } from '@bindery/kube';
import type { KubeClient, KubeObject } from '@bindery/kube';

/**
 * Retries `check` every 100 ms until it stops throwing, and returns what it returned; after
 * `timeoutMs` the last error is thrown. For e2e tests, where the API server and controllers converge
 * asynchronously.
 */
export async function eventually<T>(check: () => T | Promise<T>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await sleep(100);
    }
  }
}

/**
 * `{ skip }` for an e2e suite's describe(): a reason when BINDERY_SKIP_E2E=1 (a contributor's
 * machine without Go or binaries; CI never sets it), otherwise false so the suite runs.
 */
export const skipE2E: string | false = process.env['BINDERY_SKIP_E2E'] === '1' && 'BINDERY_SKIP_E2E=1';

/**
 * The causes of the 422 Invalid that `write` (a dry-run create or update, typically) got from the API
 * server, as `field: message`; [] when it was admitted. Any other error is thrown. For CRD schema and
 * CEL rule tests.
 */
export async function invalidCauses(write: () => Promise<unknown>): Promise<string[]> {
  try {
    await write();
    return [];
  } catch (err) {
    if (!(err instanceof StatusError) || err.reason !== 'Invalid') throw err;
    return err.causes.map((c) => `${c.field ?? ''}: ${c.message ?? ''}`);
  }
}

/** A list as `kubectl get` receives it (a meta.k8s.io Table): the printer columns of a CRD. */
export function tableOf(
  client: KubeClient,
  path: string,
): Promise<{ columnDefinitions: Array<{ name: string }>; rows: Array<{ cells: unknown[] }> }> {
  return client.request({ method: 'GET', path, accept: 'application/json;as=Table;v=v1;g=meta.k8s.io' });
}

export interface SchemalessCRDOptions {
  group: string;
  kind: string;
  plural: string;
  /** With a `/status` subresource (status written apart from the object, as most operators do). */
  status?: boolean;
  labels?: Record<string, string>;
}

/**
 * A CustomResourceDefinition for tests: namespaced, one version `v1` served and stored, whose schema
 * keeps every field (`x-kubernetes-preserve-unknown-fields`).
 */
export function schemalessCRD(options: SchemalessCRDOptions): KubeObject {
  const { group, kind, plural } = options;
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${plural}.${group}`, ...(options.labels && { labels: options.labels }) },
    spec: {
      group,
      names: { kind, plural, singular: kind.toLowerCase() },
      scope: 'Namespaced',
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
          ...(options.status && { subresources: { status: {} } }),
        },
      ],
    },
  };
}
