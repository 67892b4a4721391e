// ServiceBinding (spec §"Service Binding"): its OpenAPI schema, which the CRD is generated from,
// and the TypeScript types of its objects, checked against that schema at compile time
// (types.test.ts).
import type { KubeObject, LabelSelector } from '@bindery/kube';
import type { Condition } from '@bindery/runtime';
import { conditionSchema, labelSelectorSchema } from '@bindery/runtime';
import type { JSONSchemaProps } from '@bindery/runtime';

export const serviceBindingKind = 'ServiceBinding';

const reference = (what: string) =>
  ({
    apiVersion: { description: `API version of the ${what}.`, type: 'string' },
    kind: { description: `Kind of the ${what}.`, type: 'string' },
  }) as const;

export const serviceBindingSpecSchema = {
  description: 'The service to bind, the workload to bind it to, and how.',
  type: 'object',
  properties: {
    name: {
      description:
        'The name of the binding: the directory under $SERVICE_BINDING_ROOT the Secret is mounted at. Defaults to .metadata.name.',
      type: 'string',
    },
    type: {
      description: 'Overrides the `type` entry projected into the workload.',
      type: 'string',
    },
    provider: {
      description: 'Overrides the `provider` entry projected into the workload.',
      type: 'string',
    },
    service: {
      description:
        'The Provisioned Service (a resource whose .status.binding.name names a Secret) in the same namespace, or a Secret (apiVersion v1, kind Secret) to bind directly.',
      type: 'object',
      properties: {
        ...reference('service'),
        name: { description: 'Name of the service.', type: 'string' },
      },
      required: ['apiVersion', 'kind', 'name'],
    },
    workload: {
      description:
        'The workload(s) to project the binding into, in the same namespace: one by name, or every one a selector matches.',
      type: 'object',
      properties: {
        ...reference('workload'),
        name: { description: 'Name of the workload. Exactly one of name and selector.', type: 'string' },
        selector: labelSelectorSchema,
        containers: {
          description:
            'Names of the containers to bind; when absent, every container (and init container) is bound.',
          type: 'array',
          items: { type: 'string' },
        },
      },
      required: ['apiVersion', 'kind'],
    },
    env: {
      description: 'Environment variables to set from entries of the binding Secret.',
      type: 'array',
      items: {
        description: 'The Secret entry `key` exposed as the environment variable `name`.',
        type: 'object',
        properties: {
          name: { description: 'Name of the environment variable.', type: 'string' },
          key: { description: 'Key of the Secret entry.', type: 'string' },
        },
        required: ['key', 'name'],
      },
    },
  },
  required: ['service', 'workload'],
} as const satisfies JSONSchemaProps;

export const serviceBindingStatusSchema = {
  description: 'The observed state of the binding.',
  type: 'object',
  properties: {
    binding: {
      description:
        'The Secret projected into the workload; it makes a ServiceBinding a Provisioned Service itself.',
      type: 'object',
      properties: { name: { description: 'Name of the Secret.', type: 'string' } },
      required: ['name'],
    },
    conditions: {
      description: 'Ready, ServiceAvailable and WorkloadProjected.',
      type: 'array',
      items: conditionSchema,
    },
    observedGeneration: {
      description: 'The .metadata.generation the status was computed from.',
      type: 'integer',
      format: 'int64',
    },
  },
} as const satisfies JSONSchemaProps;

export const serviceBindingSchema = {
  description:
    'ServiceBinding projects the Secret of a Provisioned Service into workloads (servicebinding.io spec 1.1).',
  type: 'object',
  properties: {
    apiVersion: { description: 'servicebinding.io/v1, v1beta1 or v1alpha3.', type: 'string' },
    kind: { description: 'ServiceBinding.', type: 'string' },
    metadata: { type: 'object' },
    spec: serviceBindingSpecSchema,
    status: serviceBindingStatusSchema,
  },
} as const satisfies JSONSchemaProps;

/** A reference to the Provisioned Service, or to a Secret when apiVersion is v1 and kind Secret. */
export interface ServiceReference {
  apiVersion: string;
  kind: string;
  name: string;
}

/** The workload(s) to bind: exactly one of `name` and `selector`. */
export interface WorkloadReference {
  apiVersion: string;
  kind: string;
  name?: string;
  selector?: LabelSelector;
  /** Containers to bind by name; when absent, every container is bound. */
  containers?: string[];
}

/** The Secret entry `key` exposed as the environment variable `name`. */
export interface EnvMapping {
  name: string;
  key: string;
}

export interface ServiceBindingSpec {
  /** The directory name under $SERVICE_BINDING_ROOT; defaults to `metadata.name`. */
  name?: string;
  type?: string;
  provider?: string;
  service: ServiceReference;
  workload: WorkloadReference;
  env?: EnvMapping[];
}

export interface ServiceBindingStatus {
  /** The projected Secret. */
  binding?: { name: string };
  conditions?: Condition[];
  observedGeneration?: number;
}

/**
 * A ServiceBinding object. The exemplar CRD does not require `spec`, so one read from the API
 * server may lack it; `validateServiceBinding` rejects that, so a validated object has one.
 */
export interface ServiceBinding extends KubeObject {
  spec: ServiceBindingSpec;
  status?: ServiceBindingStatus;
}
