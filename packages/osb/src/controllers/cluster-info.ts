// What OSB requests carry about the cluster: its id (`context.clusterid`, `organization_guid`), the
// namespace's uid (`space_guid`, `app_guid`) and annotations, and Secret keys for parametersFrom —
// read straight from the API server (Secrets are never cached by this controller).

import { isNotFound } from '@bindery/kube';
import type { KubeObject } from '@bindery/kube';
import type { ReconcileContext } from '@bindery/runtime';
import type { SecretKeyReader } from '../parameters/parameters.ts';

/**
 * The cluster id: `configured`, or else the uid of namespace kube-system (stable for the cluster's
 * life), read once.
 */
export function clusterIDReader(configured: string | undefined): (ctx: ReconcileContext) => Promise<string> {
  let known = configured;
  return async (ctx) => {
    if (known) return known;
    const ns = await ctx.config.apiReader.get(
      { apiVersion: 'v1', kind: 'Namespace', name: 'kube-system' },
      { signal: ctx.signal },
    );
    known = ns.metadata.uid ?? '';
    return known;
  };
}

export interface NamespaceInfo {
  uid: string;
  annotations?: Record<string, string>;
}

export async function namespaceInfo(ctx: ReconcileContext, name: string): Promise<NamespaceInfo> {
  const ns = await ctx.config.apiReader.get<KubeObject>(
    { apiVersion: 'v1', kind: 'Namespace', name },
    { signal: ctx.signal },
  );
  return {
    uid: ns.metadata.uid ?? '',
    ...(ns.metadata.annotations ? { annotations: ns.metadata.annotations } : {}),
  };
}

/** Reads one key of a Secret in `namespace` from the API server; `undefined` when either is missing. */
export function secretKeyReader(ctx: ReconcileContext, namespace: string): SecretKeyReader {
  return async (name, key) => {
    let secret: KubeObject;
    try {
      secret = await ctx.config.apiReader.get(
        { apiVersion: 'v1', kind: 'Secret', name, namespace },
        { signal: ctx.signal },
      );
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
    const data = secret['data'] as Record<string, string> | undefined;
    const value = data?.[key];
    return value === undefined ? undefined : Buffer.from(value, 'base64').toString('utf8');
  };
}
