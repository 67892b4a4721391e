// ClusterServicePlan and ServicePlan: one plan of a service offering, made by the broker
// controller and correlated with the catalog by its OSB id (spec.externalID), never by name.
import type { KubeObject } from '@bindery/kube';
import type { JSONSchemaProps } from '@bindery/runtime';
import type { CatalogEntryStatus } from './class.ts';
import { catalogEntrySchema } from './class.ts';
import { freeFormSchema, nameSchema } from './common.ts';

const planSpecProperties = {
  externalName: { description: 'The OSB `name` of the plan.', type: 'string', minLength: 1 },
  externalID: { description: 'The OSB `id` of the plan.', type: 'string', minLength: 1 },
  description: { description: 'The OSB `description`.', type: 'string' },
  free: { description: 'The plan costs nothing.', type: 'boolean' },
  bindable: { description: 'Overrides the class: instances of this plan can be bound.', type: 'boolean' },
  planUpdateable: {
    description: 'Overrides the class: instances can change to another plan.',
    type: 'boolean',
  },
  bindingRotatable: {
    description: 'Bindings can be rotated (OSB 2.17 predecessor_binding_id).',
    type: 'boolean',
  },
  maximumPollingDuration: {
    description: 'Seconds after which the platform stops polling an asynchronous operation.',
    type: 'integer',
    format: 'int64',
    minimum: 0,
  },
  maintenanceInfo: {
    description: 'The OSB `maintenance_info`: the version an instance of the plan should run.',
    type: 'object',
    properties: {
      version: { type: 'string' },
      description: { type: 'string' },
    },
    required: ['version'],
  },
  externalMetadata: freeFormSchema('The OSB `metadata` of the plan, as the broker sent it.'),
  instanceCreateParameterSchema: freeFormSchema('The JSON schema of provision parameters.'),
  instanceUpdateParameterSchema: freeFormSchema('The JSON schema of update parameters.'),
  serviceBindingCreateParameterSchema: freeFormSchema('The JSON schema of bind parameters.'),
} as const satisfies Record<string, JSONSchemaProps>;

const classRefSchema = (kind: string) =>
  ({
    description: `The ${kind} the plan belongs to.`,
    type: 'object',
    properties: { name: { ...nameSchema, description: `Name of the ${kind}.` } },
    required: ['name'],
  }) as const;

export const clusterServicePlanSpecSchema = {
  description: 'A plan of a ClusterServiceClass, as the broker catalog lists it.',
  type: 'object',
  properties: {
    ...planSpecProperties,
    clusterServiceBrokerName: { ...nameSchema, description: 'The ClusterServiceBroker that lists it.' },
    clusterServiceClassRef: classRefSchema('ClusterServiceClass'),
  },
  required: ['externalName', 'externalID', 'clusterServiceBrokerName', 'clusterServiceClassRef'],
} as const satisfies JSONSchemaProps;

export const servicePlanSpecSchema = {
  description: 'A plan of a ServiceClass, as the broker catalog lists it.',
  type: 'object',
  properties: {
    ...planSpecProperties,
    serviceBrokerName: { ...nameSchema, description: 'The ServiceBroker that lists it.' },
    serviceClassRef: classRefSchema('ServiceClass'),
  },
  required: ['externalName', 'externalID', 'serviceBrokerName', 'serviceClassRef'],
} as const satisfies JSONSchemaProps;

export const clusterServicePlanSchema = catalogEntrySchema(
  'ClusterServicePlan is a plan of a ClusterServiceClass.',
  clusterServicePlanSpecSchema,
);
export const servicePlanSchema = catalogEntrySchema(
  'ServicePlan is a plan of a ServiceClass.',
  servicePlanSpecSchema,
);

export interface MaintenanceInfo {
  version: string;
  description?: string;
}

interface ServicePlanSpecBase {
  externalName: string;
  externalID: string;
  description?: string;
  free?: boolean;
  bindable?: boolean;
  planUpdateable?: boolean;
  bindingRotatable?: boolean;
  maximumPollingDuration?: number;
  maintenanceInfo?: MaintenanceInfo;
  externalMetadata?: Record<string, unknown>;
  instanceCreateParameterSchema?: Record<string, unknown>;
  instanceUpdateParameterSchema?: Record<string, unknown>;
  serviceBindingCreateParameterSchema?: Record<string, unknown>;
}

export interface ClusterServicePlanSpec extends ServicePlanSpecBase {
  clusterServiceBrokerName: string;
  clusterServiceClassRef: { name: string };
}

export interface ServicePlanSpec extends ServicePlanSpecBase {
  serviceBrokerName: string;
  serviceClassRef: { name: string };
}

export interface ClusterServicePlan extends KubeObject {
  spec: ClusterServicePlanSpec;
  status?: CatalogEntryStatus;
}

export interface ServicePlan extends KubeObject {
  spec: ServicePlanSpec;
  status?: CatalogEntryStatus;
}
