// OpenAPI schemas of the metav1 types custom resources embed, as the servicebinding.io exemplar
// CRDs spell them.
import type { JSONSchemaProps } from './openapi.ts';

const string = { type: 'string' } as const;

/** metav1.LabelSelector; the servicebinding.io 1.1 exemplar marks it atomic (replaced whole by server-side apply). */
export const labelSelectorSchema = {
  description:
    'A label query over the workloads in the binding namespace. Its requirements are ANDed; an empty selector matches every workload of the kind.',
  type: 'object',
  properties: {
    matchExpressions: {
      description: 'Requirements on label keys and values. The requirements are ANDed.',
      type: 'array',
      items: {
        description: 'A requirement: the label `key`, an `operator` and, for In and NotIn, `values`.',
        type: 'object',
        properties: {
          key: { description: 'The label key the requirement applies to.', type: 'string' },
          operator: {
            description: 'How the key relates to the values: In, NotIn, Exists or DoesNotExist.',
            type: 'string',
          },
          values: {
            description: 'Non-empty for In and NotIn, empty for Exists and DoesNotExist.',
            type: 'array',
            items: string,
          },
        },
        required: ['key', 'operator'],
      },
    },
    matchLabels: {
      description: 'Labels a workload must carry; each pair is an In requirement with one value.',
      type: 'object',
      additionalProperties: string,
    },
  },
  'x-kubernetes-map-type': 'atomic',
} as const satisfies JSONSchemaProps;

/** metav1.Condition, with the validations apimachinery generates for it. */
export const conditionSchema = {
  description: 'One aspect of the current state of the resource (metav1.Condition).',
  type: 'object',
  properties: {
    lastTransitionTime: {
      description: 'When the status last changed.',
      type: 'string',
      format: 'date-time',
    },
    message: {
      description: 'A human readable message about the transition; may be empty.',
      type: 'string',
      maxLength: 32768,
    },
    observedGeneration: {
      description: 'The .metadata.generation the condition was set from.',
      type: 'integer',
      format: 'int64',
      minimum: 0,
    },
    reason: {
      description: 'A CamelCase, programmatic identifier of the reason for the last transition.',
      type: 'string',
      minLength: 1,
      maxLength: 1024,
      pattern: '^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$',
    },
    status: {
      description: 'True, False or Unknown.',
      type: 'string',
      enum: ['True', 'False', 'Unknown'],
    },
    type: {
      description: 'The condition type, in CamelCase or foo.example.com/CamelCase.',
      type: 'string',
      maxLength: 316,
      pattern:
        '^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$',
    },
  },
  required: ['lastTransitionTime', 'message', 'reason', 'status', 'type'],
} as const satisfies JSONSchemaProps;
