// ServiceCredentialBinding: OSB binding credentials of a ServiceInstance, written to a Secret it
// owns. It exposes .status.binding.name, so it is a servicebinding.io Provisioned Service: a
// ServiceBinding names it in spec.service directly. (Not named ServiceBinding, which is
// servicebinding.io's kind.)
import type { KubeObject } from '@bindery/kube';
import type { Condition, JSONSchemaProps } from '@bindery/runtime';
import { conditionSchema } from '@bindery/runtime';
import type { ParametersFromSource, UserInfo } from './common.ts';
import {
  immutableOnceSet,
  kindSchema,
  nameSchema,
  operationStatusProperties,
  observedGenerationSchema,
  parametersFromSchema,
  parametersSchema,
  timeSchema,
  userInfoSchema,
} from './common.ts';

const immutable = (field: string) => ({
  rule: `has(self.${field}) == has(oldSelf.${field}) && (!has(self.${field}) || self.${field} == oldSelf.${field})`,
  message: `${field} is immutable: an OSB binding cannot be changed, only replaced`,
  fieldPath: `.${field}`,
});

export const serviceCredentialBindingSpecSchema = {
  description: 'The instance to bind, the bind parameters, and the Secret the credentials go to.',
  type: 'object',
  properties: {
    instanceRef: {
      description: 'The ServiceInstance in the same namespace.',
      type: 'object',
      properties: { name: { ...nameSchema, description: 'Name of the ServiceInstance.' } },
      required: ['name'],
    },
    parameters: parametersSchema,
    parametersFrom: parametersFromSchema,
    secretName: {
      ...nameSchema,
      description: 'The Secret the credentials are written to. Default: .metadata.name.',
    },
    type: {
      description: 'The `type` entry of the Secret. Default: from the class tags or metadata.',
      type: 'string',
      minLength: 1,
    },
    provider: {
      description: 'The `provider` entry of the Secret. Default: from the class metadata.',
      type: 'string',
      minLength: 1,
    },
    externalID: {
      description: 'The OSB binding_id. Default: .metadata.uid. Immutable once set.',
      type: 'string',
      minLength: 1,
      maxLength: 255,
    },
    rotationRequests: {
      description:
        'Raise it to rotate the credentials now, where the plan is binding_rotatable (a new OSB binding with predecessor_binding_id).',
      type: 'integer',
      format: 'int64',
      minimum: 0,
    },
    userInfo: userInfoSchema,
  },
  required: ['instanceRef'],
  'x-kubernetes-validations': [
    immutable('instanceRef'),
    immutable('parameters'),
    immutable('parametersFrom'),
    immutable('secretName'),
    immutableOnceSet('externalID'),
  ],
} as const satisfies JSONSchemaProps;

export const bindingOperations = ['Bind', 'Unbind'] as const;
export type BindingOperation = (typeof bindingOperations)[number];

export const unbindStatuses = ['NotRequired', 'Required', 'Succeeded', 'Failed'] as const;
export type UnbindStatus = (typeof unbindStatuses)[number];

export const serviceCredentialBindingStatusSchema = {
  description: 'The observed state of the binding and the operation in flight.',
  type: 'object',
  properties: {
    binding: {
      description: 'The Secret holding the credentials: what makes this a Provisioned Service.',
      type: 'object',
      properties: { name: { description: 'Name of the Secret.', type: 'string' } },
      required: ['name'],
    },
    conditions: { description: 'Ready, Failed and OrphanMitigation.', type: 'array', items: conditionSchema },
    observedGeneration: observedGenerationSchema,
    externalID: { description: 'The OSB binding_id whose credentials are in the Secret.', type: 'string' },
    ...operationStatusProperties(
      bindingOperations,
      'An unbind is being sent for a bind whose outcome is unknown.',
    ),
    unbindStatus: {
      description: 'Whether deleting the object must unbind at the broker.',
      type: 'string',
      enum: unbindStatuses,
    },
    expiresAt: timeSchema('The binding metadata.expires_at the broker returned.'),
    renewBefore: timeSchema('The binding metadata.renew_before: when to rotate.'),
    observedRotationRequests: {
      description: 'The spec.rotationRequests the current credentials answer.',
      type: 'integer',
      format: 'int64',
    },
    secretGeneration: {
      description:
        'How many rotations named a new Secret: 0 writes the Secret of spec.secretName (or the object name), n writes "<that name>-r<n>".',
      type: 'integer',
      format: 'int64',
    },
    predecessor: {
      description: 'The OSB binding a rotation replaced, unbound once the grace period ends.',
      type: 'object',
      properties: {
        externalID: { type: 'string' },
        secretName: { type: 'string' },
        unbindAfter: timeSchema('When the predecessor is unbound.'),
      },
      required: ['externalID'],
    },
    parameterChecksum: { description: 'SHA-256 of the parameters sent, hex.', type: 'string' },
  },
} as const satisfies JSONSchemaProps;

export const serviceCredentialBindingSchema = kindSchema(
  'ServiceCredentialBinding binds a ServiceInstance and writes the credentials to a Secret; it is a servicebinding.io Provisioned Service.',
  serviceCredentialBindingSpecSchema,
  serviceCredentialBindingStatusSchema,
);

export interface ServiceCredentialBindingSpec {
  instanceRef: { name: string };
  parameters?: Record<string, unknown>;
  parametersFrom?: ParametersFromSource[];
  secretName?: string;
  type?: string;
  provider?: string;
  externalID?: string;
  rotationRequests?: number;
  userInfo?: UserInfo;
}

export interface ServiceCredentialBindingStatus {
  binding?: { name: string };
  conditions?: Condition[];
  observedGeneration?: number;
  externalID?: string;
  currentOperation?: BindingOperation;
  operationStartTime?: string;
  asyncOpInProgress?: boolean;
  lastOperation?: string;
  pollDeadline?: string;
  orphanMitigationInProgress?: boolean;
  unbindStatus?: UnbindStatus;
  expiresAt?: string;
  renewBefore?: string;
  observedRotationRequests?: number;
  secretGeneration?: number;
  predecessor?: { externalID: string; secretName?: string; unbindAfter?: string };
  parameterChecksum?: string;
}

export interface ServiceCredentialBinding extends KubeObject {
  spec: ServiceCredentialBindingSpec;
  status?: ServiceCredentialBindingStatus;
}
