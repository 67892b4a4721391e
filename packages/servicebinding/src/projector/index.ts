// The projector's public API. The API types (ServiceBinding, MappingTemplate, …), defaulting and
// validation are `apis/`'s; these functions accept those types structurally, and nothing here
// reuses one of `apis/`'s exported names, so both can be re-exported from the package root.
export { project } from './project.ts';
export { unproject, isProjected } from './unproject.ts';
export { ProjectionError } from './errors.ts';
export type { ProjectionErrorCode } from './errors.ts';
export {
  PODSPECABLE_MAPPING,
  CRONJOB_MAPPING,
  CRONJOB_MAPPING_NAME,
  selectMappingTemplate,
  stashMapping,
  parseMappingStash,
} from './mapping.ts';
export {
  SERVICE_BINDING_ROOT,
  DEFAULT_SERVICE_BINDING_ROOT,
  PROJECTOR_GROUP,
  VOLUME_PREFIX,
  SECRET_ANNOTATION_PREFIX,
  TYPE_ANNOTATION_PREFIX,
  PROVIDER_ANNOTATION_PREFIX,
  MAPPING_ANNOTATION_PREFIX,
  VOLUME_DEFAULT_MODE,
  volumeName,
  secretAnnotation,
  typeAnnotation,
  providerAnnotation,
  mappingAnnotation,
  validateBindingName,
} from './names.ts';
export { parseJsonPath, evaluateJsonPath } from './jsonpath/full.ts';
export type { JsonPath, JsonPathStep } from './jsonpath/full.ts';
export { JsonPathError } from './jsonpath/error.ts';
export type { ServiceBindingLike, MappingSpec } from './types.ts';
