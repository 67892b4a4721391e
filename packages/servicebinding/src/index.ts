export * from './projector/index.ts';
export * from './apis/index.ts';
