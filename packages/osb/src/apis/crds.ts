// The CustomResourceDefinitions of osb.bindery.dev, generated from the schemas in this folder.
import type { KubeObject } from '@bindery/kube';
import type { JSONSchemaProps, PrinterColumn } from '@bindery/runtime';
import { customResourceDefinition, readyConditionPath as ready } from '@bindery/runtime';
import { clusterServiceBrokerSchema, serviceBrokerSchema } from './broker.ts';
import { clusterServiceClassSchema, serviceClassSchema } from './class.ts';
import { serviceCredentialBindingSchema } from './credentialbinding.ts';
import * as g from './group.ts';
import { serviceInstanceSchema } from './instance.ts';
import { clusterServicePlanSchema, servicePlanSchema } from './plan.ts';

const readyColumns: readonly PrinterColumn[] = [
  { name: 'Ready', type: 'string', jsonPath: `${ready}.status` },
  { name: 'Reason', type: 'string', jsonPath: `${ready}.reason` },
];
const age: PrinterColumn = { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' };

const brokerColumns: readonly PrinterColumn[] = [
  { name: 'URL', type: 'string', jsonPath: '.spec.url' },
  ...readyColumns,
  { name: 'Classes', type: 'integer', jsonPath: '.status.catalog.classes' },
  { name: 'Plans', type: 'integer', jsonPath: '.status.catalog.plans' },
  { name: 'Last Catalog', type: 'date', jsonPath: '.status.lastCatalogRetrievalTime' },
  age,
];

const removed: PrinterColumn = {
  name: 'Removed',
  type: 'boolean',
  jsonPath: '.status.removedFromBrokerCatalog',
  description: 'The broker no longer lists it',
};

const classColumns = (broker: string): readonly PrinterColumn[] => [
  { name: 'External Name', type: 'string', jsonPath: '.spec.externalName' },
  { name: 'Broker', type: 'string', jsonPath: `.spec.${broker}` },
  { name: 'Bindable', type: 'boolean', jsonPath: '.spec.bindable' },
  removed,
  { name: 'External ID', type: 'string', jsonPath: '.spec.externalID', priority: 1 },
  age,
];

const planColumns = (broker: string, classRef: string): readonly PrinterColumn[] => [
  { name: 'External Name', type: 'string', jsonPath: '.spec.externalName' },
  { name: 'Class', type: 'string', jsonPath: `.spec.${classRef}.name` },
  { name: 'Free', type: 'boolean', jsonPath: '.spec.free' },
  removed,
  { name: 'Broker', type: 'string', jsonPath: `.spec.${broker}`, priority: 1 },
  { name: 'External ID', type: 'string', jsonPath: '.spec.externalID', priority: 1 },
  age,
];

const instanceColumns: readonly PrinterColumn[] = [
  { name: 'Class', type: 'string', jsonPath: '.status.classRef.externalName' },
  { name: 'Plan', type: 'string', jsonPath: '.status.planRef.externalName' },
  ...readyColumns,
  { name: 'Operation', type: 'string', jsonPath: '.status.currentOperation', priority: 1 },
  { name: 'Dashboard', type: 'string', jsonPath: '.status.dashboardURL', priority: 1 },
  age,
];

const credentialBindingColumns: readonly PrinterColumn[] = [
  { name: 'Instance', type: 'string', jsonPath: '.spec.instanceRef.name' },
  { name: 'Secret', type: 'string', jsonPath: '.status.binding.name' },
  ...readyColumns,
  { name: 'Expires', type: 'date', jsonPath: '.status.expiresAt', priority: 1 },
  age,
];

interface Kind {
  kind: string;
  plural: string;
  scope: 'Namespaced' | 'Cluster';
  schema: JSONSchemaProps;
  printerColumns: readonly PrinterColumn[];
  shortNames?: readonly string[];
  labels?: Record<string, string>;
}

const kinds: readonly Kind[] = [
  {
    kind: g.clusterServiceBrokerKind,
    plural: g.resources.clusterServiceBrokers,
    scope: 'Cluster',
    schema: clusterServiceBrokerSchema,
    printerColumns: brokerColumns,
  },
  {
    kind: g.serviceBrokerKind,
    plural: g.resources.serviceBrokers,
    scope: 'Namespaced',
    schema: serviceBrokerSchema,
    printerColumns: brokerColumns,
  },
  {
    kind: g.clusterServiceClassKind,
    plural: g.resources.clusterServiceClasses,
    scope: 'Cluster',
    schema: clusterServiceClassSchema,
    printerColumns: classColumns('clusterServiceBrokerName'),
  },
  {
    kind: g.clusterServicePlanKind,
    plural: g.resources.clusterServicePlans,
    scope: 'Cluster',
    schema: clusterServicePlanSchema,
    printerColumns: planColumns('clusterServiceBrokerName', 'clusterServiceClassRef'),
  },
  {
    kind: g.serviceClassKind,
    plural: g.resources.serviceClasses,
    scope: 'Namespaced',
    schema: serviceClassSchema,
    printerColumns: classColumns('serviceBrokerName'),
  },
  {
    kind: g.servicePlanKind,
    plural: g.resources.servicePlans,
    scope: 'Namespaced',
    schema: servicePlanSchema,
    printerColumns: planColumns('serviceBrokerName', 'serviceClassRef'),
  },
  {
    kind: g.serviceInstanceKind,
    plural: g.resources.serviceInstances,
    scope: 'Namespaced',
    schema: serviceInstanceSchema,
    printerColumns: instanceColumns,
  },
  {
    kind: g.serviceCredentialBindingKind,
    plural: g.resources.serviceCredentialBindings,
    scope: 'Namespaced',
    schema: serviceCredentialBindingSchema,
    printerColumns: credentialBindingColumns,
    shortNames: ['scb'],
    // It exposes .status.binding.name: a servicebinding.io Provisioned Service.
    labels: { 'servicebinding.io/provisioned-service': 'true' },
  },
];

/** One CRD per kind of osb.bindery.dev/v1alpha1, each with a status subresource. */
export function osbCRDs(): KubeObject[] {
  return kinds.map((k) =>
    customResourceDefinition({
      ...k,
      group: g.group,
      versions: [{ name: g.version, storage: true }],
      categories: [g.category],
      status: true,
    }),
  );
}
