import { Discovery } from './discovery.ts';
import type { ResourceInfo } from './discovery.ts';
import { StatusError, asStatus, isConflict } from './errors.ts';
import type { Status } from './errors.ts';
import { KubeConfig } from './kubeconfig.ts';
import type { LoadOptions } from './kubeconfig.ts';
import { describeObject } from './object.ts';
import type { KubeList, KubeObject, ObjectRef, TypeRef } from './object.ts';
import { Transport } from './transport.ts';
import type { QueryValue, RequestOptions, TransportOptions } from './transport.ts';

export interface CallOptions {
  signal?: AbortSignal;
}

export interface GetOptions extends CallOptions {
  /** Ask for `PartialObjectMetadata`: metadata only, never `data` or `spec`. */
  metadataOnly?: boolean;
  subresource?: string;
}

export interface ListOptions extends CallOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
  resourceVersion?: string;
  resourceVersionMatch?: 'Exact' | 'NotOlderThan';
  metadataOnly?: boolean;
}

export interface WriteOptions extends CallOptions {
  fieldManager?: string;
  dryRun?: boolean;
  /** `Strict` rejects unknown or duplicate fields instead of dropping them. */
  fieldValidation?: 'Ignore' | 'Warn' | 'Strict';
}

export type PatchType = 'json' | 'merge' | 'strategic-merge';

export interface PatchOptions extends WriteOptions {
  type: PatchType;
  subresource?: string;
}

export interface ApplyOptions extends CallOptions {
  fieldManager: string;
  force?: boolean;
  dryRun?: boolean;
  subresource?: string;
}

export interface DeleteOptions extends CallOptions {
  preconditions?: { uid?: string; resourceVersion?: string };
  propagationPolicy?: 'Foreground' | 'Background' | 'Orphan';
  gracePeriodSeconds?: number;
  dryRun?: boolean;
}

export interface WatchOptions extends CallOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  resourceVersion?: string;
  /** The server closes the watch after this many seconds. */
  timeoutSeconds?: number;
  allowWatchBookmarks?: boolean;
  metadataOnly?: boolean;
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK';

export interface WatchEvent<T extends KubeObject = KubeObject> {
  type: WatchEventType;
  object: T;
}

export interface KubeClientOptions extends Omit<TransportOptions, 'kubeConfig'> {
  kubeConfig: KubeConfig;
}

const patchContentTypes: Record<PatchType, string> = {
  json: 'application/json-patch+json',
  merge: 'application/merge-patch+json',
  'strategic-merge': 'application/strategic-merge-patch+json',
};

const metadataAccept = (as: string): string =>
  `application/json;as=${as};g=meta.k8s.io;v=v1,application/json`;

/**
 * The REST client: every verb on any kind, found through discovery. Objects are
 * plain JSON in and out.
 */
export class KubeClient {
  readonly transport: Transport;
  readonly discovery: Discovery;

  constructor(options: KubeClientOptions) {
    this.transport = new Transport(options);
    this.discovery = new Discovery(this.transport);
  }

  /**
   * A client from the usual places (`KubeConfig.load`): `kubeconfig` (a path), else `$KUBECONFIG`,
   * else the in-cluster service account, else `~/.kube/config`; none found is an error.
   */
  static fromKubeConfig(options: LoadOptions & { userAgent?: string } = {}): KubeClient {
    const { userAgent, ...load } = options;
    return new KubeClient({ kubeConfig: KubeConfig.load(load), ...(userAgent ? { userAgent } : {}) });
  }

  async get<T extends KubeObject = KubeObject>(ref: ObjectRef, options: GetOptions = {}): Promise<T> {
    const info = await this.discovery.resourceFor(ref);
    const res = await this.transport.request({
      method: 'GET',
      path: resourcePath(info, ref.namespace, ref.name, options.subresource),
      ...(options.metadataOnly ? { accept: metadataAccept('PartialObjectMetadata') } : {}),
      signal: options.signal,
    });
    return res.body as T;
  }

