// ClusterServiceClass and ServiceClass: one service offering of a broker's catalog, made by the
// broker controller and correlated with the catalog by its OSB id (spec.externalID), never by name.
import type { KubeObject } from '@bindery/kube';
import type { JSONSchemaProps } from '@bindery/runtime';
import { freeFormSchema, kindSchema, nameSchema } from './common.ts';

const classSpecProperties = {
  externalName: { description: 'The OSB `name` of the offering.', type: 'string', minLength: 1 },
  externalID: { description: 'The OSB `id` of the offering.', type: 'string', minLength: 1 },
  description: { description: 'The OSB `description`.', type: 'string' },
  bindable: {
    description: 'Whether instances of its plans can be bound, unless a plan says otherwise.',
    type: 'boolean',
  },
  instancesRetrievable: { description: 'The broker serves GET on its instances.', type: 'boolean' },
  bindingsRetrievable: {
    description: 'The broker serves GET on its bindings (needed for asynchronous bind).',
    type: 'boolean',
  },
  planUpdateable: {
    description: 'Instances may change plan, unless a plan says otherwise.',
    type: 'boolean',
  },
  allowContextUpdates: {
    description: 'The broker accepts updates that change only the context.',
    type: 'boolean',
  },
  tags: { description: 'The OSB `tags`.', type: 'array', items: { type: 'string' } },
  requires: {
    description: 'The OSB `requires` (permissions the offering needs).',
    type: 'array',
    items: { type: 'string' },
  },
  externalMetadata: freeFormSchema('The OSB `metadata` of the offering, as the broker sent it.'),
} as const satisfies Record<string, JSONSchemaProps>;

export const catalogEntryStatusSchema = {
  description: 'The observed state of a catalog entry.',
  type: 'object',
  properties: {
    removedFromBrokerCatalog: {
      description: 'The broker no longer lists it; it is kept while instances still use it.',
      type: 'boolean',
    },
  },
} as const satisfies JSONSchemaProps;

export interface CatalogEntryStatus {
  removedFromBrokerCatalog?: boolean;
}

export const clusterServiceClassSpecSchema = {
  description: 'A service offering of a ClusterServiceBroker, as its catalog lists it.',
  type: 'object',
  properties: {
    ...classSpecProperties,
    clusterServiceBrokerName: { ...nameSchema, description: 'The ClusterServiceBroker that lists it.' },
  },
  required: ['externalName', 'externalID', 'clusterServiceBrokerName'],
} as const satisfies JSONSchemaProps;

export const serviceClassSpecSchema = {
  description: 'A service offering of a ServiceBroker in the same namespace, as its catalog lists it.',
  type: 'object',
  properties: {
    ...classSpecProperties,
    serviceBrokerName: { ...nameSchema, description: 'The ServiceBroker that lists it.' },
  },
  required: ['externalName', 'externalID', 'serviceBrokerName'],
} as const satisfies JSONSchemaProps;

/** The schema of a catalog entry kind (a class or a plan): the broker controller writes its status. */
export const catalogEntrySchema = <S extends JSONSchemaProps>(description: string, spec: S) =>
  kindSchema(description, spec, catalogEntryStatusSchema);

export const clusterServiceClassSchema = catalogEntrySchema(
  'ClusterServiceClass is a service offering of a ClusterServiceBroker catalog.',
  clusterServiceClassSpecSchema,
);
export const serviceClassSchema = catalogEntrySchema(
  'ServiceClass is a service offering of a ServiceBroker catalog.',
  serviceClassSpecSchema,
);

interface ServiceClassSpecBase {
  externalName: string;
  externalID: string;
  description?: string;
  bindable?: boolean;
  instancesRetrievable?: boolean;
  bindingsRetrievable?: boolean;
  planUpdateable?: boolean;
  allowContextUpdates?: boolean;
  tags?: string[];
  requires?: string[];
  externalMetadata?: Record<string, unknown>;
}

export interface ClusterServiceClassSpec extends ServiceClassSpecBase {
  clusterServiceBrokerName: string;
}

export interface ServiceClassSpec extends ServiceClassSpecBase {
  serviceBrokerName: string;
}

export interface ClusterServiceClass extends KubeObject {
  spec: ClusterServiceClassSpec;
  status?: CatalogEntryStatus;
}

export interface ServiceClass extends KubeObject {
  spec: ServiceClassSpec;
  status?: CatalogEntryStatus;
}
