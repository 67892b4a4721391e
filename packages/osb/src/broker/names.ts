// Object names for catalog entries. The OSB `id` is what correlates an object with the catalog; the
// name is only derived from it, stably, so the same id always gives the same name.
import { createHash } from 'node:crypto';

const dnsSubdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/**
 * The object name for the catalog entry with OSB id `id`: the id itself when it is already a valid
 * DNS subdomain of at most 63 characters (UUIDs are), else a readable prefix of it and a hash of the
 * whole, so two ids never share a name by accident of sanitizing.
 */
export function catalogObjectName(id: string): string {
  if (id.length <= 63 && dnsSubdomain.test(id)) return id;
  const hash = createHash('sha256').update(id).digest('hex').slice(0, 12);
  const readable = id
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40)
    .replace(/-+$/, '');
  return readable === '' ? hash : `${readable}-${hash}`;
}
