// The hand-written types must describe exactly what the CRD schemas admit: each assertion fails
// to compile when a field is added, removed, renamed, retyped or changes optionality on one side.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { FromSchema, SameShape } from '@bindery/runtime';
import type {
  BrokerStatus,
  ClusterServiceBrokerSpec,
  ServiceBrokerSpec,
  brokerStatusSchema,
  clusterServiceBrokerSpecSchema,
  serviceBrokerSpecSchema,
} from './broker.ts';
import type {
  CatalogEntryStatus,
  ClusterServiceClassSpec,
  ServiceClassSpec,
  catalogEntryStatusSchema,
  clusterServiceClassSpecSchema,
  serviceClassSpecSchema,
} from './class.ts';
import type {
  ServiceCredentialBindingSpec,
  ServiceCredentialBindingStatus,
  serviceCredentialBindingSpecSchema,
  serviceCredentialBindingStatusSchema,
} from './credentialbinding.ts';
import type {
  ServiceInstanceSpec,
  ServiceInstanceStatus,
  serviceInstanceSpecSchema,
  serviceInstanceStatusSchema,
} from './instance.ts';
import type {
  ClusterServicePlanSpec,
  ServicePlanSpec,
  clusterServicePlanSpecSchema,
  servicePlanSpecSchema,
} from './plan.ts';

const same = <A, B>(check: SameShape<A, B>): SameShape<A, B> => check;

it('the osb.bindery.dev types are exactly the types the CRD schemas admit', () => {
  const checks: boolean[] = [
    same<ClusterServiceBrokerSpec, FromSchema<typeof clusterServiceBrokerSpecSchema>>(true),
    same<ServiceBrokerSpec, FromSchema<typeof serviceBrokerSpecSchema>>(true),
    same<BrokerStatus, FromSchema<typeof brokerStatusSchema>>(true),
    same<ClusterServiceClassSpec, FromSchema<typeof clusterServiceClassSpecSchema>>(true),
    same<ServiceClassSpec, FromSchema<typeof serviceClassSpecSchema>>(true),
    same<CatalogEntryStatus, FromSchema<typeof catalogEntryStatusSchema>>(true),
    same<ClusterServicePlanSpec, FromSchema<typeof clusterServicePlanSpecSchema>>(true),
    same<ServicePlanSpec, FromSchema<typeof servicePlanSpecSchema>>(true),
    same<ServiceInstanceSpec, FromSchema<typeof serviceInstanceSpecSchema>>(true),
    same<ServiceInstanceStatus, FromSchema<typeof serviceInstanceStatusSchema>>(true),
    same<ServiceCredentialBindingSpec, FromSchema<typeof serviceCredentialBindingSpecSchema>>(true),
    same<ServiceCredentialBindingStatus, FromSchema<typeof serviceCredentialBindingStatusSchema>>(true),
    // The check itself notices a field the schema lacks.
    same<ServiceInstanceSpec, FromSchema<typeof serviceCredentialBindingSpecSchema>>(false),
  ];
  assert.equal(checks.length, 13);
});
