export * from './bindable.ts';
export * from './subject-reconciler.ts';
export * from './subject-writes.ts';
export * from './admission.ts';
export * from './binding-index.ts';
export * from './webhook-rules.ts';
export * from './webhook-rules-patch.ts';
export * from './webhook-rules-reconciler.ts';
