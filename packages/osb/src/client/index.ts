// The OSB 2.17 client: typed requests and responses, typed errors, and the bridge to the
// orphan-mitigation table (`brokerOutcome`).
export * from './types.ts';
export * from './errors.ts';
export * from './client.ts';
