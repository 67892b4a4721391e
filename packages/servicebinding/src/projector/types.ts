// The projector's inputs, as plain JSON. Only the fields the projector reads are named, all
// optional, so the full API types (and objects straight from the API server) are assignable.

/** `ServiceBinding.spec.env[]`: expose the Secret entry `key` as the environment variable `name`. */
export interface EnvMapping {
  name: string;
  key: string;
}

/** The fields of a `ServiceBinding` that decide what is projected. */
export interface ServiceBindingLike {
  metadata: {
    name?: string;
    /** Required: every projected artifact is named after it (`servicebinding-<uid>`). */
    uid?: string;
  };
  spec?: {
    /** Directory name under `$SERVICE_BINDING_ROOT`; defaults to `metadata.name`. */
    name?: string;
    /** Overrides the projected `type` entry. */
    type?: string;
    /** Overrides the projected `provider` entry. */
    provider?: string;
    env?: readonly EnvMapping[];
    workload?: {
      apiVersion?: string;
      kind?: string;
      name?: string;
      selector?: unknown;
      /** Container-name filter; undefined or empty binds every container. */
      containers?: readonly string[];
    };
  };
}

/** `ClusterWorkloadResourceMapping.spec.versions[].containers[]`. */
export interface MappingContainer {
  /** Full JSONPath (kubectl dialect) selecting container-like objects. */
  path: string;
  /** Fixed JSONPath to the container name; absent or empty: no name filtering. */
  name?: string;
  /** Fixed JSONPath to `[]EnvVar`; default `.env`. */
  env?: string;
  /** Fixed JSONPath to `[]VolumeMount`; default `.volumeMounts`. */
  volumeMounts?: string;
}

/** `ClusterWorkloadResourceMapping.spec.versions[]`. */
export interface MappingTemplate {
  /** A version of the mapped resource, or `*` for any version without its own entry. */
  version: string;
  /** Fixed JSONPath to the pod-template annotations; default `.spec.template.metadata.annotations`. */
  annotations?: string;
  containers?: readonly MappingContainer[];
  /** Fixed JSONPath to `[]Volume`; default `.spec.template.spec.volumes`. */
  volumes?: string;
}

/** `ClusterWorkloadResourceMapping.spec`. */
export interface MappingSpec {
  versions?: readonly MappingTemplate[];
}

/** A container entry after defaulting: only `name` may be absent. */
export interface DefaultedMappingContainer {
  path: string;
  name?: string;
  env: string;
  volumeMounts: string;
}

/** A template after defaulting (the RI's `ClusterWorkloadResourceMappingTemplate.Default()`). */
export interface DefaultedMappingTemplate {
  version: string;
  annotations: string;
  containers: DefaultedMappingContainer[];
  volumes: string;
}

export interface DefaultedMappingSpec {
  versions: DefaultedMappingTemplate[];
}

/** A JSON object, as found in a workload. */
export type JsonObject = { [key: string]: unknown };
