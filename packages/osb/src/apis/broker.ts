// ClusterServiceBroker and ServiceBroker: an OSB broker the platform lists the catalog of. The
// namespaced kind differs only in where its auth Secret and its classes and plans live.
import type { KubeObject } from '@bindery/kube';
import type { Condition, JSONSchemaProps } from '@bindery/runtime';
import { conditionSchema } from '@bindery/runtime';
import { kindSchema, nameSchema, observedGenerationSchema, timeSchema } from './common.ts';

export const relistBehaviors = ['Duration', 'Manual'] as const;
export type RelistBehavior = (typeof relistBehaviors)[number];

/** How often a `Duration` broker's catalog is listed when `relistDuration` is not set. */
export const defaultRelistDuration = '15m';

const authInfoSchema = <S extends JSONSchemaProps>(secretRef: S) =>
  ({
    description: 'How the platform authenticates to the broker: exactly one of basic and bearer.',
    type: 'object',
    properties: {
      basic: {
        description: 'HTTP basic auth; the Secret holds `username` and `password`.',
        type: 'object',
        properties: { secretRef },
        required: ['secretRef'],
      },
      bearer: {
        description: 'A bearer token; the Secret holds `token`.',
        type: 'object',
        properties: { secretRef },
        required: ['secretRef'],
      },
    },
    'x-kubernetes-validations': [
      { rule: 'has(self.basic) != has(self.bearer)', message: 'exactly one of basic and bearer must be set' },
    ],
  }) as const;

const clusterSecretRefSchema = {
  description: 'A Secret, by namespace and name (a cluster-scoped broker has no namespace of its own).',
  type: 'object',
  properties: {
    name: { ...nameSchema, description: 'Name of the Secret.' },
    namespace: { description: 'Namespace of the Secret.', type: 'string', minLength: 1, maxLength: 63 },
  },
  required: ['name', 'namespace'],
} as const satisfies JSONSchemaProps;

const localSecretRefSchema = {
  description: 'A Secret in the namespace of the broker.',
  type: 'object',
  properties: { name: { ...nameSchema, description: 'Name of the Secret.' } },
  required: ['name'],
} as const satisfies JSONSchemaProps;

const restrictionsSchema = (what: string) =>
  ({
    description: `Requirements every ${what} must meet to be listed, ANDed: \`<property> <op> <value>\` with op ==, !=, in or notin (e.g. \`spec.externalName in (small, medium)\`).`,
    type: 'array',
    maxItems: 32,
    items: { type: 'string', minLength: 1, maxLength: 1024 },
  }) as const;

const brokerSpecProperties = {
  url: {
    description: 'The base URL of the broker; requests go to <url>/v2/....',
    type: 'string',
    minLength: 1,
    maxLength: 2048,
    pattern: '^https?://',
  },
  insecureSkipTLSVerify: {
    description: 'Do not verify the broker certificate. Mutually exclusive with caBundle.',
    type: 'boolean',
  },
  insecureAllowHTTP: {
    description:
      'Consent to talk to the broker over plain http, sending its credentials unencrypted. Without it an http:// url is refused.',
    type: 'boolean',
  },
  caBundle: {
    description: 'PEM certificates (base64 in YAML) that verify the broker certificate.',
    type: 'string',
    format: 'byte',
  },
  relistBehavior: {
    description: 'Duration: list the catalog every relistDuration. Manual: only when relistRequests grows.',
    type: 'string',
    enum: relistBehaviors,
    default: 'Duration',
  },
  relistDuration: {
    description: `How often a Duration broker lists its catalog, e.g. 15m or 1h30m. Default ${defaultRelistDuration}.`,
    type: 'string',
    pattern: '^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$',
  },
  relistRequests: {
    description: 'Raise it to list the catalog now.',
    type: 'integer',
    format: 'int64',
    minimum: 0,
  },
  catalogRestrictions: {
    description: 'Which classes and plans of the catalog become objects.',
    type: 'object',
    properties: {
      serviceClass: restrictionsSchema('class (properties name, spec.externalName, spec.externalID)'),
      servicePlan: restrictionsSchema(
        'plan (properties name, spec.externalName, spec.externalID, spec.free, spec.serviceClassExternalName)',
      ),
    },
  },
} as const satisfies Record<string, JSONSchemaProps>;

