// The resolver: what a ServiceBinding points at, read from the cluster. The service is a
// Provisioned Service (any kind with `.status.binding.name`: read from a duck-typed cache when the
// controller watches its kind, else with a GET, so `get` permission is enough) or a Secret referenced directly (checked with a metadata-only GET:
// its data is never read). Workloads are listed in the binding's namespace: those the binding
// targets, plus every one that still carries its projection (so a workload that stopped matching
// is unbound). The mapping of a workload resource is the ClusterWorkloadResourceMapping named
// `<resource>.<group>` (spec §5.2).

import { isNotFound, parseApiVersion, selectorFromLabelSelector } from '@bindery/kube';
import type { KubeObject, ObjectRef, Selector, TypeRef } from '@bindery/kube';
import type { Reader } from '@bindery/runtime';
import { isProjected } from '../projector/index.ts';
import type { MappingSpec } from '../projector/index.ts';
import { group as apiGroup, storageVersion } from '../apis/index.ts';
import type { ClusterWorkloadResourceMapping, ServiceBinding } from '../apis/index.ts';
import { identityOf } from './secret-metadata.ts';
import type { SecretAccess } from './secret-metadata.ts';

/** The ClusterWorkloadResourceMapping type, in the storage version. */
export const clusterWorkloadResourceMappingType: TypeRef = {
  apiVersion: `${apiGroup}/${storageVersion}`,
  kind: 'ClusterWorkloadResourceMapping',
};

export const secretType: TypeRef = { apiVersion: 'v1', kind: 'Secret' };

/** What discovery says of a kind: its group and plural resource name. */
export interface ResourceName {
  group: string;
  resource: string;
}

/** A REST mapper: `KubeClient.discovery.resourceFor` in a cluster. */
export type ResourceFor = (type: TypeRef) => Promise<ResourceName>;

export interface ResolverOptions {
  /**
   * Reads Provisioned Services of kinds the controller does not watch: the API server, because it
   * may only get/list them (PR-2 asks for watch; the RI's users often grant less).
   */
  apiReader: Reader;
  /**
   * Reads what the manager watches anyway: workloads, Secret metadata and mappings. A cache, so a
   * reconcile costs no LIST of the namespace; a stale read ends in a 409 and a retry.
   */
  cacheReader: Reader;
  resourceFor: ResourceFor;
  /** `none`: a direct Secret is not checked (no verb on Secrets). Default `metadata`. */
  secretAccess?: SecretAccess;
}

/** DS-1: a `v1` `Secret` service is the binding Secret itself. */
export function isDirectSecretReference(service: { apiVersion: string; kind: string }): boolean {
  return service.apiVersion === 'v1' && service.kind === 'Secret';
}

export function serviceRef(binding: ServiceBinding): ObjectRef {
  const s = binding.spec.service;
  return {
    apiVersion: s.apiVersion,
    kind: s.kind,
    namespace: binding.metadata.namespace ?? '',
    name: s.name,
  };
}

export function workloadType(binding: ServiceBinding): TypeRef {
  return { apiVersion: binding.spec.workload.apiVersion, kind: binding.spec.workload.kind };
}

/** The selector of a selector binding; `undefined` for a binding by name. Throws when malformed. */
export function workloadSelector(binding: ServiceBinding): Selector | undefined {
  const w = binding.spec.workload;
  return w.name !== undefined && w.name !== '' ? undefined : selectorFromLabelSelector(w.selector);
}

/** The service's binding Secret, or why there is none. Errors other than "there is none" are thrown. */
export type ServiceResolution =
  { secretName: string; direct: boolean } | { secretName: undefined; direct: false; missingBinding: true };

export interface WorkloadResolution {
  /** Workloads the binding targets now (by name or selector), sorted by name. */
  targeted: KubeObject[];
  /** Workloads that carry this binding's projection but are no longer targeted. */
  stale: KubeObject[];
  /** A binding by name whose workload does not exist. */
  missing: boolean;
}

export interface MappingResolution {
  /** `<resource>.<group>`; undefined for the core group, which no mapping can name (AMB-12). */
  name: string | undefined;
  /** The mapping's spec; undefined when there is none (PodSpec-able, RB-2). */
  spec: MappingSpec | undefined;
}

export class Resolver {
  readonly #apiReader: Reader;
  readonly #cacheReader: Reader;
  readonly #resourceFor: ResourceFor;
  readonly #secretAccess: SecretAccess;

  constructor(options: ResolverOptions) {
    this.#apiReader = options.apiReader;
    this.#cacheReader = options.cacheReader;
    this.#resourceFor = options.resourceFor;
    this.#secretAccess = options.secretAccess ?? 'metadata';
  }

