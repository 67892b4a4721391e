// Mappings shipped with the runtime for built-in kinds that are "almost PodSpec-able". Frozen:
// the projector hands out the CronJob spec as CRONJOB_MAPPING.
import type { ClusterWorkloadResourceMapping } from './clusterworkloadresourcemapping.ts';
import { deepFreeze } from './freeze.ts';
import { group, storageVersion } from './group.ts';

/** The name of the CronJob mapping: `<plural>.<group>` of the mapped resource (WM-4). */
export const cronJobMappingName = 'cronjobs.batch';

/** A CronJob's pod template is one level deeper, under .spec.jobTemplate. As the RI ships it (not defaulted). */
export const cronJobMapping: ClusterWorkloadResourceMapping = deepFreeze({
  apiVersion: `${group}/${storageVersion}`,
  kind: 'ClusterWorkloadResourceMapping',
  metadata: { name: cronJobMappingName },
  spec: {
    versions: [
      {
        version: '*',
        annotations: '.spec.jobTemplate.spec.template.metadata.annotations',
        containers: [
          { path: '.spec.jobTemplate.spec.template.spec.containers[*]', name: '.name' },
          { path: '.spec.jobTemplate.spec.template.spec.initContainers[*]', name: '.name' },
        ],
        volumes: '.spec.jobTemplate.spec.template.spec.volumes',
      },
    ],
  },
});

export const defaultMappings: readonly ClusterWorkloadResourceMapping[] = Object.freeze([cronJobMapping]);
