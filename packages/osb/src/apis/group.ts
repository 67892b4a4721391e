// The API group and version of every OSB platform resource.

export const group = 'osb.bindery.dev';
export const version = 'v1alpha1';
export const apiVersion = `${group}/${version}`;

/** `kubectl get osb` lists every kind of the group. */
export const category = 'osb';

export const clusterServiceBrokerKind = 'ClusterServiceBroker';
export const serviceBrokerKind = 'ServiceBroker';
export const clusterServiceClassKind = 'ClusterServiceClass';
export const clusterServicePlanKind = 'ClusterServicePlan';
export const serviceClassKind = 'ServiceClass';
export const servicePlanKind = 'ServicePlan';
export const serviceInstanceKind = 'ServiceInstance';
export const serviceCredentialBindingKind = 'ServiceCredentialBinding';

/** Plural resource names, as the REST paths and RBAC rules spell them. */
export const resources = {
  clusterServiceBrokers: 'clusterservicebrokers',
  serviceBrokers: 'servicebrokers',
  clusterServiceClasses: 'clusterserviceclasses',
  clusterServicePlans: 'clusterserviceplans',
  serviceClasses: 'serviceclasses',
  servicePlans: 'serviceplans',
  serviceInstances: 'serviceinstances',
  serviceCredentialBindings: 'servicecredentialbindings',
} as const;

/** The finalizer the controllers put on brokers, instances and credential bindings. */
export const finalizer = 'osb.bindery.dev/finalizer';
