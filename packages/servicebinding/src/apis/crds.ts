// The CustomResourceDefinitions, built from the schemas: one CRD per kind, served in every
// version with the same schema (v1 stored, v1alpha3 deprecated), no conversion webhook because
// the versions differ only in name.
import type { KubeObject } from '@bindery/kube';
import {
  clusterWorkloadResourceMappingKind,
  clusterWorkloadResourceMappingSchema,
} from './clusterworkloadresourcemapping.ts';
import { deprecatedVersions, group, storageVersion, versions } from './group.ts';
import type { JSONSchemaProps } from './openapi.ts';
import { serviceBindingKind, serviceBindingSchema } from './servicebinding.ts';

/** `kubectl get` groups both kinds under `kubectl get servicebinding`. */
export const category = 'servicebinding';

export interface PrinterColumn {
  name: string;
  type: 'string' | 'date' | 'integer' | 'number' | 'boolean';
  jsonPath: string;
  description?: string;
}

const ready = '.status.conditions[?(@.type=="Ready")]';

export const serviceBindingPrinterColumns: readonly PrinterColumn[] = [
  { name: 'Secret', type: 'string', jsonPath: '.status.binding.name', description: 'The projected Secret' },
  { name: 'Ready', type: 'string', jsonPath: `${ready}.status` },
  { name: 'Reason', type: 'string', jsonPath: `${ready}.reason` },
  { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
];

const agePrinterColumns: readonly PrinterColumn[] = [
  { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
];

interface CRDOptions {
  kind: string;
  plural: string;
  scope: 'Namespaced' | 'Cluster';
  shortNames?: string[];
  labels?: Record<string, string>;
  schema: JSONSchemaProps;
  printerColumns: readonly PrinterColumn[];
  status: boolean;
}

function crd(o: CRDOptions): KubeObject {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${o.plural}.${group}`, ...(o.labels && { labels: o.labels }) },
    spec: {
      group,
      names: {
        kind: o.kind,
        listKind: `${o.kind}List`,
        plural: o.plural,
        singular: o.kind.toLowerCase(),
        ...(o.shortNames && { shortNames: o.shortNames }),
        categories: [category],
      },
      scope: o.scope,
      versions: versions.map((name) => {
        const warning = deprecatedVersions[name];
        return {
          name,
          served: true,
          storage: name === storageVersion,
          ...(warning !== undefined && { deprecated: true, deprecationWarning: warning }),
          additionalPrinterColumns: o.printerColumns,
          subresources: o.status ? { status: {} } : {},
          schema: { openAPIV3Schema: o.schema },
        };
      }),
      conversion: { strategy: 'None' },
    },
  };
}

export function serviceBindingCRD(): KubeObject {
  return crd({
    kind: serviceBindingKind,
    plural: 'servicebindings',
    scope: 'Namespaced',
    shortNames: ['sb'],
    // A ServiceBinding exposes .status.binding.name, so it is a Provisioned Service itself.
    labels: { 'servicebinding.io/provisioned-service': 'true' },
    schema: serviceBindingSchema,
    printerColumns: serviceBindingPrinterColumns,
    status: true,
  });
}

export function clusterWorkloadResourceMappingCRD(): KubeObject {
  return crd({
    kind: clusterWorkloadResourceMappingKind,
    plural: 'clusterworkloadresourcemappings',
    scope: 'Cluster',
    schema: clusterWorkloadResourceMappingSchema,
    printerColumns: agePrinterColumns,
    status: false,
  });
}
