// @bindery/osb: the Open Service Broker platform side (OSB 2.17): APIs, OSB client, controllers.
export * from './apis/index.ts';
export * from './client/index.ts';
