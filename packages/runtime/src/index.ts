export * from './client.ts';
export * from './config.ts';
export * from './reconciler.ts';
export * from './result.ts';
export * from './stash.ts';
export * from './equality.ts';
export * from './json-patch.ts';
export * from './webhook/index.ts';
