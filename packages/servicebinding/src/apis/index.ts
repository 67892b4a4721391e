// The public API of apis/: resource types and schemas, CRDs, defaulting and validation.
export * from './group.ts';
export type { FromSchema, JSONSchemaProps, SchemaType } from '@bindery/runtime';
export { conditionSchema, labelSelectorSchema } from '@bindery/runtime';
export * from './servicebinding.ts';
export * from './clusterworkloadresourcemapping.ts';
export * from './crds.ts';
export * from './default-mappings.ts';
export * from './defaults.ts';
export type { FieldError, FieldErrorType, FieldValue } from './field-errors.ts';
export { formatFieldError, formatInvalid } from './field-errors.ts';
export * from './fixed-jsonpath.ts';
export * from './validation.ts';
export * from './validate-servicebinding.ts';
export * from './validate-clusterworkloadresourcemapping.ts';
export * from './servicebinding-lifecycle.ts';
