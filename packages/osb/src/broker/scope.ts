// The two broker scopes: a ClusterServiceBroker makes cluster-scoped classes and plans, a
// ServiceBroker makes them in its own namespace. The controllers are written once over this.
import type { TypeRef } from '@bindery/kube';
import * as g from '../apis/group.ts';

export interface BrokerScope {
  cluster: boolean;
  broker: TypeRef;
  class: TypeRef;
  plan: TypeRef;
  /** The spec field of a class or plan naming its broker. */
  brokerField: 'clusterServiceBrokerName' | 'serviceBrokerName';
  /** The spec field of a plan naming its class. */
  classRefField: 'clusterServiceClassRef' | 'serviceClassRef';
}

const type = (kind: string): TypeRef => ({ apiVersion: g.apiVersion, kind });

export const clusterScope: BrokerScope = {
  cluster: true,
  broker: type(g.clusterServiceBrokerKind),
  class: type(g.clusterServiceClassKind),
  plan: type(g.clusterServicePlanKind),
  brokerField: 'clusterServiceBrokerName',
  classRefField: 'clusterServiceClassRef',
};

export const namespacedScope: BrokerScope = {
  cluster: false,
  broker: type(g.serviceBrokerKind),
  class: type(g.serviceClassKind),
  plan: type(g.servicePlanKind),
  brokerField: 'serviceBrokerName',
  classRefField: 'serviceClassRef',
};

/** The label on classes and plans naming their broker, for `kubectl get -l`. Correlation never uses it. */
export const brokerLabel = 'osb.bindery.dev/broker';
