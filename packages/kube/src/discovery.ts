import { isNotFound } from './errors.ts';
import { LruCache } from './lru-cache.ts';
import { formatApiVersion, parseApiVersion } from './object.ts';
import type { GroupVersionKind, TypeRef } from './object.ts';
import type { Transport } from './transport.ts';

/** What discovery says of one resource: enough to build its paths. */
export interface ResourceInfo {
  group: string;
  version: string;
  /** Plural name, as in the path: `deployments`. */
  resource: string;
  kind: string;
  namespaced: boolean;
  verbs: string[];
  shortNames: string[];
  /** `status`, `scale`, … */
  subresources: string[];
}

interface ApiResource {
  name: string;
  kind: string;
  namespaced: boolean;
  verbs?: string[];
  shortNames?: string[];
}

interface ApiResourceList {
  groupVersion: string;
  resources: ApiResource[];
}

/** Thrown when the server serves no such kind, even after a fresh look. */
export class NoKindMatchError extends Error {
  readonly gvk: GroupVersionKind;
  constructor(gvk: GroupVersionKind) {
    super(`no kind "${gvk.kind}" is served in ${formatApiVersion(gvk.group, gvk.version)}`);
    this.name = 'NoKindMatchError';
    this.gvk = gvk;
  }
}

export interface DiscoveryOptions {
  /**
   * The most group-versions remembered (least recently used forgotten first). Bindings name any
   * apiVersion they like, and an unserved one is remembered as empty: without a cap, every
   * distinct string would stay. Default 512, several times what a cluster with many CRDs serves.
   */
  maxGroupVersions?: number;
}

/**
 * A REST mapper fed by discovery, one group-version at a time. A kind that is not
 * known yet makes it ask the server again (CRDs appear at run time); concurrent
 * lookups of one group-version share one request.
 */
export class Discovery {
  readonly #transport: Transport;
  readonly #groupVersions: LruCache<string, Promise<ResourceInfo[]>>;

  constructor(transport: Transport, options: DiscoveryOptions = {}) {
    this.#transport = transport;
    this.#groupVersions = new LruCache({ maxEntries: options.maxGroupVersions ?? 512 });
  }

  /** How many group-versions are remembered. */
  get cachedGroupVersions(): number {
    return this.#groupVersions.size;
  }

  /** The resource serving `kind` in `apiVersion`. */
  async resourceFor(ref: TypeRef): Promise<ResourceInfo> {
    const cached = await this.#lookup(ref.apiVersion, (r) => r.kind === ref.kind, false);
    if (cached) return cached;
    const fresh = await this.#lookup(ref.apiVersion, (r) => r.kind === ref.kind, true);
    if (fresh) return fresh;
    throw new NoKindMatchError({ ...parseApiVersion(ref.apiVersion), kind: ref.kind });
  }

  /** The kind served under a resource name (`deployments`, `deployments.apps`), by group-version. */
  async kindFor(apiVersion: string, resource: string): Promise<ResourceInfo | undefined> {
    const match = (r: ResourceInfo): boolean => r.resource === resource;
    return (await this.#lookup(apiVersion, match, false)) ?? this.#lookup(apiVersion, match, true);
  }

  /** Every resource (not subresource) of one group-version; empty if it is not served. */
  async resources(apiVersion: string): Promise<ResourceInfo[]> {
    return this.#load(apiVersion, false);
  }

  /** API groups and their versions, preferred version first. */
  async groups(signal?: AbortSignal): Promise<Array<{ name: string; versions: string[] }>> {
    const res = await this.#transport.request({ method: 'GET', path: '/apis', signal });
    const list = res.body as {
      groups?: Array<{
        name: string;
        versions: Array<{ version: string }>;
        preferredVersion?: { version: string };
      }>;
    };
    const core = { name: '', versions: ['v1'] };
    return [
      core,
      ...(list.groups ?? []).map((g) => {
        const versions = g.versions.map((v) => v.version);
        const preferred = g.preferredVersion?.version;
        return {
          name: g.name,
          versions: preferred ? [preferred, ...versions.filter((v) => v !== preferred)] : versions,
        };
      }),
    ];
  }

  /** Forget what is known, so the next lookup asks the server. */
  invalidate(apiVersion?: string): void {
    if (apiVersion === undefined) this.#groupVersions.clear();
    else this.#groupVersions.delete(apiVersion);
  }

  async #lookup(
    apiVersion: string,
    match: (r: ResourceInfo) => boolean,
    refresh: boolean,
  ): Promise<ResourceInfo | undefined> {
    return (await this.#load(apiVersion, refresh)).find(match);
  }

  #load(apiVersion: string, refresh: boolean): Promise<ResourceInfo[]> {
    let entry = this.#groupVersions.get(apiVersion);
    if (!entry || refresh) {
      entry = this.#fetch(apiVersion);
      this.#groupVersions.set(apiVersion, entry);
      // A failed fetch is not remembered; the next lookup tries again.
      entry.catch(() => {
        if (this.#groupVersions.get(apiVersion) === entry) this.#groupVersions.delete(apiVersion);
      });
    }
    return entry;
  }

  async #fetch(apiVersion: string): Promise<ResourceInfo[]> {
    const { group, version } = parseApiVersion(apiVersion);
    const path = group === '' ? `/api/${version}` : `/apis/${group}/${version}`;
    let list: ApiResourceList;
    try {
      list = (await this.#transport.request({ method: 'GET', path })).body as ApiResourceList;
    } catch (err) {
      // A group-version that is not served (yet) is an empty list, not an error.
      if (isNotFound(err)) return [];
      throw err;
    }
    return toResourceInfos(group, version, list.resources);
  }
}

export function toResourceInfos(group: string, version: string, resources: ApiResource[]): ResourceInfo[] {
  const subresources = new Map<string, string[]>();
  for (const r of resources) {
    const slash = r.name.indexOf('/');
    if (slash < 0) continue;
    const parent = r.name.slice(0, slash);
    subresources.set(parent, [...(subresources.get(parent) ?? []), r.name.slice(slash + 1)]);
  }
  return resources
    .filter((r) => !r.name.includes('/'))
    .map((r) => ({
      group,
      version,
      resource: r.name,
      kind: r.kind,
      namespaced: r.namespaced,
      verbs: r.verbs ?? [],
      shortNames: r.shortNames ?? [],
      subresources: subresources.get(r.name) ?? [],
    }));
}
