// Schema pieces several OSB kinds share: references to Secrets, parameters, the user identity
// recorded at admission.
import type { JSONSchemaProps } from '@bindery/runtime';

export const nameSchema = {
  description: 'Name of the object.',
  type: 'string',
  minLength: 1,
  maxLength: 253,
} as const satisfies JSONSchemaProps;

/** Free-form JSON: OSB parameters, catalog metadata, plan schemas. */
export const freeFormSchema = (description: string) =>
  ({
    description,
    type: 'object',
    'x-kubernetes-preserve-unknown-fields': true,
  }) as const satisfies JSONSchemaProps;

export const parametersSchema = freeFormSchema(
  'Parameters sent to the broker as the `parameters` of the request, merged with parametersFrom.',
);

export const parametersFromSchema = {
  description:
    'Parameters read from Secrets in the same namespace: each key holds a JSON object whose fields are merged into `parameters` (a field set twice is an error).',
  type: 'array',
  maxItems: 16,
  items: {
    type: 'object',
    properties: {
      secretKeyRef: {
        description: 'A key of a Secret in the same namespace.',
        type: 'object',
        properties: {
          name: { ...nameSchema, description: 'Name of the Secret.' },
          key: { description: 'The key whose value is a JSON object.', type: 'string', minLength: 1 },
        },
        required: ['name', 'key'],
      },
    },
    required: ['secretKeyRef'],
  },
} as const satisfies JSONSchemaProps;

export interface SecretKeyReference {
  name: string;
  key: string;
}

export interface ParametersFromSource {
  secretKeyRef: SecretKeyReference;
}

/** The user who created or last changed the object, recorded at admission. */
export const userInfoSchema = {
  description:
    'The user who created or last changed the object, recorded at admission; sent to the broker as X-Broker-API-Originating-Identity.',
  type: 'object',
  properties: {
    username: { type: 'string' },
    uid: { type: 'string' },
    groups: { type: 'array', items: { type: 'string' } },
    extra: {
      type: 'object',
      additionalProperties: { type: 'array', items: { type: 'string' } },
    },
  },
} as const satisfies JSONSchemaProps;

export interface UserInfo {
  username?: string;
  uid?: string;
  groups?: string[];
  extra?: Record<string, string[]>;
}

/** An OSB `id` is immutable once set (the broker knows the resource by it). */
export const immutableOnceSet = (field: string) => ({
  rule: `!has(oldSelf.${field}) || (has(self.${field}) && self.${field} == oldSelf.${field})`,
  message: `${field} is immutable once set`,
  fieldPath: `.${field}`,
  reason: 'FieldValueForbidden' as const,
});

export const observedGenerationSchema = {
  description: 'The .metadata.generation the status was computed from.',
  type: 'integer',
  format: 'int64',
} as const satisfies JSONSchemaProps;

export const timeSchema = (description: string) =>
  ({ description, type: 'string', format: 'date-time' }) as const satisfies JSONSchemaProps;

/** The top-level schema of a kind: apiVersion, kind and metadata, then its spec and status. */
export const kindSchema = <Spec extends JSONSchemaProps, Status extends JSONSchemaProps>(
  description: string,
  spec: Spec,
  status: Status,
) =>
  ({
    description,
    type: 'object',
    properties: {
      apiVersion: { type: 'string' },
      kind: { type: 'string' },
      metadata: { type: 'object' },
      spec,
      status,
    },
    required: ['spec'],
  }) as const satisfies JSONSchemaProps;

/**
 * The status fields of an OSB operation in flight, the same on an instance and a binding; written
 * before a request is sent, so a restart resumes the operation.
 */
export const operationStatusProperties = <Operations extends readonly string[]>(
  operations: Operations,
  orphanMitigationDescription: string,
) =>
  ({
    currentOperation: { type: 'string', enum: operations },
    operationStartTime: timeSchema('When the current operation started.'),
    asyncOpInProgress: {
      description: 'The broker accepted the operation (202): it is polled.',
      type: 'boolean',
    },
    lastOperation: {
      description: 'The OSB `operation` of the asynchronous operation, echoed when polling.',
      type: 'string',
      maxLength: 10000,
    },
    pollDeadline: timeSchema('When polling gives up (maximum_polling_duration).'),
    orphanMitigationInProgress: { description: orphanMitigationDescription, type: 'boolean' },
  }) as const satisfies Record<string, JSONSchemaProps>;
