// `bindery catalog`: the OSB marketplace listing's options (run by ../catalog.ts).

import { connectionOptions, help, oneOf, optional, required, str, UsageError } from './options.ts';
import type { CommandSpec, Values } from './options.ts';

export const spec: CommandSpec = {
  summary: 'List the service classes and plans of the cluster (the OSB marketplace)',
  description: `Lists what can be provisioned with a ServiceInstance: every ClusterServiceClass with its plans, and
with --namespace (or --all-namespaces) the ServiceClasses of namespaced ServiceBrokers too, as
\`svcat marketplace\` did. Classes and plans the broker no longer lists are left out. It connects
with --kubeconfig, else $KUBECONFIG, else the pod's service account, else ~/.kube/config.`,
  options: {
    ...connectionOptions,
    namespace: {
      type: 'string',
      short: 'n',
      value: '<ns>',
      description: 'Also list the ServiceClasses of this namespace',
    },
    'all-namespaces': {
      type: 'boolean',
      short: 'A',
      description: 'Also list the ServiceClasses of every namespace',
    },
    output: {
      type: 'string',
      short: 'o',
      value: '<format>',
      default: 'table',
      description: 'table, or json (every field, descriptions in full)',
    },
    help,
  },
  examples: ['bindery catalog', 'bindery catalog -n team-a', 'bindery catalog -A -o json'],
};

export interface CatalogArgs {
  kubeconfig?: string;
  context?: string;
  namespace?: string;
  allNamespaces: boolean;
  output: 'table' | 'json';
}

export function parseArgs(values: Values): CatalogArgs {
  const c = 'catalog';
  const namespace = str(values, 'namespace');
  const allNamespaces = values['all-namespaces'] === true;
  if (namespace !== undefined && allNamespaces) {
    throw new UsageError('--namespace and --all-namespaces exclude each other', c);
  }
  return {
    ...optional('kubeconfig', str(values, 'kubeconfig')),
    ...optional('context', str(values, 'context')),
    ...optional('namespace', namespace),
    allNamespaces,
    output: oneOf('output', required(values, 'output'), ['table', 'json'] as const, c),
  };
}
