// The projector's inputs, as plain JSON. The mapping is apis/'s own type: a mapping's spec is
// what the projector takes, and a caller has it as the API object holds it. The binding is not:
// `ServiceBindingLike` names only the fields the projector reads, all optional, so apis'
// `ServiceBinding` is assignable, and so is an object straight from the API server that lacks
// `spec` (the exemplar CRD does not require it) or a partial one (no `service` is needed to
// unproject).

import type { ClusterWorkloadResourceMappingSpec } from '../apis/clusterworkloadresourcemapping.ts';
import type { DefaultedMappingTemplate } from '../apis/defaults.ts';
import type { EnvMapping } from '../apis/servicebinding.ts';

export type { JsonObject } from '../apis/read-fields.ts';

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

/** `ClusterWorkloadResourceMapping.spec`, under the name the projector's API has always used. */
export type MappingSpec = ClusterWorkloadResourceMappingSpec;

/** A mapping spec after defaulting: every version's template filled in (`defaultMappingSpec`). */
export interface DefaultedMappingSpec {
  versions: DefaultedMappingTemplate[];
}
