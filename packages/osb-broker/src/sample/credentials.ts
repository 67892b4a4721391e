// Credentials of the sample broker: random ones per instance, and per binding ones derived from the
// instance's with an HMAC of the binding id, so a binding's credentials differ from every other's and
// a repeated bind (or a restarted broker) derives the same ones again.

import { createHash, createHmac, randomBytes } from 'node:crypto';
import type { JsonObject } from '../broker.ts';
import type { PlanBehaviour } from './catalog.ts';

const short = (text: string): string => createHash('sha256').update(text).digest('hex').slice(0, 10);

/** The instance's own credentials, kept in its Secret. */
export function instanceCredentials(options: {
  instanceId: string;
  namespace: string;
  flavour: PlanBehaviour['flavour'];
  parameters: JsonObject | undefined;
}): Record<string, string> {
  const id = short(options.instanceId);
  const name =
    typeof options.parameters?.['database'] === 'string' ? options.parameters['database'] : `db_${id}`;
  return {
    host: `${options.flavour}-${id}.${options.namespace}.svc.cluster.local`,
    port: options.flavour === 'database' ? '5432' : '5672',
    [options.flavour === 'database' ? 'database' : 'vhost']:
      options.flavour === 'database' ? name : `vh-${id}`,
    username: `admin_${id}`,
    password: randomBytes(24).toString('base64url'),
  };
}

/** A binding's credentials: its own user and password, on the instance's host. */
export function bindingCredentials(options: {
  instance: Record<string, string>;
  bindingId: string;
  flavour: PlanBehaviour['flavour'];
  parameters: JsonObject | undefined;
}): Record<string, string> {
  const { instance } = options;
  const username = `u_${short(options.bindingId)}`;
  const password = createHmac('sha256', instance['password'] ?? '')
    .update(`binding:${options.bindingId}`)
    .digest('base64url');
  const host = instance['host'] ?? '';
  const port = instance['port'] ?? '';
  if (options.flavour === 'database') {
    const database = instance['database'] ?? '';
    const role = typeof options.parameters?.['role'] === 'string' ? options.parameters['role'] : 'readwrite';
    return {
      host,
      port,
      database,
      username,
      password,
      role,
      uri: `postgresql://${username}:${password}@${host}:${port}/${database}`,
    };
  }
  const vhost = instance['vhost'] ?? '';
  return {
    host,
    port,
    vhost,
    username,
    password,
    uri: `amqp://${username}:${password}@${host}:${port}/${vhost}`,
  };
}
