export * from './apis/index.ts';