  /**
   * DS-1 / PS-1: the binding Secret's name. A direct Secret is checked to exist in the Secret
   * metadata cache (unless `secretAccess` is `none`); a Provisioned Service is read from the API server (never watched). Throws the
   * API error (NotFound, Forbidden, …) when the service cannot be read.
   */
  async resolveService(
    binding: ServiceBinding,
    signal?: AbortSignal,
    options: { watched?: boolean } = {},
  ): Promise<ServiceResolution> {
    const ref = serviceRef(binding);
    if (isDirectSecretReference(ref)) {
      if (this.#secretAccess === 'none') return { secretName: ref.name, direct: true };
      await this.#cacheReader.get(ref, { metadataOnly: true, ...(signal ? { signal } : {}) });
      return { secretName: ref.name, direct: true };
    }
    // A watched kind is in the cache (as `provisionedServiceDuck` keeps it); the others are read.
    const reader = options.watched ? this.#cacheReader : this.#apiReader;
    const service = await reader.get(ref, signal ? { signal } : {});
    const name = bindingSecretName(service);
    return name === undefined
      ? { secretName: undefined, direct: false, missingBinding: true }
      : { secretName: name, direct: false };
  }

  /** The Secret's metadata (for its resourceVersion), or undefined when it does not exist. */
  async secretMetadata(
    namespace: string,
    name: string,
    signal?: AbortSignal,
  ): Promise<KubeObject | undefined> {
    try {
      return await this.#cacheReader.get(
        { ...secretType, namespace, name },
        { metadataOnly: true, ...(signal ? { signal } : {}) },
      );
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /**
   * The workloads of the binding's kind in its namespace that it targets or has projected into
   * (one cached list; the RI's LookupWorkloads). Throws the API error, or `NoKindMatchError`.
   */
  async resolveWorkloads(binding: ServiceBinding, signal?: AbortSignal): Promise<WorkloadResolution> {
    const type = workloadType(binding);
    const name = binding.spec.workload.name;
    const selector = workloadSelector(binding);
    const matches = (w: KubeObject): boolean =>
      selector === undefined ? w.metadata.name === name : selector.matches(w.metadata.labels);
    const relevant = (w: KubeObject): boolean => matches(w) || isProjected(binding, w);
    const namespace = binding.metadata.namespace ?? '';
    const items = isFilteringReader(this.#cacheReader)
      ? await this.#cacheReader.listFiltered(type, { namespace, ...(signal ? { signal } : {}) }, relevant)
      : (await this.#cacheReader.list(type, { namespace, ...(signal ? { signal } : {}) })).items;
    const targeted: KubeObject[] = [];
    const stale: KubeObject[] = [];
    for (const item of items) {
      // Items of a built-in kind's list carry no apiVersion and kind; the projector needs them.
      const w: KubeObject = { ...item, apiVersion: type.apiVersion, kind: type.kind };
      if (matches(w)) targeted.push(w);
      else if (isProjected(binding, w)) stale.push(w);
    }
    const byName = (a: KubeObject, b: KubeObject): number =>
      (a.metadata.name ?? '').localeCompare(b.metadata.name ?? '');
    return {
      targeted: targeted.sort(byName),
      stale: stale.sort(byName),
      missing: selector === undefined && targeted.length === 0,
    };
  }

  /**
   * §5.2: the mapping of a workload kind, from the ClusterWorkloadResourceMapping named
   * `<resource>.<group>` (resource from discovery). Version selection (exact, then `*`, then
   * PodSpec-able) is the projector's.
   */
  async resolveMapping(type: TypeRef, signal?: AbortSignal): Promise<MappingResolution> {
    const name = await this.mappingName(type);
    if (name === undefined) return { name, spec: undefined };
    try {
      const mapping = await this.#cacheReader.get<ClusterWorkloadResourceMapping>(
        { ...clusterWorkloadResourceMappingType, name },
        signal ? { signal } : {},
      );
      return { name, spec: mapping.spec };
    } catch (err) {
      if (isNotFound(err)) return { name, spec: undefined };
      throw err;
    }
  }

  /** WM-4: `<resource>.<group>` of a kind; undefined for the core group (AMB-12). */
  async mappingName(type: TypeRef): Promise<string | undefined> {
    if (parseApiVersion(type.apiVersion).group === '') return undefined;
    const info = await this.#resourceFor(type);
    return `${info.resource}.${info.group}`;
  }
}

/**
 * What the cache of a Provisioned Service kind keeps of a service: its identity and
 * `.status.binding.name`, the only field the controller reads (PS-1).
 */
export function provisionedServiceDuck(obj: KubeObject): KubeObject {
  const secretName = bindingSecretName(obj);
  return {
    ...identityOf(obj, true),
    ...(secretName !== undefined && { status: { binding: { name: secretName } } }),
  };
}

/** PS-1: `.status.binding.name` of a Provisioned Service, when it is a non-empty string. */
export function bindingSecretName(service: KubeObject): string | undefined {
  const status = service['status'];
  if (typeof status !== 'object' || status === null) return undefined;
  const binding = (status as Record<string, unknown>)['binding'];
  if (typeof binding !== 'object' || binding === null) return undefined;
  const name = (binding as Record<string, unknown>)['name'];
  return typeof name === 'string' && name !== '' ? name : undefined;
}

/** A cache that filters before it copies (the manager's CachedClient). */
interface FilteringReader extends Reader {
  listFiltered(
    type: TypeRef,
    options: { namespace?: string; signal?: AbortSignal },
    keep: (obj: KubeObject) => boolean,
  ): Promise<KubeObject[]>;
}

function isFilteringReader(reader: Reader): reader is FilteringReader {
  return typeof (reader as Partial<FilteringReader>).listFiltered === 'function';
}
