// The resolver's public API: services, workloads and mappings of a ServiceBinding, read from the cluster.
export {
  Resolver,
  bindingSecretName,
  clusterWorkloadResourceMappingType,
  isDirectSecretReference,
  provisionedServiceDuck,
  secretType,
  serviceRef,
  workloadSelector,
  workloadType,
} from './resolver.ts';
export { secretAccessModes, secretIdentity } from './secret-metadata.ts';
export type { SecretAccess } from './secret-metadata.ts';
export type {
  MappingResolution,
  ResolverOptions,
  ResourceFor,
  ResourceName,
  ServiceResolution,
  WorkloadResolution,
} from './resolver.ts';
