// A CustomResourceDefinition from one schema: every version served with the same schema and no
// conversion webhook, because the versions of our groups differ only in name.
import type { KubeObject } from '@bindery/kube';
import type { JSONSchemaProps } from './openapi.ts';

export interface PrinterColumn {
  name: string;
  type: 'string' | 'date' | 'integer' | 'number' | 'boolean';
  jsonPath: string;
  description?: string;
  /** 0 shows the column in `kubectl get`; higher only with `-o wide`. */
  priority?: number;
}

export interface CRDVersion {
  name: string;
  /** The one version objects are stored in. */
  storage: boolean;
  /** Set for a deprecated version: the warning the API server returns to its clients. */
  deprecationWarning?: string;
}

export interface CustomResourceDefinitionOptions {
  group: string;
  versions: readonly CRDVersion[];
  kind: string;
  plural: string;
  scope: 'Namespaced' | 'Cluster';
  shortNames?: readonly string[];
  categories?: readonly string[];
  labels?: Record<string, string>;
  schema: JSONSchemaProps;
  printerColumns: readonly PrinterColumn[];
  /** Serve the `/status` subresource, so spec and status are written separately. */
  status: boolean;
}

/** The jsonPath of the `Ready` condition, for printer columns. */
export const readyConditionPath = '.status.conditions[?(@.type=="Ready")]';

export function customResourceDefinition(o: CustomResourceDefinitionOptions): KubeObject {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${o.plural}.${o.group}`, ...(o.labels && { labels: o.labels }) },
    spec: {
      group: o.group,
      names: {
        kind: o.kind,
        listKind: `${o.kind}List`,
        plural: o.plural,
        singular: o.kind.toLowerCase(),
        ...(o.shortNames && { shortNames: [...o.shortNames] }),
        ...(o.categories && { categories: [...o.categories] }),
      },
      scope: o.scope,
      versions: o.versions.map((v) => ({
        name: v.name,
        served: true,
        storage: v.storage,
        ...(v.deprecationWarning !== undefined && {
          deprecated: true,
          deprecationWarning: v.deprecationWarning,
        }),
        additionalPrinterColumns: o.printerColumns,
        subresources: o.status ? { status: {} } : {},
        schema: { openAPIV3Schema: o.schema },
      })),
      conversion: { strategy: 'None' },
    },
  };
}
