// Which OSB 2.17 operation a method and path name. Ids are percent-decoded path segments.

import type { OperationName } from './metrics.ts';

export interface Route {
  operation: Exclude<OperationName, 'unmatched'>;
  instanceId?: string;
  bindingId?: string;
}

const METHODS: Record<string, Partial<Record<string, Route['operation']>>> = {
  catalog: { GET: 'catalog' },
  instance: { PUT: 'provision', PATCH: 'update', DELETE: 'deprovision', GET: 'get_instance' },
  instanceLastOperation: { GET: 'last_operation' },
  binding: { PUT: 'bind', DELETE: 'unbind', GET: 'get_binding' },
  bindingLastOperation: { GET: 'binding_last_operation' },
};

/** The route, 'method' when the path exists but not with this method, or undefined. */
export function matchRoute(method: string, path: string): Route | 'method' | undefined {
  const segments = path.split('/');
  if (segments[0] !== '' || segments[1] !== 'v2') return undefined;
  let ids: string[];
  try {
    ids = segments.slice(2).map(decodeURIComponent);
  } catch {
    return undefined;
  }
  let shape: keyof typeof METHODS | undefined;
  let instanceId: string | undefined;
  let bindingId: string | undefined;
  const [a, b, c, d, e, ...rest] = ids;
  if (rest.length === 0) {
    if (a === 'catalog' && b === undefined) shape = 'catalog';
    else if (a === 'service_instances' && b) {
      instanceId = b;
      if (c === undefined) shape = 'instance';
      else if (c === 'last_operation' && d === undefined) shape = 'instanceLastOperation';
      else if (c === 'service_bindings' && d) {
        bindingId = d;
        if (e === undefined) shape = 'binding';
        else if (e === 'last_operation') shape = 'bindingLastOperation';
      }
    }
  }
  if (!shape) return undefined;
  const operation = METHODS[shape]?.[method];
  if (!operation) return 'method';
  return {
    operation,
    ...(instanceId !== undefined && { instanceId }),
    ...(bindingId !== undefined && { bindingId }),
  };
}
