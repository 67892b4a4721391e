// The rules of the interceptor and trigger webhooks, from the kinds the live bindings name (the
// RI's WebhookRules): kind → plural resource by discovery, one rule per API group, every version
// (`apiVersions: ["*"]`), resources sorted, and only resources the controller may act on.

import { NoKindMatchError, parseApiVersion } from '@bindery/kube';
import type { TypeRef } from '@bindery/kube';
import type { ResourceFor } from '../resolver/index.ts';

/** One rule of a webhook configuration, in the exact form the API server stores. */
export interface WebhookRule {
  apiGroups: string[];
  apiVersions: string[];
  operations: string[];
  resources: string[];
  scope: 'Namespaced' | 'Cluster' | '*';
}

/** What a kind resolved to, and was allowed, when the rules were last computed. */
export interface KnownResource {
  group: string;
  resource: string;
}

export interface RulesOptions {
  /** Kind → resource. Only `NoKindMatchError` means "not served"; any other error is transient. */
  resourceFor: ResourceFor;
  /** Whether the controller may act on a resource (a SelfSubjectAccessReview, cached); throws when it cannot tell. */
  allowed: (group: string, resource: string) => Promise<boolean>;
  operations: readonly string[];
  /** Added per resource, e.g. `["status"]` gives `x` and `x/status`. */
  subresources?: (type: TypeRef) => readonly string[];
  /** A kind that is not served, or not allowed: left out, with the reason. */
  onSkip?: (type: TypeRef, reason: string) => void;
  /**
   * What each kind (by `group/Kind`) resolved to last time; kept up to date here. A kind whose
   * discovery or access check fails transiently keeps its entry's rule. Kinds not asked for are
   * forgotten, so it holds no more than the kinds bound.
   */
  lastKnown?: Map<string, KnownResource>;
  /** A kind kept from `lastKnown` because of a transient error: the caller should compute again soon. */
  onTransientError?: (type: TypeRef, err: unknown) => void;
}

/**
 * The rules for `types`. A transient error never drops a kind: the kind keeps its last known rule,
 * and without one the whole computation fails, so that no rules leaving it out are written.
 */
export async function webhookRules(types: readonly TypeRef[], options: RulesOptions): Promise<WebhookRule[]> {
  const byGroup = new Map<string, Set<string>>();
  const known = options.lastKnown;
  const asked = new Set<string>();
  for (const type of types) {
    const key = `${parseApiVersion(type.apiVersion).group}/${type.kind}`;
    asked.add(key);
    let info: KnownResource | undefined;
    try {
      info = await resolve(type, options);
    } catch (err) {
      const last = known?.get(key);
      if (last === undefined)
        throw new Error(`${type.kind}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
      options.onTransientError?.(type, err);
      info = last;
    }
    if (info === undefined) {
      known?.delete(key);
      continue;
    }
    known?.set(key, info);
    let resources = byGroup.get(info.group);
    if (!resources) byGroup.set(info.group, (resources = new Set()));
    resources.add(info.resource);
    for (const sub of options.subresources?.(type) ?? []) resources.add(`${info.resource}/${sub}`);
  }
  for (const key of known?.keys() ?? []) if (!asked.has(key)) known?.delete(key);
  return [...byGroup.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([group, resources]): WebhookRule => ({
      apiGroups: [group],
      apiVersions: ['*'],
      operations: [...options.operations],
      resources: [...resources].sort(),
      scope: 'Namespaced',
    }));
}

/** The kind's resource if it belongs in the rules, undefined if it does not; throws on a transient error. */
async function resolve(type: TypeRef, options: RulesOptions): Promise<KnownResource | undefined> {
  let info: KnownResource;
  try {
    const { group, resource } = await options.resourceFor(type);
    info = { group, resource };
  } catch (err) {
    if (!(err instanceof NoKindMatchError)) throw err;
    // A binding naming a kind that is not served binds nothing; the others still count.
    options.onSkip?.(type, err.message);
    return undefined;
  }
  if (!(await options.allowed(info.group, info.resource))) {
    options.onSkip?.(
      type,
      `the controller may not act on ${info.group === '' ? info.resource : `${info.resource}.${info.group}`}`,
    );
    return undefined;
  }
  return info;
}
