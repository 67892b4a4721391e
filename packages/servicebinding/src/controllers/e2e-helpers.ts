// Shared by the controller e2e suites (tests only): a control plane with the ServiceBinding CRDs,
// and the ServiceBinding controller running as a user that holds the install bundle's cluster-wide
// rules (so the suites also prove the bundle grants what the controller needs) plus the suite's own.

import { ControlPlane } from '@bindery/controlplane';
import type { PolicyRule } from '@bindery/controlplane';
import { KubeClient } from '@bindery/kube';
import type { KubeObject } from '@bindery/kube';
import { Manager } from '@bindery/runtime';
import type { ManagerOptions } from '@bindery/runtime';
import { pino } from 'pino';
import { clusterWorkloadResourceMappingCRD, cronJobMapping, serviceBindingCRD } from '../apis/index.ts';
import { renderInstallBundle } from '../install/bundle.ts';
import { installNames } from '../install/names.ts';
import { addServiceBindingController } from './servicebinding.ts';
import type { AddServiceBindingControllerOptions } from './servicebinding.ts';

/** The rules of the bundle's manager ClusterRole and built-in workloads ClusterRole. */
export function bundleControllerRules(): PolicyRule[] {
  const roles: string[] = [installNames.managerClusterRole, installNames.workloadsClusterRole];
  return renderInstallBundle()
    .filter((o) => o.kind === 'ClusterRole' && roles.includes(o.metadata.name ?? ''))
    .flatMap((o) => (o['rules'] as PolicyRule[] | undefined) ?? []);
}

export interface ControllerEnvironmentOptions {
  /** The controller's user name and the Manager's name. */
  name: string;
  /** Created, for the suite's objects. */
  namespace: string;
  /** Installed with the ServiceBinding and ClusterWorkloadResourceMapping CRDs. */
  crds?: KubeObject[];
  /** Granted with the bundle's rules: the suite's own kinds. */
  rules?: PolicyRule[];
  health?: ManagerOptions['health'];
  controller?: AddServiceBindingControllerOptions;
}

export interface ControllerEnvironment {
  cp: ControlPlane;
  /** Acts as cluster admin. */
  admin: KubeClient;
  /** Acts as the controller's user. */
  controllerClient: KubeClient;
  manager: Manager;
  stop(): Promise<void>;
}

/** Starts a control plane and the ServiceBinding controller on it; the CronJob mapping is created. */
export async function startControllerEnvironment(
  options: ControllerEnvironmentOptions,
): Promise<ControllerEnvironment> {
  const cp = new ControlPlane();
  await cp.start();
  const admin = cp.client();
  try {
    await cp.installCRDs([serviceBindingCRD(), clusterWorkloadResourceMappingCRD(), ...(options.crds ?? [])]);
    await admin.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: options.namespace } });
    await admin.create(cronJobMapping);
    const user = await cp.addUser({
      name: options.name,
      rules: [...bundleControllerRules(), ...(options.rules ?? [])],
    });
    const controllerClient = KubeClient.fromKubeConfig({ kubeconfig: user.kubeconfigPath });
    const manager = new Manager({
      client: controllerClient,
      name: options.name,
      log: pino({ level: process.env['BINDERY_E2E_LOG'] ?? 'silent' }),
      metrics: false,
      health: options.health ?? false,
    });
    addServiceBindingController(manager, options.controller);
    const stopping = new AbortController();
    const running = manager.start(stopping.signal);
    return {
      cp,
      admin,
      controllerClient,
      manager,
      stop: async () => {
        stopping.abort();
        await running;
        await controllerClient.close();
        await admin.close();
        await cp.stop();
      },
    };
  } catch (err) {
    await cp.stop();
    throw err;
  }
}

/** A one-container Deployment named `name`, selected by `app: <name>`: the workload the suites bind. */
export function workloadDeployment(namespace: string, name: string): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { namespace, name },
    spec: {
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: 'app', image: 'registry.example/app:1' }] },
      },
    },
  };
}
