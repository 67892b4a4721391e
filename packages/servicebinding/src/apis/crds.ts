// The CustomResourceDefinitions, built from the schemas: one CRD per kind, served in every
// version with the same schema (v1 stored, v1alpha3 deprecated), no conversion webhook because
// the versions differ only in name.
import type { KubeObject } from '@bindery/kube';
import type { JSONSchemaProps, PrinterColumn } from '@bindery/runtime';
import { customResourceDefinition, readyConditionPath as ready } from '@bindery/runtime';
import {
  clusterWorkloadResourceMappingKind,
  clusterWorkloadResourceMappingSchema,
} from './clusterworkloadresourcemapping.ts';
import { deprecatedVersions, group, storageVersion, versions } from './group.ts';
import { serviceBindingKind, serviceBindingSchema } from './servicebinding.ts';

export type { PrinterColumn } from '@bindery/runtime';

/** `kubectl get` groups both kinds under `kubectl get servicebinding`. */
export const category = 'servicebinding';

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
  return customResourceDefinition({
    ...o,
    group,
    categories: [category],
    versions: versions.map((name) => {
      const warning = deprecatedVersions[name];
      return {
        name,
        storage: name === storageVersion,
        ...(warning !== undefined && { deprecationWarning: warning }),
      };
    }),
  });
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
