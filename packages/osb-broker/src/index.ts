// @bindery/osb-broker: write an Open Service Broker (API 2.17) in TypeScript. See README.md.
export * from './catalog.ts';
export * from './broker.ts';
export * from './errors.ts';
export * from './auth.ts';
export * from './token-review.ts';
export * from './store.ts';
export * from './server.ts';
export { LATEST_API_VERSION } from './headers.ts';
export { DEFAULT_MAX_BODY_BYTES } from './body.ts';
export { brokerMetrics } from './metrics.ts';
export type { BrokerMetrics, OperationName } from './metrics.ts';
export { compileSchema, schemaDraft, validateParameters } from './schemas.ts';
export { SampleBroker, DEFAULT_SAMPLE_NAMESPACE } from './sample/broker.ts';
export type { SampleBrokerOptions } from './sample/broker.ts';
export { startSampleBroker } from './sample/start.ts';
export type { RunningSampleBroker, StartSampleBrokerOptions } from './sample/start.ts';
export { sampleCatalog, sampleIds } from './sample/catalog.ts';
