// A broker catalog as ClusterServiceClasses and ClusterServicePlans, for tests and benchmarks that run
// the instance and credential-binding controllers without the broker controller (which lists catalogs
// into these objects in a cluster).

import type { KubeObject } from '@bindery/kube';
import { apiVersion } from '../apis/index.ts';
import type { Catalog } from '../client/index.ts';

export function catalogObjects(catalog: Catalog, brokerName: string): KubeObject[] {
  const out: KubeObject[] = [];
  for (const s of catalog.services) {
    const className = `${brokerName}-${s.name}`;
    out.push({
      apiVersion,
      kind: 'ClusterServiceClass',
      metadata: { name: className },
      spec: {
        externalName: s.name,
        externalID: s.id,
        clusterServiceBrokerName: brokerName,
        bindable: s.bindable,
        ...(s.bindings_retrievable !== undefined && { bindingsRetrievable: s.bindings_retrievable }),
        ...(s.plan_updateable !== undefined && { planUpdateable: s.plan_updateable }),
        ...(s.tags && { tags: s.tags }),
        ...(s.metadata && { externalMetadata: s.metadata }),
      },
    });
    for (const p of s.plans) {
      const schemas = p.schemas;
      out.push({
        apiVersion,
        kind: 'ClusterServicePlan',
        metadata: { name: `${className}-${p.name}` },
        spec: {
          externalName: p.name,
          externalID: p.id,
          clusterServiceBrokerName: brokerName,
          clusterServiceClassRef: { name: className },
          ...(p.bindable !== undefined && { bindable: p.bindable }),
          ...(p.plan_updateable !== undefined && { planUpdateable: p.plan_updateable }),
          ...(p.binding_rotatable !== undefined && { bindingRotatable: p.binding_rotatable }),
          ...(p.maximum_polling_duration !== undefined && {
            maximumPollingDuration: p.maximum_polling_duration,
          }),
          ...(p.maintenance_info && { maintenanceInfo: { version: p.maintenance_info.version } }),
          ...(schemas?.service_instance?.create?.parameters && {
            instanceCreateParameterSchema: schemas.service_instance.create.parameters,
          }),
          ...(schemas?.service_instance?.update?.parameters && {
            instanceUpdateParameterSchema: schemas.service_instance.update.parameters,
          }),
          ...(schemas?.service_binding?.create?.parameters && {
            serviceBindingCreateParameterSchema: schemas.service_binding.create.parameters,
          }),
        },
      });
    }
  }
  return out;
}
