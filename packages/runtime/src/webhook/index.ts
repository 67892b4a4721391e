export * from './types.ts';
export * from './handlers.ts';
export * from './cert-watcher.ts';
export * from './cert-renewer.ts';
export * from './metrics.ts';
export * from './server.ts';
export * from './self-signed.ts';
