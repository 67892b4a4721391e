// The hand-written types must describe exactly what the CRD schemas admit: each assertion below
// fails to compile when a field is added, removed, renamed, retyped or changes optionality on
// one side only. The runtime test only keeps node:test from reporting an empty file.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { Condition } from '@bindery/runtime';
import type {
  ClusterWorkloadResourceMappingSpec,
  MappingContainer,
  MappingTemplate,
} from './clusterworkloadresourcemapping.ts';
import type {
  clusterWorkloadResourceMappingSpecSchema,
  mappingContainerSchema,
  mappingTemplateSchema,
} from './clusterworkloadresourcemapping.ts';
import type { FromSchema, SameShape, conditionSchema } from '@bindery/runtime';
import type {
  EnvMapping,
  ServiceBindingSpec,
  ServiceBindingStatus,
  WorkloadReference,
  serviceBindingSpecSchema,
  serviceBindingStatusSchema,
} from './servicebinding.ts';

const same = <A, B>(check: SameShape<A, B>): SameShape<A, B> => check;

it('SB-3, WM-3: the TypeScript types are exactly the types the CRD schemas admit', () => {
  const checks: boolean[] = [
    same<ServiceBindingSpec, FromSchema<typeof serviceBindingSpecSchema>>(true),
    same<ServiceBindingStatus, FromSchema<typeof serviceBindingStatusSchema>>(true),
    same<WorkloadReference, FromSchema<(typeof serviceBindingSpecSchema)['properties']['workload']>>(true),
    same<EnvMapping, FromSchema<(typeof serviceBindingSpecSchema)['properties']['env']['items']>>(true),
    same<Condition, FromSchema<typeof conditionSchema>>(true),
    same<ClusterWorkloadResourceMappingSpec, FromSchema<typeof clusterWorkloadResourceMappingSpecSchema>>(
      true,
    ),
    same<MappingTemplate, FromSchema<typeof mappingTemplateSchema>>(true),
    same<MappingContainer, FromSchema<typeof mappingContainerSchema>>(true),
    // The check itself notices a difference in optionality and an extra optional field.
    same<{ a: string }, { a?: string }>(false),
    same<{ a: string }, { a: string; b?: number }>(false),
    same<{ a: 'x' | 'y' }, { a: string }>(false),
  ];
  assert.equal(checks.length, 11);
});
