// The Secret a credential binding writes from the broker's `credentials`, shaped as a servicebinding.io
// Provisioned Service's Secret: `.type` `servicebinding.io/<type>`, entries `type` and `provider`,
// every credential value a string (nested values as JSON text, as Service Catalog serialized them).
// Errors name the binding and the key, never a value.

export interface CredentialSecretInput {
  /** The Secret's name and namespace. */
  name: string;
  namespace: string;
  /** The binding that controls the Secret. */
  owner: { apiVersion: string; kind: string; name: string; uid: string };
  /** The broker's `credentials`, as received. */
  credentials: unknown;
  /** The binding's `type`/`provider` overrides. */
  type?: string;
  provider?: string;
  /** The service offering (class) the instance was provisioned from. */
  offering: { name: string; tags?: readonly string[]; metadata?: unknown };
  /** The broker's name, the provider when the catalog names none. */
  brokerName: string;
  labels?: Record<string, string>;
}

export interface CredentialSecret {
  apiVersion: 'v1';
  kind: 'Secret';
  metadata: {
    name: string;
    namespace: string;
    labels?: Record<string, string>;
    ownerReferences: {
      apiVersion: string;
      kind: string;
      name: string;
      uid: string;
      controller: true;
      blockOwnerDeletion: true;
    }[];
  };
  type: string;
  /** base64, as the API stores it. */
  data: Record<string, string>;
}

export type CredentialSecretResult =
  | { secret: CredentialSecret; type: string; provider: string }
  | { error: { reason: string; message: string } };

/** Types servicebinding.io users look for, when a catalog tag names one. */
const knownTypes = new Set([
  'postgresql',
  'mysql',
  'mariadb',
  'sqlserver',
  'oracle',
  'db2',
  'mongodb',
  'redis',
  'memcached',
  'cassandra',
  'couchbase',
  'elasticsearch',
  'opensearch',
  'rabbitmq',
  'kafka',
  'nats',
  'amqp',
  'ldap',
  'oauth2',
  's3',
]);

const secretKey = /^[-._a-zA-Z0-9]+$/;
/** The API server's limit on a Secret's data. */
const maxSecretBytes = 1024 * 1024;

export function buildCredentialSecret(input: CredentialSecretInput): CredentialSecretResult {
  const who = `ServiceCredentialBinding ${input.namespace}/${input.owner.name}`;
  const { credentials } = input;
  if (typeof credentials !== 'object' || credentials === null || Array.isArray(credentials)) {
    const got = credentials === null ? 'null' : Array.isArray(credentials) ? 'an array' : typeof credentials;
    return {
      error: {
        reason: 'CredentialsNotAnObject',
        message: `${who}: the broker's credentials must be a JSON object, got ${got}`,
      },
    };
  }
  const entries: Record<string, string> = {};
  for (const [key, value] of Object.entries(credentials as Record<string, unknown>)) {
    if (key.length > 253 || !secretKey.test(key)) {
      return {
        error: {
          reason: 'InvalidCredentialKey',
          message: `${who}: credential key ${JSON.stringify(key.slice(0, 64))} is not a valid Secret key (letters, digits, '-', '_', '.')`,
        },
      };
    }
    if (value === undefined || value === null) continue;
    entries[key] = typeof value === 'string' ? value : JSON.stringify(value);
  }
  const type =
    normalizeType(input.type) ?? normalizeType(asString(entries['type'])) ?? typeFromOffering(input.offering);
  const provider =
    nonEmpty(input.provider) ??
    nonEmpty(entries['provider']) ??
    providerFromOffering(input) ??
    input.brokerName;
  entries['type'] = type;
  entries['provider'] = provider;

  const data: Record<string, string> = {};
  let size = 0;
  for (const [key, value] of Object.entries(entries)) {
    const encoded = Buffer.from(value, 'utf8');
    size += key.length + encoded.length;
    data[key] = encoded.toString('base64');
  }
  if (size > maxSecretBytes) {
    return {
      error: {
        reason: 'CredentialsTooLarge',
        message: `${who}: the broker's credentials take ${size} bytes, more than a Secret holds (${maxSecretBytes})`,
      },
    };
  }
  const metadata: CredentialSecret['metadata'] = {
    name: input.name,
    namespace: input.namespace,
    ownerReferences: [{ ...input.owner, controller: true, blockOwnerDeletion: true }],
  };
  if (input.labels) metadata.labels = { ...input.labels };
  return {
    secret: { apiVersion: 'v1', kind: 'Secret', metadata, type: `servicebinding.io/${type}`, data },
    type,
    provider,
  };
}

/** The type from the offering: the first tag that names a well-known type, else the offering's name. */
export function typeFromOffering(offering: { name: string; tags?: readonly string[] }): string {
  for (const tag of offering.tags ?? []) {
    const t = normalizeType(tag);
    if (t !== undefined && knownTypes.has(t)) return t;
  }
  return normalizeType(offering.name) ?? 'osb';
}

function providerFromOffering(input: CredentialSecretInput): string | undefined {
  const metadata = input.offering.metadata;
  if (typeof metadata !== 'object' || metadata === null) return undefined;
  return nonEmpty(asString((metadata as Record<string, unknown>)['providerDisplayName']));
}

/** Lower case, `[a-z0-9.-]` only, so that `servicebinding.io/<type>` is a clean Secret type. */
function normalizeType(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const t = value
    .trim()
    .toLowerCase()
    .replace(/[^a-z0-9.-]+/g, '-')
    .replace(/^[-.]+|[-.]+$/g, '')
    .slice(0, 63);
  return t === '' ? undefined : t;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value;
}

function asString(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}
