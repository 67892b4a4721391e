// The sample broker keeps everything in Secrets of its namespace, none of it in memory: one Secret per
// instance and one per binding. Each holds the generated credentials (data), the accepted request
// (data key `.osb-request`: it carries parameters, which may be sensitive) and the non-secret state
// (annotation `osb.bindery.dev/state`: plan, operation). A restarted broker reads it all back.
// Names are digests of the OSB ids (any string, up to any length) so they are valid object names.

import { createHash } from 'node:crypto';
import { isAlreadyExists, isNotFound } from '@bindery/kube';
import type { KubeClient, KubeObject } from '@bindery/kube';
import type { JsonObject, OperationState } from '../broker.ts';

export const MANAGED_BY = 'bindery-sample-broker';
export const LABEL_INSTANCE = 'osb.bindery.dev/instance';
export const LABEL_KIND = 'osb.bindery.dev/kind';
const ANNOTATION_INSTANCE_ID = 'osb.bindery.dev/instance-id';
const ANNOTATION_BINDING_ID = 'osb.bindery.dev/binding-id';
const ANNOTATION_STATE = 'osb.bindery.dev/state';
const REQUEST_KEY = '.osb-request';

export type OperationType = 'provision' | 'update' | 'deprovision' | 'bind' | 'unbind';

export interface Operation {
  /** What the broker returned as `operation`: unique per resource, e.g. `provision-1`. */
  id: string;
  type: OperationType;
  state: OperationState;
  /** When an in-progress operation is done (ms since the epoch). */
  readyAt: number;
  description?: string;
}

export interface StoredState {
  serviceId: string;
  planId: string;
  /** Counts operations, so each gets a new id. */
  sequence: number;
  operation: Operation;
  /** Instances: current parameters after updates, and `maintenance_info.version`. */
  parameters?: JsonObject;
  maintenanceVersion?: string;
}

export interface StoredResource {
  kind: 'instance' | 'binding';
  instanceId: string;
  /** Bindings only. */
  bindingId?: string;
  state: StoredState;
  /** The PUT body accepted, to compare repeated PUTs with. */
  request: JsonObject;
  credentials: Record<string, string>;
  /** Of the Secret, for optimistic concurrency. */
  resourceVersion?: string;
}

const digest = (text: string): string => createHash('sha256').update(text).digest('hex').slice(0, 40);

/** Which record: an instance id, or an instance id and a binding id. */
export interface RecordKey {
  instanceId: string;
  bindingId?: string;
}

export function secretName(key: RecordKey): string {
  return key.bindingId === undefined
    ? `osb-instance-${digest(key.instanceId)}`
    : `osb-binding-${digest(`${digest(key.instanceId)}/${key.bindingId}`)}`;
}

const kindOf = (key: RecordKey): StoredResource['kind'] =>
  key.bindingId === undefined ? 'instance' : 'binding';

const fromBase64 = (value: string): string => Buffer.from(value, 'base64').toString('utf8');
const toBase64 = (value: string): string => Buffer.from(value, 'utf8').toString('base64');

interface SecretObject extends KubeObject {
  type?: string;
  data?: Record<string, string>;
}

/** The Secrets of one namespace as instance and binding records. */
export class SecretStore {
  readonly #client: KubeClient;
  readonly namespace: string;

  constructor(options: { client: KubeClient; namespace: string }) {
    this.#client = options.client;
    this.namespace = options.namespace;
  }

  async get(key: RecordKey, signal?: AbortSignal): Promise<StoredResource | undefined> {
    try {
      const secret = await this.#client.get<SecretObject>(
        { apiVersion: 'v1', kind: 'Secret', namespace: this.namespace, name: secretName(key) },
        signal ? { signal } : {},
      );
      return decode(kindOf(key), secret);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /** Creates the record; returns the one already there instead if another request made it first. */
  async create(resource: StoredResource, signal?: AbortSignal): Promise<StoredResource | 'created'> {
    try {
      await this.#client.create(this.#encode(resource), signal ? { signal } : {});
      return 'created';
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
      const existing = await this.get(resource, signal);
      if (!existing) throw err;
      return existing;
    }
  }

  /** Replaces the record; 409 Conflict (a StatusError) if it changed since it was read. */
  async save(resource: StoredResource, signal?: AbortSignal): Promise<StoredResource> {
    const secret = await this.#client.update<SecretObject>(this.#encode(resource), signal ? { signal } : {});
    return decode(resource.kind, secret);
  }

  async delete(key: RecordKey, signal?: AbortSignal): Promise<void> {
    try {
      await this.#client.delete(
        { apiVersion: 'v1', kind: 'Secret', namespace: this.namespace, name: secretName(key) },
        signal ? { signal } : {},
      );
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  /** Deletes every binding Secret of an instance. */
  async deleteBindingsOf(instanceId: string, signal?: AbortSignal): Promise<void> {
    const list = await this.#client.listAll<SecretObject>(
      { apiVersion: 'v1', kind: 'Secret' },
      {
        namespace: this.namespace,
        labelSelector: `${LABEL_KIND}=binding,${LABEL_INSTANCE}=${digest(instanceId)}`,
        metadataOnly: true,
        ...(signal && { signal }),
      },
    );
    for (const item of list.items) {
      await this.#client
        .delete({
          apiVersion: 'v1',
          kind: 'Secret',
          namespace: this.namespace,
          name: item.metadata.name ?? '',
        })
        .catch((err: unknown) => {
          if (!isNotFound(err)) throw err;
        });
    }
  }

  #encode(resource: StoredResource): SecretObject {
    const data: Record<string, string> = { [REQUEST_KEY]: toBase64(JSON.stringify(resource.request)) };
    for (const [key, value] of Object.entries(resource.credentials)) data[key] = toBase64(value);
    return {
      apiVersion: 'v1',
      kind: 'Secret',
      type: `osb.bindery.dev/${resource.kind}`,
      metadata: {
        name: secretName(resource),
        namespace: this.namespace,
        labels: {
          'app.kubernetes.io/managed-by': MANAGED_BY,
          [LABEL_KIND]: resource.kind,
          [LABEL_INSTANCE]: digest(resource.instanceId),
        },
        annotations: {
          [ANNOTATION_INSTANCE_ID]: resource.instanceId,
          ...(resource.bindingId !== undefined && { [ANNOTATION_BINDING_ID]: resource.bindingId }),
          [ANNOTATION_STATE]: JSON.stringify(resource.state),
        },
        ...(resource.resourceVersion !== undefined && { resourceVersion: resource.resourceVersion }),
      },
      data,
    };
  }
}

function decode(kind: StoredResource['kind'], secret: SecretObject): StoredResource {
  const annotations = secret.metadata.annotations ?? {};
  const data = secret.data ?? {};
  const credentials: Record<string, string> = {};
  for (const [key, value] of Object.entries(data))
    if (key !== REQUEST_KEY) credentials[key] = fromBase64(value);
  const resource: StoredResource = {
    kind,
    instanceId: annotations[ANNOTATION_INSTANCE_ID] ?? '',
    state: JSON.parse(annotations[ANNOTATION_STATE] ?? '{}') as StoredState,
    request: JSON.parse(fromBase64(data[REQUEST_KEY] ?? toBase64('{}'))) as JsonObject,
    credentials,
  };
  const bindingId = annotations[ANNOTATION_BINDING_ID];
  if (kind === 'binding' && bindingId !== undefined) resource.bindingId = bindingId;
  if (secret.metadata.resourceVersion !== undefined)
    resource.resourceVersion = secret.metadata.resourceVersion;
  return resource;
}
