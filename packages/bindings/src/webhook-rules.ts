// The rules of an admission webhook, from the kinds that live bindings name (the RI's WebhookRules,
// knative psbinding's rules): kind → plural resource by discovery, one rule per API group (every
// version) or per group/version, resources sorted, and only resources the controller may act on.
// Used by the binding admission controller and by the ServiceBinding interceptor and trigger.

import { NoKindMatchError, groupKind, parseApiVersion } from '@bindery/kube';
import type { TypeRef } from '@bindery/kube';

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
  resourceFor: (type: TypeRef) => Promise<{ group?: string; resource: string }>;
  /**
   * Whether the controller may act on a resource (a SelfSubjectAccessReview, cached); throws when
   * it cannot tell. Default: every resource.
   */
  allowed?: (group: string, resource: string) => Promise<boolean>;
  operations: readonly string[];
  /**
   * `all` (default): one rule per group for every version (`apiVersions: ["*"]`), the request in
   * the version it was made in. `named`: one rule per group/version the types name, so the API
   * server converts requests to a version the binding knows.
   */
  versions?: 'all' | 'named';
  /** Added per resource, e.g. `["status"]` gives `x` and `x/status`. */
  subresources?: (type: TypeRef) => readonly string[];
  /** A kind that is not served, or not allowed: left out, with the reason. */
  onSkip?: (type: TypeRef, reason: string) => void;
  /**
   * What each kind (by `Kind.group`, or `apiVersion/Kind` with `versions: 'named'`) resolved to
   * last time; kept up to date here. A kind whose discovery or access check fails transiently
   * keeps its entry's rule. Kinds not asked for are forgotten, so it holds no more than the kinds bound.
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
  const named = options.versions === 'named';
  /** By group (by apiVersion when named): the rule's group, version and resources. */
  const byRule = new Map<string, { group: string; version: string; resources: Set<string> }>();
  const known = options.lastKnown;
  const asked = new Set<string>();
  for (const type of types) {
    const key = named ? `${type.apiVersion}/${type.kind}` : groupKind(type);
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
    const ruleKey = named ? type.apiVersion : info.group;
    let rule = byRule.get(ruleKey);
    if (!rule)
      byRule.set(
        ruleKey,
        (rule = {
          group: info.group,
          version: named ? parseApiVersion(type.apiVersion).version : '*',
          resources: new Set(),
        }),
      );
    rule.resources.add(info.resource);
    for (const sub of options.subresources?.(type) ?? []) rule.resources.add(`${info.resource}/${sub}`);
  }
  for (const key of known?.keys() ?? []) if (!asked.has(key)) known?.delete(key);
  return [...byRule.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([, { group, version, resources }]): WebhookRule => ({
      apiGroups: [group],
      apiVersions: [version],
      operations: [...options.operations],
      resources: [...resources].sort(),
      scope: 'Namespaced',
    }));
}

/** The kind's resource if it belongs in the rules, undefined if it does not; throws on a transient error. */
async function resolve(type: TypeRef, options: RulesOptions): Promise<KnownResource | undefined> {
  let info: KnownResource;
  try {
    const found = await options.resourceFor(type);
    info = { group: found.group ?? parseApiVersion(type.apiVersion).group, resource: found.resource };
  } catch (err) {
    if (!(err instanceof NoKindMatchError)) throw err;
    // A binding naming a kind that is not served binds nothing; the others still count.
    options.onSkip?.(type, err.message);
    return undefined;
  }
  if (options.allowed && !(await options.allowed(info.group, info.resource))) {
    options.onSkip?.(
      type,
      `the controller may not act on ${info.group === '' ? info.resource : `${info.resource}.${info.group}`}`,
    );
    return undefined;
  }
  return info;
}
