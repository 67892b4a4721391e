// Test helpers of @bindery/osb: the scripted broker, and a catalog as class and plan objects.
export * from './scripted-broker.ts';
export * from './catalog-objects.ts';