const brokerSpecValidations = [
  {
    rule: '!(has(self.caBundle) && has(self.insecureSkipTLSVerify) && self.insecureSkipTLSVerify)',
    message: 'caBundle and insecureSkipTLSVerify are mutually exclusive',
    fieldPath: '.caBundle',
  },
  {
    rule: "!self.url.startsWith('http://') || (has(self.insecureAllowHTTP) && self.insecureAllowHTTP)",
    message: 'an http:// url sends broker credentials in clear text: set insecureAllowHTTP to consent',
    fieldPath: '.url',
  },
  {
    rule: "!has(self.relistDuration) || !has(self.relistBehavior) || self.relistBehavior == 'Duration'",
    message: 'relistDuration applies only to relistBehavior Duration',
    fieldPath: '.relistDuration',
  },
] as const;

export const clusterServiceBrokerSpecSchema = {
  description: 'Where the broker is, how to authenticate to it, and when to list its catalog.',
  type: 'object',
  properties: { ...brokerSpecProperties, authInfo: authInfoSchema(clusterSecretRefSchema) },
  required: ['url'],
  'x-kubernetes-validations': brokerSpecValidations,
} as const satisfies JSONSchemaProps;

export const serviceBrokerSpecSchema = {
  description: 'Where the broker is, how to authenticate to it, and when to list its catalog.',
  type: 'object',
  properties: { ...brokerSpecProperties, authInfo: authInfoSchema(localSecretRefSchema) },
  required: ['url'],
  'x-kubernetes-validations': brokerSpecValidations,
} as const satisfies JSONSchemaProps;

export const brokerStatusSchema = {
  description: 'The observed state of the broker.',
  type: 'object',
  properties: {
    conditions: { description: 'Ready.', type: 'array', items: conditionSchema },
    observedGeneration: observedGenerationSchema,
    lastCatalogRetrievalTime: timeSchema('When the catalog was last listed successfully.'),
    catalog: {
      description: 'How many classes and plans the last listing made objects for.',
      type: 'object',
      properties: {
        classes: { type: 'integer', format: 'int32' },
        plans: { type: 'integer', format: 'int32' },
      },
      required: ['classes', 'plans'],
    },
  },
} as const satisfies JSONSchemaProps;

const brokerSchema = <S extends JSONSchemaProps>(kind: string, spec: S) =>
  kindSchema(
    `${kind} registers an Open Service Broker; its catalog becomes ${
      kind === 'ClusterServiceBroker'
        ? 'ClusterServiceClasses and ClusterServicePlans'
        : 'ServiceClasses and ServicePlans'
    }.`,
    spec,
    brokerStatusSchema,
  );

export const clusterServiceBrokerSchema = brokerSchema(
  'ClusterServiceBroker',
  clusterServiceBrokerSpecSchema,
);
export const serviceBrokerSchema = brokerSchema('ServiceBroker', serviceBrokerSpecSchema);

export interface ClusterSecretReference {
  name: string;
  namespace: string;
}

export interface LocalSecretReference {
  name: string;
}

export interface BrokerAuthInfo<R> {
  basic?: { secretRef: R };
  bearer?: { secretRef: R };
}

export interface CatalogRestrictions {
  serviceClass?: string[];
  servicePlan?: string[];
}

interface BrokerSpecBase {
  url: string;
  insecureSkipTLSVerify?: boolean;
  insecureAllowHTTP?: boolean;
  /** Base64 of PEM certificates, as the API server serializes `format: byte`. */
  caBundle?: string;
  relistBehavior?: RelistBehavior;
  relistDuration?: string;
  relistRequests?: number;
  catalogRestrictions?: CatalogRestrictions;
}

export interface ClusterServiceBrokerSpec extends BrokerSpecBase {
  authInfo?: BrokerAuthInfo<ClusterSecretReference>;
}

export interface ServiceBrokerSpec extends BrokerSpecBase {
  authInfo?: BrokerAuthInfo<LocalSecretReference>;
}

export interface BrokerStatus {
  conditions?: Condition[];
  observedGeneration?: number;
  lastCatalogRetrievalTime?: string;
  catalog?: { classes: number; plans: number };
}

export interface ClusterServiceBroker extends KubeObject {
  spec: ClusterServiceBrokerSpec;
  status?: BrokerStatus;
}

export interface ServiceBroker extends KubeObject {
  spec: ServiceBrokerSpec;
  status?: BrokerStatus;
}
