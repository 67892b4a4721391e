// Defaulting (what a mutating webhook applies, and what readers apply to objects stored before
// it ran). Pure: each function returns a new object and never changes its argument. An empty
// string counts as unset, as it does for the Go `omitempty` fields of the exemplar types.
import { deepCopy } from '@bindery/runtime';
import type {
  ClusterWorkloadResourceMapping,
  MappingContainer,
  MappingTemplate,
} from './clusterworkloadresourcemapping.ts';
import type { ServiceBinding, ServiceBindingSpec } from './servicebinding.ts';

export const defaultAnnotationsPath = '.spec.template.metadata.annotations';
export const defaultVolumesPath = '.spec.template.spec.volumes';
export const defaultEnvPath = '.env';
export const defaultVolumeMountsPath = '.volumeMounts';

/** RI-3: the binding name (the directory under $SERVICE_BINDING_ROOT) defaults to `metadata.name`. */
export function defaultServiceBinding(binding: ServiceBinding): ServiceBinding {
  const out = deepCopy(binding);
  const name = out.metadata.name;
  // With generateName the name is still empty at mutating admission; readers fall back to it later.
  if (!out.spec.name && name) out.spec.name = name;
  return out;
}

/**
 * The binding name in effect (RI-2, RI-3): `spec.name`, else `metadata.name`. Takes any object
 * with those fields, so the projector uses it on bindings read before defaulting (and without
 * `spec`); it checks the name (WP-2) where it turns it into a path.
 */
export function bindingName(binding: {
  metadata: Pick<ServiceBinding['metadata'], 'name'>;
  spec?: Pick<ServiceBindingSpec, 'name'> | undefined;
}): string {
  return binding.spec?.name || (binding.metadata.name ?? '');
}

/** A mapping container with its env and volumeMounts paths filled in; `name` stays optional. */
export type DefaultedMappingContainer = Required<Omit<MappingContainer, 'name'>> &
  Pick<MappingContainer, 'name'>;

/** A mapping template with every location filled in. */
export interface DefaultedMappingTemplate {
  version: string;
  annotations: string;
  containers: DefaultedMappingContainer[];
  volumes: string;
}

/**
 * WM-9, WM-11, WM-13, WM-18, WM-20: the defaults make an empty template the PodSpec-able one.
 * Init containers come first, as in the reference implementation. A container given without
 * `name` keeps none: it is bound whatever `.spec.workload.containers` says (RB-6).
 */
export function defaultMappingTemplate(template: MappingTemplate): DefaultedMappingTemplate {
  const containers: MappingContainer[] = template.containers?.length
    ? template.containers
    : [
        { path: '.spec.template.spec.initContainers[*]', name: '.name' },
        { path: '.spec.template.spec.containers[*]', name: '.name' },
      ];
  return {
    version: template.version,
    annotations: template.annotations || defaultAnnotationsPath,
    containers: containers.map((c) => ({
      path: c.path,
      ...(c.name ? { name: c.name } : {}),
      env: c.env || defaultEnvPath,
      volumeMounts: c.volumeMounts || defaultVolumeMountsPath,
    })),
    volumes: template.volumes || defaultVolumesPath,
  };
}

/** Every version template of the mapping, defaulted. */
export function defaultClusterWorkloadResourceMapping(
  mapping: ClusterWorkloadResourceMapping,
): ClusterWorkloadResourceMapping {
  const out = deepCopy(mapping);
  if (out.spec.versions) out.spec.versions = out.spec.versions.map(defaultMappingTemplate);
  return out;
}
