// What a list asks the fake API server for, read as the API server reads it: label selectors, the
// field selectors every kind supports (`metadata.name`, `metadata.namespace`), namespace, and pages
// (`limit` and `continue`). Malformed input is a 400, as it is from the API server.

import { parseSelector } from '@bindery/kube';
import type { KubeObject, ListMeta, ListOptions, ObjectMeta, Selector } from '@bindery/kube';
import { badRequestError } from './errors.ts';

/**
 * One page of `objects` (sorted, of one kind) that match `options`. `request` names the call in
 * errors; `resourceVersion` is the list's.
 */
export function listPage(
  objects: readonly KubeObject[],
  options: ListOptions,
  request: string,
  resourceVersion: string,
): { metadata: ListMeta; items: KubeObject[] } {
  const labels = parseLabels(options.labelSelector, request);
  const fields = parseFields(options.fieldSelector, request);
  const matching = objects.filter((o) => {
    if (options.namespace && (o.metadata.namespace ?? '') !== options.namespace) return false;
    return (labels?.matches(o.metadata.labels) ?? true) && fields.every((f) => f(o.metadata));
  });
  const start = options.continue ? decodeContinue(options.continue, request) : 0;
  const end = options.limit ? Math.min(start + options.limit, matching.length) : matching.length;
  const metadata: ListMeta = { resourceVersion };
  if (end < matching.length) {
    metadata.continue = Buffer.from(JSON.stringify({ start: end })).toString('base64url');
    metadata.remainingItemCount = matching.length - end;
  }
  return { metadata, items: matching.slice(start, end) };
}

function parseLabels(text: string | undefined, request: string): Selector | undefined {
  if (!text) return undefined;
  try {
    return parseSelector(text);
  } catch (err) {
    throw badRequestError(`unable to parse requirement: ${(err as Error).message}`, { request });
  }
}

/** `metadata.name` and `metadata.namespace` with `=`, `==` and `!=`: what every kind supports. */
function parseFields(text: string | undefined, request: string): Array<(m: ObjectMeta) => boolean> {
  if (!text) return [];
  return text
    .split(',')
    .filter((t) => t.trim() !== '')
    .map((term) => {
      const m = /^\s*([^=!\s]+)\s*(==|=|!=)\s*(.*?)\s*$/.exec(term);
      if (!m) throw badRequestError(`invalid field selector: "${term}"`, { request });
      const [, field = '', op, value = ''] = m;
      if (field !== 'metadata.name' && field !== 'metadata.namespace') {
        throw badRequestError(
          `"${field}" is not a known field selector: only "metadata.name", "metadata.namespace"`,
          { request },
        );
      }
      const get = (meta: ObjectMeta): string =>
        (field === 'metadata.name' ? meta.name : meta.namespace) ?? '';
      return op === '!=' ? (meta) => get(meta) !== value : (meta) => get(meta) === value;
    });
}

function decodeContinue(token: string, request: string): number {
  try {
    const { start } = JSON.parse(Buffer.from(token, 'base64url').toString()) as { start?: unknown };
    if (typeof start === 'number' && Number.isSafeInteger(start) && start >= 0) return start;
  } catch {
    // fall through
  }
  throw badRequestError(`invalid continue token "${token}"`, { request });
}
