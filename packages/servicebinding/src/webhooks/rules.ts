// The rules of the interceptor and trigger webhooks, from the kinds the live bindings name (the
// RI's WebhookRules): kind → plural resource by discovery, one rule per API group, every version
// (`apiVersions: ["*"]`), resources sorted, and only resources the controller may act on.

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

export interface RulesOptions {
  resourceFor: ResourceFor;
  /** Whether the controller may act on a resource (a SelfSubjectAccessReview, cached). */
  allowed: (group: string, resource: string) => Promise<boolean>;
  operations: readonly string[];
  /** Added per resource, e.g. `["status"]` gives `x` and `x/status`. */
  subresources?: (type: TypeRef) => readonly string[];
  /** A kind that is not served, or not allowed: left out, with the reason. */
  onSkip?: (type: TypeRef, reason: string) => void;
}

export async function webhookRules(types: readonly TypeRef[], options: RulesOptions): Promise<WebhookRule[]> {
  const byGroup = new Map<string, Set<string>>();
  for (const type of types) {
    let resource: string;
    let group: string;
    try {
      const info = await options.resourceFor(type);
      resource = info.resource;
      group = info.group;
    } catch (err) {
      // A binding naming a kind that is not served binds nothing; the others still count.
      options.onSkip?.(type, err instanceof Error ? err.message : String(err));
      continue;
    }
    if (!(await options.allowed(group, resource))) {
      options.onSkip?.(
        type,
        `the controller may not act on ${group === '' ? resource : `${resource}.${group}`}`,
      );
      continue;
    }
    let resources = byGroup.get(group);
    if (!resources) byGroup.set(group, (resources = new Set()));
    resources.add(resource);
    for (const sub of options.subresources?.(type) ?? []) resources.add(`${resource}/${sub}`);
  }
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