  /** One page of a list. Use `listAll` to follow `continue` tokens. */
  async list<T extends KubeObject = KubeObject>(
    type: TypeRef,
    options: ListOptions = {},
  ): Promise<KubeList<T>> {
    const info = await this.discovery.resourceFor(type);
    const res = await this.transport.request({
      method: 'GET',
      path: resourcePath(info, options.namespace),
      query: {
        labelSelector: options.labelSelector,
        fieldSelector: options.fieldSelector,
        limit: options.limit,
        continue: options.continue,
        resourceVersion: options.resourceVersion,
        resourceVersionMatch: options.resourceVersionMatch,
      },
      ...(options.metadataOnly ? { accept: metadataAccept('PartialObjectMetadataList') } : {}),
      signal: options.signal,
    });
    const list = res.body as KubeList<T>;
    // An empty PartialObjectMetadataList arrives as `"items": null`.
    list.items ??= [];
    return list;
  }

  /** Every page of a list, in chunks of `limit` (default 500), as one list. */
  async listAll<T extends KubeObject = KubeObject>(
    type: TypeRef,
    options: ListOptions = {},
  ): Promise<KubeList<T>> {
    const items: T[] = [];
    let page: KubeList<T>;
    let token: string | undefined = options.continue;
    do {
      const pageOptions: ListOptions = { ...options, limit: options.limit ?? 500 };
      if (token) pageOptions.continue = token;
      else delete pageOptions.continue;
      page = await this.list<T>(type, pageOptions);
      items.push(...page.items);
      token = page.metadata.continue;
    } while (token);
    return { ...page, metadata: { ...page.metadata }, items };
  }

  async create<T extends KubeObject>(obj: T, options: WriteOptions = {}): Promise<T> {
    const info = await this.discovery.resourceFor(typeOf(obj));
    const res = await this.transport.request({
      method: 'POST',
      path: resourcePath(info, obj.metadata.namespace),
      query: writeQuery(options),
      body: obj,
      signal: options.signal,
    });
    return res.body as T;
  }

  /** PUT: a whole-object update guarded by the object's `resourceVersion` (409 if stale). */
  async update<T extends KubeObject>(
    obj: T,
    options: WriteOptions & { subresource?: string } = {},
  ): Promise<T> {
    const info = await this.discovery.resourceFor(typeOf(obj));
    const res = await this.transport.request({
      method: 'PUT',
      path: resourcePath(info, obj.metadata.namespace, nameOf(obj), options.subresource),
      query: writeQuery(options),
      body: obj,
      signal: options.signal,
    });
    return res.body as T;
  }

  /** PUT to the `/status` subresource: the API server ignores everything but status. */
  updateStatus<T extends KubeObject>(obj: T, options: WriteOptions = {}): Promise<T> {
    return this.update(obj, { ...options, subresource: 'status' });
  }

  async patch<T extends KubeObject = KubeObject>(
    ref: ObjectRef,
    patch: unknown,
    options: PatchOptions,
  ): Promise<T> {
    const info = await this.discovery.resourceFor(ref);
    const res = await this.transport.request({
      method: 'PATCH',
      path: resourcePath(info, ref.namespace, ref.name, options.subresource),
      query: writeQuery(options),
      body: patch,
      contentType: patchContentTypes[options.type],
      signal: options.signal,
    });
    return res.body as T;
  }

  /** Server-side apply: the fields in `obj` become owned by `fieldManager`. */
  async apply<T extends KubeObject = KubeObject>(obj: KubeObject, options: ApplyOptions): Promise<T> {
    const info = await this.discovery.resourceFor(typeOf(obj));
    const res = await this.transport.request({
      method: 'PATCH',
      path: resourcePath(info, obj.metadata.namespace, nameOf(obj), options.subresource),
      query: {
        fieldManager: options.fieldManager,
        force: options.force,
        dryRun: options.dryRun ? 'All' : undefined,
      },
      // JSON is YAML, which is what the apply content type takes.
      body: obj,
      contentType: 'application/apply-patch+yaml',
      signal: options.signal,
    });
    return res.body as T;
  }

