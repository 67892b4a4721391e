// The subset of apiextensions.k8s.io/v1 JSONSchemaProps our CRDs use, and a type that reads a
// schema literal back as the TypeScript type of the objects it admits. Schemas are written
// `as const satisfies JSONSchemaProps` so one literal is both the CRD's schema and the source
// of the types: the hand-written interfaces are checked against it at compile time.

export type SchemaType = 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';

export interface JSONSchemaProps {
  readonly description?: string;
  readonly type?: SchemaType;
  readonly format?: string;
  readonly enum?: readonly string[];
  readonly pattern?: string;
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly minimum?: number;
  readonly maximum?: number;
  readonly maxItems?: number;
  readonly maxProperties?: number;
  readonly default?: unknown;
  readonly items?: JSONSchemaProps;
  readonly properties?: { readonly [name: string]: JSONSchemaProps };
  readonly additionalProperties?: JSONSchemaProps;
  readonly required?: readonly string[];
  readonly 'x-kubernetes-map-type'?: 'atomic' | 'granular';
  /** Keeps fields the schema does not list (free-form JSON such as OSB parameters). */
  readonly 'x-kubernetes-preserve-unknown-fields'?: boolean;
  /** CEL rules the API server checks on create and update. */
  readonly 'x-kubernetes-validations'?: readonly ValidationRule[];
}

/** A CEL validation rule (apiextensions.k8s.io/v1 ValidationRule). */
export interface ValidationRule {
  readonly rule: string;
  readonly message?: string;
  readonly messageExpression?: string;
  /** The field the error is reported on, relative to the object the rule is on. */
  readonly fieldPath?: string;
  readonly reason?:
    'FieldValueInvalid' | 'FieldValueForbidden' | 'FieldValueRequired' | 'FieldValueDuplicate';
  /** False: a transition rule (`oldSelf`) that also applies when the old value is absent. */
  readonly optionalOldSelf?: boolean;
}

/** The type of the JSON values a schema admits. */
export type FromSchema<S> = S extends { readonly enum: readonly (infer E)[] }
  ? E
  : S extends { readonly type: 'string' }
    ? string
    : S extends { readonly type: 'integer' | 'number' }
      ? number
      : S extends { readonly type: 'boolean' }
        ? boolean
        : S extends { readonly type: 'array'; readonly items: infer I }
          ? FromSchema<I>[]
          : S extends { readonly type: 'object'; readonly properties: infer P }
            ? ObjectFromSchema<P, S extends { readonly required: readonly (infer R)[] } ? R : never>
            : S extends { readonly type: 'object'; readonly additionalProperties: infer A }
              ? Record<string, FromSchema<A>>
              : S extends { readonly type: 'object' }
                ? Record<string, unknown>
                : unknown;

type ObjectFromSchema<P, R> = Flatten<
  { -readonly [K in keyof P as K extends R ? K : never]: FromSchema<P[K]> } & {
    -readonly [K in keyof P as K extends R ? never : K]?: FromSchema<P[K]>;
  }
>;

type Flatten<T> = { [K in keyof T]: T[K] };

/**
 * Recursively flattens a type to plain object literals, so two types that describe the same
 * shape compare identical whether they are interfaces, intersections or mapped types.
 */
export type Normalize<T> = T extends readonly (infer U)[]
  ? Normalize<U>[]
  : T extends object
    ? { [K in keyof T]: Normalize<T[K]> }
    : T;

/** `true` only when A and B describe exactly the same shape (optionality included). */
export type SameShape<A, B> =
  (<T>() => T extends Normalize<A> ? 1 : 2) extends <T>() => T extends Normalize<B> ? 1 : 2 ? true : false;
