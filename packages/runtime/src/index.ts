export * from './client.ts';
export * from './config.ts';
export * from './reconciler.ts';
export * from './result.ts';
export * from './stash.ts';
