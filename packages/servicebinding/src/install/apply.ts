// Server-side apply of the install bundle, one object at a time in bundle order. `kubectl apply`
// maps every object to a resource before it applies any, so a file holding a CRD and an object of
// that CRD fails on an empty cluster ("no matches for kind", servicebinding/runtime#159); applying
// in order and waiting for each CRD to serve its kind does not.

import { setTimeout as sleep } from 'node:timers/promises';
import { NoKindMatchError, isNotFound, parseApiVersion } from '@bindery/kube';
import type { KubeClient, KubeObject } from '@bindery/kube';

export interface ApplyInstallBundleOptions {
  /** Default `bindery-install`. */
  fieldManager?: string;
  /** Take over fields another manager owns (`kubectl apply --server-side --force-conflicts`). Default false. */
  force?: boolean;
  /**
   * Objects whose kind is not served and not defined by a CRD in the bundle (cert-manager's, where it
   * is not installed) are skipped when this returns true; otherwise they fail the apply.
   */
  skip?: (obj: KubeObject) => boolean;
  /** How long to wait for a CRD of the bundle to serve its kind. Default 60 s. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface ApplyInstallBundleResult {
  /** As the server returned them, in order. */
  applied: KubeObject[];
  skipped: KubeObject[];
}

const describe = (o: KubeObject): string =>
  `${o.kind ?? '?'} ${o.metadata.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata.name ?? '?'}`;

export async function applyInstallBundle(
  client: KubeClient,
  objects: readonly KubeObject[],
  options: ApplyInstallBundleOptions = {},
): Promise<ApplyInstallBundleResult> {
  const fieldManager = options.fieldManager ?? 'bindery-install';
  const timeoutMs = options.timeoutMs ?? 60_000;
  const signal = options.signal;
  const definedByBundle = new Set(
    objects
      .filter((o) => o.kind === 'CustomResourceDefinition')
      .map((crd) => {
        const spec = crd['spec'] as { group: string; names: { kind: string } };
        return `${spec.names.kind}.${spec.group}`;
      }),
  );
  const result: ApplyInstallBundleResult = { applied: [], skipped: [] };
  for (const obj of objects) {
    const { group } = parseApiVersion(obj.apiVersion ?? '');
    const waitForCRD = definedByBundle.has(`${obj.kind ?? ''}.${group}`);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      signal?.throwIfAborted();
      try {
        result.applied.push(
          await client.apply(obj, {
            fieldManager,
            ...(options.force && { force: true }),
            ...(signal && { signal }),
          }),
        );
        break;
      } catch (err) {
        // A CRD just Established may still 404 on its resource path for a moment.
        const unserved = err instanceof NoKindMatchError || (waitForCRD && isNotFound(err));
        if (!unserved)
          throw new Error(`applying ${describe(obj)}: ${(err as Error).message}`, { cause: err });
        if (!waitForCRD) {
          if (options.skip?.(obj)) {
            result.skipped.push(obj);
            break;
          }
          throw new Error(
            `applying ${describe(obj)}: ${obj.apiVersion ?? ''} ${obj.kind ?? ''} is not served by this cluster; install its CustomResourceDefinitions first`,
            { cause: err },
          );
        }
        if (Date.now() > deadline) {
          throw new Error(
            `applying ${describe(obj)}: its CustomResourceDefinition did not serve it within ${timeoutMs / 1000} s`,
            { cause: err },
          );
        }
        await sleep(200);
      }
    }
  }
  return result;
}