  /** Returns the object as it is while finalizers hold it, or the server's Status once gone. */
  async delete(ref: ObjectRef, options: DeleteOptions = {}): Promise<KubeObject | Status> {
    const info = await this.discovery.resourceFor(ref);
    const body: Record<string, unknown> = { apiVersion: 'v1', kind: 'DeleteOptions' };
    if (options.preconditions) body['preconditions'] = options.preconditions;
    if (options.propagationPolicy) body['propagationPolicy'] = options.propagationPolicy;
    if (options.gracePeriodSeconds !== undefined) body['gracePeriodSeconds'] = options.gracePeriodSeconds;
    if (options.dryRun) body['dryRun'] = ['All'];
    const res = await this.transport.request({
      method: 'DELETE',
      path: resourcePath(info, ref.namespace, ref.name),
      body,
      signal: options.signal,
    });
    return (asStatus(res.body) ?? res.body) as KubeObject | Status;
  }

  /**
   * One watch connection: events until the server closes it or the signal aborts.
   * An `ERROR` event is thrown as a StatusError (410 Gone: list again). Reconnects,
   * relists and backoff are the Reflector's job (`watch.ts`).
   */
  async *watch<T extends KubeObject = KubeObject>(
    type: TypeRef,
    options: WatchOptions = {},
  ): AsyncGenerator<WatchEvent<T>> {
    const info = await this.discovery.resourceFor(type);
    const request: RequestOptions = {
      method: 'GET',
      path: resourcePath(info, options.namespace),
      query: {
        watch: true,
        labelSelector: options.labelSelector,
        fieldSelector: options.fieldSelector,
        resourceVersion: options.resourceVersion,
        timeoutSeconds: options.timeoutSeconds,
        allowWatchBookmarks: options.allowWatchBookmarks,
      },
      ...(options.metadataOnly ? { accept: metadataAccept('PartialObjectMetadata') } : {}),
      signal: options.signal,
    };
    for await (const line of await this.transport.stream(request)) {
      const event = JSON.parse(line) as { type: string; object: unknown };
      if (event.type === 'ERROR') {
        const status = asStatus(event.object) ?? {};
        throw new StatusError({ code: status.code ?? 500, status, request: `WATCH ${request.path}` });
      }
      yield event as WatchEvent<T>;
    }
  }

  /** Any request, for paths the verbs above do not cover (`/healthz`, `/version`, aggregated APIs). */
  async request<T = unknown>(options: RequestOptions): Promise<T> {
    return (await this.transport.request(options)).body as T;
  }

  close(): Promise<void> {
    return this.transport.close();
  }
}

/**
 * Runs `fn` again while it fails with 409 Conflict: `fn` must read the object
 * afresh each time. The same as client-go's `retry.RetryOnConflict`.
 */
export async function retryOnConflict<T>(
  fn: () => Promise<T>,
  options: { attempts?: number; signal?: AbortSignal } = {},
): Promise<T> {
  const attempts = options.attempts ?? 5;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (!isConflict(err) || attempt >= attempts || options.signal?.aborted) throw err;
      await new Promise((resolve) => setTimeout(resolve, 10 * 2 ** attempt * Math.random()));
    }
  }
}

export function resourcePath(
  info: ResourceInfo,
  namespace?: string,
  name?: string,
  subresource?: string,
): string {
  let path = info.group === '' ? `/api/${info.version}` : `/apis/${info.group}/${info.version}`;
  if (info.namespaced && namespace) path += `/namespaces/${encodeURIComponent(namespace)}`;
  path += `/${info.resource}`;
  if (name !== undefined) {
    if (info.namespaced && !namespace) {
      throw new Error(`${info.kind} ${name}: metadata.namespace is required for a namespaced kind`);
    }
    path += `/${encodeURIComponent(name)}`;
    if (subresource) path += `/${subresource}`;
  }
  return path;
}

function typeOf(obj: KubeObject): TypeRef {
  if (!obj.apiVersion || !obj.kind) {
    throw new Error(`${describeObject(obj)}: apiVersion and kind are required`);
  }
  return { apiVersion: obj.apiVersion, kind: obj.kind };
}

function nameOf(obj: KubeObject): string {
  if (!obj.metadata.name) throw new Error(`${obj.kind ?? 'object'}: metadata.name is required`);
  return obj.metadata.name;
}

function writeQuery(options: WriteOptions): Record<string, QueryValue> {
  return {
    fieldManager: options.fieldManager,
    dryRun: options.dryRun ? 'All' : undefined,
    fieldValidation: options.fieldValidation,
  };
}
