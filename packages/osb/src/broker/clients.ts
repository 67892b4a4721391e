// One OSB client per broker object for the instance and binding controllers: built from the
// broker's spec and auth Secret, checked again at most every `refreshMs` (so a rotated Secret or an
// edited spec is picked up without a Secret read per broker call), replaced when either changed,
// and bounded in number; a replaced or evicted client finishes its requests in flight, then closes.
import { createHash } from 'node:crypto';
import { isNotFound, realClock } from '@bindery/kube';
import type { Clock, TypeRef } from '@bindery/kube';
import type { Reader } from '@bindery/runtime';
import * as g from '../apis/group.ts';
import { OsbClient } from '../client/client.ts';
import type { BrokerApi, BrokerApiProvider, BrokerReference } from '../platform/broker-api.ts';
import { BrokerUnavailableError } from '../platform/broker-api.ts';
import { osbClientBrokerApi } from '../platform/osb-client-api.ts';
import type { BrokerObject } from './auth.ts';
import { BrokerAuthError, BrokerConfigError, brokerClientOptions } from './auth.ts';

export interface BrokerClientsOptions {
  /** Reads broker objects (the manager's cached client). */
  reader: Reader;
  /** Reads auth Secrets (the API reader: no Secret informer). */
  secretReader: Reader;
  /** Default 30 s. */
  refreshMs?: number;
  /** Most clients kept; the least recently used is closed first. Default 256. */
  maxClients?: number;
  /** Per broker request. Default 60 s. */
  requestTimeoutMs?: number;
  clock?: Pick<Clock, 'now'>;
}

interface Entry {
  client: OsbClient;
  api: BrokerApi;
  /** A hash of the client options (credentials included): never stored or shown in clear. */
  fingerprint: string;
  checkedAt: number;
}

const brokerType = (kind: BrokerReference['kind']): TypeRef => ({ apiVersion: g.apiVersion, kind });

export class BrokerClients {
  readonly #options: BrokerClientsOptions;
  readonly #clock: Pick<Clock, 'now'>;
  readonly #entries = new Map<string, Entry>();

  constructor(options: BrokerClientsOptions) {
    this.#options = options;
    this.#clock = options.clock ?? realClock;
  }

  /** The provider the instance and binding controllers take (`addOsbPlatformControllers`). */
  readonly provider: BrokerApiProvider = (ref, signal) => this.get(ref, signal);

  get size(): number {
    return this.#entries.size;
  }

  async get(ref: BrokerReference, signal: AbortSignal): Promise<BrokerApi> {
    const key = `${ref.kind}/${ref.namespace ?? ''}/${ref.name}`;
    const now = this.#clock.now();
    const cached = this.#entries.get(key);
    if (cached && now - cached.checkedAt < (this.#options.refreshMs ?? 30_000))
      return this.#touch(key, cached).api;

    const where = `${ref.kind} ${ref.namespace ? `${ref.namespace}/` : ''}${ref.name}`;
    let broker: BrokerObject;
    try {
      broker = await this.#options.reader.get<BrokerObject>(
        {
          ...brokerType(ref.kind),
          name: ref.name,
          ...(ref.namespace !== undefined && { namespace: ref.namespace }),
        },
        { signal },
      );
    } catch (err) {
      if (!isNotFound(err)) throw err;
      this.#drop(key);
      throw new BrokerUnavailableError('BrokerNotFound', `${where} not found`);
    }
    let options;
    try {
      options = await brokerClientOptions({
        reader: this.#options.secretReader,
        broker,
        signal,
        ...(this.#options.requestTimeoutMs !== undefined && { timeoutMs: this.#options.requestTimeoutMs }),
      });
    } catch (err) {
      if (err instanceof BrokerAuthError)
        throw new BrokerUnavailableError('ErrorGettingAuthCredentials', `${where}: ${err.message}`);
      if (err instanceof BrokerConfigError)
        throw new BrokerUnavailableError('InvalidBrokerSpec', `${where}: ${err.message}`);
      throw err;
    }
    const fingerprint = createHash('sha256').update(JSON.stringify(options)).digest('hex');
    if (cached && cached.fingerprint === fingerprint) {
      cached.checkedAt = now;
      return this.#touch(key, cached).api;
    }
    this.#drop(key);
    const client = new OsbClient(options);
    const entry: Entry = { client, api: osbClientBrokerApi(client), fingerprint, checkedAt: now };
    this.#entries.set(key, entry);
    const max = this.#options.maxClients ?? 256;
    for (const oldest of this.#entries.keys()) {
      if (this.#entries.size <= max) break;
      this.#drop(oldest);
    }
    return entry.api;
  }

  /** Closes every client, after the requests in flight. */
  async close(): Promise<void> {
    const clients = [...this.#entries.values()].map((e) => e.client);
    this.#entries.clear();
    await Promise.all(clients.map((c) => c.close()));
  }

  #touch(key: string, entry: Entry): Entry {
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    return entry;
  }

  #drop(key: string): void {
    const entry = this.#entries.get(key);
    if (!entry) return;
    this.#entries.delete(key);
    // In the background: requests in flight on it finish first.
    entry.client.close().catch(() => undefined);
  }
}
