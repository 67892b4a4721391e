export * from './bindable.ts';
export * from './subject-reconciler.ts';
export * from './admission.ts';
export * from './subject-writes.ts';
