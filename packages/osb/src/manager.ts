// The whole OSB platform in a Manager: broker controllers (catalog → classes and plans), the
// cleanup of removed catalog entries, and the ServiceInstance and ServiceCredentialBinding
// controllers, which reach brokers through one shared, bounded set of OSB clients.
import type { Controller, Manager } from '@bindery/runtime';
import type { BrokerControllerOptions } from './broker/broker-reconciler.ts';
import { clusterServiceBrokerController, serviceBrokerController } from './broker/broker-reconciler.ts';
import { catalogEntryControllers } from './broker/catalog-entry-reconciler.ts';
import type { BrokerClientsOptions } from './broker/clients.ts';
import { BrokerClients } from './broker/clients.ts';
import type { AddOsbPlatformControllersOptions } from './controllers/add-platform.ts';
import { addOsbPlatformControllers } from './controllers/add-platform.ts';

export interface AddOsbControllersOptions {
  /** Relist floor, catalog limits, request timeout of the broker controllers. */
  brokers?: BrokerControllerOptions;
  /** How the instance and binding controllers reach brokers. */
  brokerClients?: Omit<BrokerClientsOptions, 'reader' | 'secretReader'>;
  /** Polling, cluster id, workers and rotation grace of the instance and binding controllers. */
  platform?: Omit<AddOsbPlatformControllersOptions, 'brokers'>;
  /** Leave out ServiceBroker and the namespaced classes and plans (a cluster-only installation). */
  clusterBrokersOnly?: boolean;
}

export interface OsbControllers {
  controllers: Controller[];
  brokerClients: BrokerClients;
}

/** Adds every OSB controller to `manager`; the broker clients close when the manager stops. */
export function addOsbControllers(manager: Manager, options: AddOsbControllersOptions = {}): OsbControllers {
  const brokerClients = new BrokerClients({
    ...options.brokerClients,
    reader: manager.config.client,
    // Auth Secrets are read one by one when needed: no informer caches every Secret of the cluster.
    secretReader: manager.config.apiReader,
  });
  const controllers: Controller[] = [clusterServiceBrokerController(options.brokers)];
  if (options.clusterBrokersOnly !== true) controllers.push(serviceBrokerController(options.brokers));
  controllers.push(
    ...catalogEntryControllers().filter(
      (c) => options.clusterBrokersOnly !== true || c.name.startsWith('cluster'),
    ),
  );
  for (const c of controllers) manager.add(c);
  const platform = addOsbPlatformControllers(manager, {
    ...options.platform,
    brokers: brokerClients.provider,
  });
  controllers.push(platform.instances, platform.bindings);
  manager.addRunnable({
    name: 'osb-broker-clients',
    async start(signal) {
      if (!signal.aborted)
        await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
      await brokerClients.close();
    },
  });
  return { controllers, brokerClients };
}
