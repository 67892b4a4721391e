// ServiceInstance: a service a user asks a broker for, by class and plan. The controller
// provisions, updates and deprovisions it, and records the operation in flight in status so a
// restart resumes it (write before call).
import type { KubeObject } from '@bindery/kube';
import type { Condition, JSONSchemaProps } from '@bindery/runtime';
import { conditionSchema } from '@bindery/runtime';
import type { ParametersFromSource, UserInfo } from './common.ts';
import {
  immutableOnceSet,
  kindSchema,
  observedGenerationSchema,
  operationStatusProperties,
  parametersFromSchema,
  parametersSchema,
  userInfoSchema,
} from './common.ts';

const refName = (description: string) => ({ description, type: 'string', minLength: 1 }) as const;

/** The four ways to name a class; each has its plan field, and exactly one pair is set. */
const planReferenceStyles = [
  ['clusterServiceClassExternalName', 'clusterServicePlanExternalName'],
  ['clusterServiceClassName', 'clusterServicePlanName'],
  ['serviceClassExternalName', 'servicePlanExternalName'],
  ['serviceClassName', 'servicePlanName'],
] as const;

export const serviceInstanceSpecSchema = {
  description:
    'The class and plan to provision (one pair: by OSB name or by object name, cluster-scoped or in this namespace), and its parameters.',
  type: 'object',
  properties: {
    clusterServiceClassExternalName: refName('The OSB name of a ClusterServiceClass.'),
    clusterServicePlanExternalName: refName('The OSB name of a plan of that ClusterServiceClass.'),
    clusterServiceClassName: refName('The object name of a ClusterServiceClass.'),
    clusterServicePlanName: refName('The object name of a ClusterServicePlan.'),
    serviceClassExternalName: refName('The OSB name of a ServiceClass in this namespace.'),
    servicePlanExternalName: refName('The OSB name of a plan of that ServiceClass.'),
    serviceClassName: refName('The object name of a ServiceClass in this namespace.'),
    servicePlanName: refName('The object name of a ServicePlan in this namespace.'),
    parameters: parametersSchema,
    parametersFrom: parametersFromSchema,
    externalID: {
      description: 'The OSB instance_id. Default: .metadata.uid. Immutable once set.',
      type: 'string',
      minLength: 1,
      maxLength: 255,
    },
    updateRequests: {
      description:
        'Raise it to send an update with the current parameters (e.g. after a parametersFrom Secret changed).',
      type: 'integer',
      format: 'int64',
      minimum: 0,
    },
    userInfo: userInfoSchema,
  },
  'x-kubernetes-validations': [
    {
      rule: `[${planReferenceStyles.map(([c]) => `has(self.${c})`).join(', ')}].filter(x, x).size() == 1`,
      message: `exactly one of ${planReferenceStyles.map(([c]) => c).join(', ')} must be set`,
    },
    ...planReferenceStyles.map(([c, p]) => ({
      rule: `has(self.${c}) == has(self.${p})`,
      message: `${c} and ${p} are set together`,
      fieldPath: `.${p}`,
    })),
    immutableOnceSet('externalID'),
  ],
} as const satisfies JSONSchemaProps;

export const operations = ['Provision', 'Update', 'Deprovision'] as const;
export type InstanceOperation = (typeof operations)[number];

export const deprovisionStatuses = ['NotRequired', 'Required', 'Succeeded', 'Failed'] as const;
export type DeprovisionStatus = (typeof deprovisionStatuses)[number];

const resolvedRefSchema = <K extends readonly string[]>(what: string, kinds: K) =>
  ({
    description: `The ${what} the controller resolved the spec to.`,
    type: 'object',
    properties: {
      kind: { type: 'string', enum: kinds },
      name: { type: 'string' },
      externalName: { type: 'string' },
      externalID: { type: 'string' },
    },
    required: ['kind', 'name', 'externalName', 'externalID'],
  }) as const;

