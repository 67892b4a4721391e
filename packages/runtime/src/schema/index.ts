// Schemas and CustomResourceDefinitions of custom resources, shared by every API group.
export type {
  FromSchema,
  JSONSchemaProps,
  Normalize,
  SameShape,
  SchemaType,
  ValidationRule,
} from './openapi.ts';
export * from './meta-schemas.ts';
export * from './crd.ts';
