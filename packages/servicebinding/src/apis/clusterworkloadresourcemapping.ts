// ClusterWorkloadResourceMapping (spec §"Workload Resource Mapping"): where in a workload that is
// not PodSpec-able the binding finds its containers, volumes and pod annotations. Schema
// (source of the CRD) and types, checked against each other in types.test.ts.
import type { KubeObject } from '@bindery/kube';
import type { JSONSchemaProps } from '@bindery/runtime';

export const clusterWorkloadResourceMappingKind = 'ClusterWorkloadResourceMapping';

const fixed = (what: string, fallback?: string) =>
  ({
    description: `A Fixed JSONPath to ${what}.${fallback === undefined ? '' : ` Defaults to ${fallback}.`}`,
    type: 'string',
  }) as const;

export const mappingContainerSchema = {
  description:
    'A container-like fragment of the workload. `path` may match several; name, env and volumeMounts are resolved within each match.',
  type: 'object',
  properties: {
    path: {
      description:
        'A JSONPath to the container-like objects in the workload, e.g. .spec.template.spec.containers[*].',
      type: 'string',
    },
    name: fixed(
      'the container name, relative to the matched object. When absent, the container is bound whatever .spec.workload.containers says',
    ),
    env: fixed('the []EnvVar of the container, relative to the matched object; created if absent', '`.env`'),
    volumeMounts: fixed(
      'the []VolumeMount of the container, relative to the matched object; created if absent',
      '`.volumeMounts`',
    ),
  },
  required: ['path'],
} as const satisfies JSONSchemaProps;

export const mappingTemplateSchema = {
  description: 'How to find the PodTemplateSpec-like parts of one version of the workload resource.',
  type: 'object',
  properties: {
    version: {
      description: 'The version of the workload resource this mapping is for, or * for every other version.',
      type: 'string',
    },
    annotations: fixed(
      'the annotations that end up on the Pod (usually not those of the workload resource itself)',
      '`.spec.template.metadata.annotations`',
    ),
    containers: {
      description:
        'The container-like fragments. Defaults to the containers and init containers of a PodSpec.',
      type: 'array',
      items: mappingContainerSchema,
    },
    volumes: fixed('the []Volume of the pod', '`.spec.template.spec.volumes`'),
  },
  required: ['version'],
} as const satisfies JSONSchemaProps;

export const clusterWorkloadResourceMappingSpecSchema = {
  description: 'The mappings, one per version of the workload resource.',
  type: 'object',
  properties: {
    versions: {
      description: 'A mapping per version; a * version applies to versions without their own.',
      type: 'array',
      items: mappingTemplateSchema,
    },
  },
} as const satisfies JSONSchemaProps;

export const clusterWorkloadResourceMappingSchema = {
  description:
    'ClusterWorkloadResourceMapping tells ServiceBindings how to bind a kind of workload that is not PodSpec-able. Its name is <plural>.<group> of that resource, e.g. cronjobs.batch.',
  type: 'object',
  properties: {
    apiVersion: { description: 'servicebinding.io/v1, v1beta1 or v1alpha3.', type: 'string' },
    kind: { description: 'ClusterWorkloadResourceMapping.', type: 'string' },
    metadata: { type: 'object' },
    spec: clusterWorkloadResourceMappingSpecSchema,
  },
} as const satisfies JSONSchemaProps;

/** Where a container-like object's name, env and volume mounts are, relative to it. */
export interface MappingContainer {
  /** A (full) JSONPath to container-like objects in the workload. */
  path: string;
  /** Fixed JSONPath to the name; when absent, no name filtering. */
  name?: string;
  /** Fixed JSONPath to `[]EnvVar`; default `.env`. */
  env?: string;
  /** Fixed JSONPath to `[]VolumeMount`; default `.volumeMounts`. */
  volumeMounts?: string;
}

/** The mapping of one version (or `*`) of the workload resource. */
export interface MappingTemplate {
  version: string;
  /** Fixed JSONPath; default `.spec.template.metadata.annotations`. */
  annotations?: string;
  containers?: MappingContainer[];
  /** Fixed JSONPath; default `.spec.template.spec.volumes`. */
  volumes?: string;
}

export interface ClusterWorkloadResourceMappingSpec {
  versions?: MappingTemplate[];
}

export interface ClusterWorkloadResourceMapping extends KubeObject {
  spec: ClusterWorkloadResourceMappingSpec;
}
