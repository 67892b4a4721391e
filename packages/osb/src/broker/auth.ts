// The OSB client options of a broker object: URL, TLS, and credentials read from its Secret. Shared
// by every controller that talks to brokers. Secret values are only handed to the client: errors
// name the Secret and the key, never what is in them.
import { isNotFound } from '@bindery/kube';
import type { KubeObject } from '@bindery/kube';
import type { Reader } from '@bindery/runtime';
import type { ClusterServiceBrokerSpec, ServiceBrokerSpec } from '../apis/broker.ts';
import type { BrokerAuth, OsbClientOptions } from '../client/client.ts';

/** The broker's auth Secret is missing or incomplete: the message says which and what is missing. */
export class BrokerAuthError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BrokerAuthError';
  }
}

/** The broker's spec cannot be used as it is (e.g. plain http without consent). */
export class BrokerConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BrokerConfigError';
  }
}

interface Secret extends KubeObject {
  data?: Record<string, string>;
}

export interface BrokerObject extends KubeObject {
  spec: ClusterServiceBrokerSpec | ServiceBrokerSpec;
}

export interface BrokerClientOptionsInput {
  /** Reads the Secret; the API reader, so no informer caches every Secret of the cluster. */
  reader: Reader;
  broker: BrokerObject;
  signal?: AbortSignal;
  timeoutMs?: number;
}

async function readKeys(
  reader: Reader,
  ref: { namespace: string; name: string },
  keys: readonly string[],
  signal: AbortSignal | undefined,
): Promise<Record<string, string>> {
  const where = `Secret ${ref.namespace}/${ref.name}`;
  let secret: Secret;
  try {
    secret = await reader.get<Secret>({ apiVersion: 'v1', kind: 'Secret', ...ref }, signal ? { signal } : {});
  } catch (err) {
    if (isNotFound(err)) throw new BrokerAuthError(`${where} not found`);
    throw err;
  }
  const out: Record<string, string> = {};
  for (const key of keys) {
    const value = secret.data?.[key];
    if (value === undefined || value === '')
      throw new BrokerAuthError(`${where} has no key ${JSON.stringify(key)}`);
    out[key] = Buffer.from(value, 'base64').toString('utf8');
  }
  return out;
}

/** The client options for `broker`, with its credentials read now. */
export async function brokerClientOptions(input: BrokerClientOptionsInput): Promise<OsbClientOptions> {
  const { broker, reader, signal } = input;
  const spec = broker.spec;
  let url: URL;
  try {
    url = new URL(spec.url);
  } catch {
    throw new BrokerConfigError(`spec.url: ${JSON.stringify(spec.url)} is not a URL`);
  }
  if (url.protocol === 'http:' && spec.insecureAllowHTTP !== true) {
    throw new BrokerConfigError(
      'spec.url: an http:// URL sends broker credentials in clear text; use https, or set spec.insecureAllowHTTP to consent',
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new BrokerConfigError(`spec.url: the scheme must be https, not ${url.protocol.replace(/:$/, '')}`);
  }
  if (spec.caBundle !== undefined && spec.insecureSkipTLSVerify === true) {
    throw new BrokerConfigError('spec.caBundle and spec.insecureSkipTLSVerify are mutually exclusive');
  }
  const secretRef = (ref: { name: string; namespace?: string }): { namespace: string; name: string } => ({
    name: ref.name,
    namespace: ref.namespace ?? broker.metadata.namespace ?? '',
  });
  let auth: BrokerAuth | undefined;
  const info = spec.authInfo;
  if (info?.basic) {
    const { username = '', password = '' } = await readKeys(
      reader,
      secretRef(info.basic.secretRef),
      ['username', 'password'],
      signal,
    );
    auth = { basic: { username, password } };
  } else if (info?.bearer) {
    const { token = '' } = await readKeys(reader, secretRef(info.bearer.secretRef), ['token'], signal);
    auth = { bearer: { token } };
  }
  return {
    url: spec.url,
    ...(auth && { auth }),
    ...(spec.caBundle !== undefined && { caBundle: Buffer.from(spec.caBundle, 'base64').toString('utf8') }),
    ...(spec.insecureSkipTLSVerify === true && { insecureSkipTLSVerify: true }),
    ...(input.timeoutMs !== undefined && { timeoutMs: input.timeoutMs }),
  };
}
