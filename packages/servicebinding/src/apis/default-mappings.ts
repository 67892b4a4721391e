// Mappings shipped with the runtime for built-in kinds that are "almost PodSpec-able".
import type { ClusterWorkloadResourceMapping } from './clusterworkloadresourcemapping.ts';
import { group, storageVersion } from './group.ts';

/** A CronJob's pod template is one level deeper, under .spec.jobTemplate. */
export const cronJobMapping: ClusterWorkloadResourceMapping = {
  apiVersion: `${group}/${storageVersion}`,
  kind: 'ClusterWorkloadResourceMapping',
  metadata: { name: 'cronjobs.batch' },
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
};

export const defaultMappings: readonly ClusterWorkloadResourceMapping[] = [cronJobMapping];
