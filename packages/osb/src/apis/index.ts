// The public API of apis/: the osb.bindery.dev/v1alpha1 kinds, their schemas and CRDs.
export * from './group.ts';
export * from './common.ts';
export * from './broker.ts';
export * from './class.ts';
export * from './plan.ts';
export * from './instance.ts';
export * from './credentialbinding.ts';
export * from './crds.ts';
