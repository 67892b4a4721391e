// The sample broker's catalog: two offerings, plans with parameter schemas of several drafts, an
// async-only plan, a plan that cannot be bound, and a plan that can be changed to another.

import type { Catalog } from '../catalog.ts';

/** How a plan's operations run: never async, async when the platform accepts it, or async only. */
export type AsyncMode = 'never' | 'allowed' | 'required';

export interface PlanBehaviour {
  /** Provision, update and deprovision. */
  instances: AsyncMode;
  /** Bind and unbind. */
  bindings: AsyncMode;
  /** Which credentials a binding gets. */
  flavour: 'database' | 'queue';
}

export const sampleIds = {
  database: 'a6c3d2a4-5b8e-4f0e-9d61-3b0f0c1e7a01',
  databaseSmall: 'a6c3d2a4-5b8e-4f0e-9d61-3b0f0c1e7a02',
  databaseLarge: 'a6c3d2a4-5b8e-4f0e-9d61-3b0f0c1e7a03',
  queue: 'c1f5b7e2-8a4d-4c3b-b0e9-6d2a9f4e8b11',
  queueStandard: 'c1f5b7e2-8a4d-4c3b-b0e9-6d2a9f4e8b12',
  queueMetricsOnly: 'c1f5b7e2-8a4d-4c3b-b0e9-6d2a9f4e8b13',
} as const;

export const planBehaviour: Record<string, PlanBehaviour> = {
  [sampleIds.databaseSmall]: { instances: 'allowed', bindings: 'never', flavour: 'database' },
  [sampleIds.databaseLarge]: { instances: 'required', bindings: 'never', flavour: 'database' },
  [sampleIds.queueStandard]: { instances: 'never', bindings: 'allowed', flavour: 'queue' },
  [sampleIds.queueMetricsOnly]: { instances: 'never', bindings: 'never', flavour: 'queue' },
};

const DRAFT_04 = 'http://json-schema.org/draft-04/schema#';
const DRAFT_07 = 'http://json-schema.org/draft-07/schema#';

export const sampleCatalog: Catalog = {
  services: [
    {
      id: sampleIds.database,
      name: 'bindery-database',
      description: 'A database account: generated credentials kept in a Secret on the cluster',
      bindable: true,
      instances_retrievable: true,
      bindings_retrievable: true,
      tags: ['database', 'postgresql'],
      metadata: {
        displayName: 'Bindery sample database',
        providerDisplayName: 'bindery',
        type: 'postgresql',
      },
      plans: [
        {
          id: sampleIds.databaseSmall,
          name: 'small',
          description:
            'Provisioned at once, or asynchronously when the platform accepts it; may move to large',
          free: true,
          plan_updateable: true,
          binding_rotatable: true,
          schemas: {
            service_instance: {
              create: {
                parameters: {
                  $schema: DRAFT_04,
                  type: 'object',
                  properties: {
                    database: { type: 'string', pattern: '^[a-z][a-z0-9_]{0,62}$' },
                    connectionLimit: { type: 'integer', minimum: 1, maximum: 100 },
                  },
                  additionalProperties: false,
                },
              },
              update: {
                parameters: {
                  $schema: DRAFT_07,
                  type: 'object',
                  properties: { connectionLimit: { type: 'integer', minimum: 1, maximum: 100 } },
                  additionalProperties: false,
                },
              },
            },
            service_binding: {
              create: {
                parameters: {
                  $schema: DRAFT_04,
                  type: 'object',
                  properties: { role: { type: 'string', enum: ['readonly', 'readwrite'] } },
                  additionalProperties: false,
                },
              },
            },
          },
        },
        {
          id: sampleIds.databaseLarge,
          name: 'large',
          description: 'Provisioned asynchronously only',
          free: false,
          plan_updateable: false,
          maximum_polling_duration: 600,
          maintenance_info: { version: '1.0.0', description: 'The first release of the large plan' },
          schemas: {
            service_instance: {
              create: {
                parameters: {
                  $schema: DRAFT_07,
                  type: 'object',
                  properties: {
                    database: { type: 'string', pattern: '^[a-z][a-z0-9_]{0,62}$' },
                    replicas: { type: 'integer', minimum: 1, maximum: 5 },
                  },
                  additionalProperties: false,
                },
              },
            },
          },
        },
      ],
    },
    {
      id: sampleIds.queue,
      name: 'bindery-queue',
      description: 'A message queue tenant: a virtual host and per-binding users',
      bindable: true,
      instances_retrievable: true,
      bindings_retrievable: true,
      tags: ['queue', 'amqp'],
      metadata: { displayName: 'Bindery sample queue', providerDisplayName: 'bindery', type: 'rabbitmq' },
      plans: [
        {
          id: sampleIds.queueStandard,
          name: 'standard',
          description: 'Bound asynchronously when the platform accepts it',
          free: true,
          schemas: {
            service_binding: {
              create: {
                parameters: {
                  $schema: DRAFT_04,
                  type: 'object',
                  properties: { prefetch: { type: 'integer', minimum: 0, maximum: 1000 } },
                  additionalProperties: false,
                },
              },
            },
          },
        },
        {
          id: sampleIds.queueMetricsOnly,
          name: 'metrics-only',
          description: 'A tenant without credentials of its own: it cannot be bound',
          free: true,
          bindable: false,
        },
      ],
    },
  ],
};
