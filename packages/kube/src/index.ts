export * from './object.ts';
export * from './errors.ts';
export * from './transport.ts';
export * from './discovery.ts';
export * from './client.ts';
export * from './labels.ts';
export * from './watch.ts';
export * from './informer.ts';
