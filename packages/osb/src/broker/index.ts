// The broker controllers (catalog → classes and plans) and what other controllers share with
// them: a broker's OSB client options, read from its spec and auth Secret.
export * from './auth.ts';
export * from './broker-reconciler.ts';
export * from './catalog-entry-reconciler.ts';
export { catalogObjectName } from './names.ts';
export { parseDuration } from './duration.ts';
export type { BrokerScope } from './scope.ts';
export { brokerLabel, clusterScope, namespacedScope } from './scope.ts';
export * from './clients.ts';