export const instancePropertiesSchema = (description: string) =>
  ({
    description,
    type: 'object',
    properties: {
      planExternalName: { type: 'string' },
      planExternalID: { type: 'string' },
      parameters: {
        description: 'The parameters sent, values that came from Secrets replaced by "<redacted>".',
        type: 'object',
        'x-kubernetes-preserve-unknown-fields': true,
      },
      parameterChecksum: { description: 'SHA-256 of the parameters sent, hex.', type: 'string' },
      userInfo: userInfoSchema,
    },
  }) as const;

export const serviceInstanceStatusSchema = {
  description: 'The observed state of the instance and the operation in flight.',
  type: 'object',
  properties: {
    conditions: { description: 'Ready, Failed and OrphanMitigation.', type: 'array', items: conditionSchema },
    observedGeneration: observedGenerationSchema,
    classRef: resolvedRefSchema('class', ['ClusterServiceClass', 'ServiceClass'] as const),
    planRef: resolvedRefSchema('plan', ['ClusterServicePlan', 'ServicePlan'] as const),
    externalID: { description: 'The OSB instance_id the broker knows the instance by.', type: 'string' },
    dashboardURL: { description: 'The dashboard_url the broker returned.', type: 'string' },
    ...operationStatusProperties(
      operations,
      'A deprovision is being sent for a provision whose outcome is unknown.',
    ),
    provisionStatus: { type: 'string', enum: ['Provisioned', 'NotProvisioned'] },
    deprovisionStatus: {
      description: 'Whether deleting the object must deprovision at the broker.',
      type: 'string',
      enum: deprovisionStatuses,
    },
    observedUpdateRequests: {
      description: 'The spec.updateRequests the last update (or the provision) answered.',
      type: 'integer',
      format: 'int64',
    },
    inProgressProperties: instancePropertiesSchema('What the operation in flight sends.'),
    externalProperties: instancePropertiesSchema('What the broker last accepted.'),
  },
} as const satisfies JSONSchemaProps;

export const serviceInstanceSchema = kindSchema(
  'ServiceInstance is a service provisioned by an Open Service Broker.',
  serviceInstanceSpecSchema,
  serviceInstanceStatusSchema,
);

export interface ServiceInstanceSpec {
  clusterServiceClassExternalName?: string;
  clusterServicePlanExternalName?: string;
  clusterServiceClassName?: string;
  clusterServicePlanName?: string;
  serviceClassExternalName?: string;
  servicePlanExternalName?: string;
  serviceClassName?: string;
  servicePlanName?: string;
  parameters?: Record<string, unknown>;
  parametersFrom?: ParametersFromSource[];
  externalID?: string;
  updateRequests?: number;
  userInfo?: UserInfo;
}

export interface ResolvedClassReference {
  kind: 'ClusterServiceClass' | 'ServiceClass';
  name: string;
  externalName: string;
  externalID: string;
}

export interface ResolvedPlanReference {
  kind: 'ClusterServicePlan' | 'ServicePlan';
  name: string;
  externalName: string;
  externalID: string;
}

export interface InstanceProperties {
  planExternalName?: string;
  planExternalID?: string;
  parameters?: Record<string, unknown>;
  parameterChecksum?: string;
  userInfo?: UserInfo;
}

export interface ServiceInstanceStatus {
  conditions?: Condition[];
  observedGeneration?: number;
  classRef?: ResolvedClassReference;
  planRef?: ResolvedPlanReference;
  externalID?: string;
  dashboardURL?: string;
  currentOperation?: InstanceOperation;
  operationStartTime?: string;
  asyncOpInProgress?: boolean;
  lastOperation?: string;
  pollDeadline?: string;
  orphanMitigationInProgress?: boolean;
  provisionStatus?: 'Provisioned' | 'NotProvisioned';
  deprovisionStatus?: DeprovisionStatus;
  observedUpdateRequests?: number;
  inProgressProperties?: InstanceProperties;
  externalProperties?: InstanceProperties;
}

export interface ServiceInstance extends KubeObject {
  spec: ServiceInstanceSpec;
  status?: ServiceInstanceStatus;
}
