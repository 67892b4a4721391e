// The errors the fake client answers with: the same `StatusError`s, reasons and
// messages the API server (through @bindery/kube) gives, so reconcilers branch on
// them exactly as they would in a cluster. Reactors use them to inject failures.

import { StatusError, groupKind, parseApiVersion } from '@bindery/kube';
import type { StatusReason, TypeRef } from '@bindery/kube';

/** Plural resource names the simple rules get wrong. */
const builtinPlurals: Record<string, string> = {
  Endpoints: 'endpoints',
  EndpointSlice: 'endpointslices',
  PodMetrics: 'pods',
  NodeMetrics: 'nodes',
};

/**
 * The plural resource name of a kind, as discovery would report it: `plurals`
 * first, then lowercase kind + `s`, with `-y` → `-ies` (after a consonant) and
 * `-s`/`-x`/`-z`/`-ch`/`-sh` → `-es`.
 */
export function pluralOf(kind: string, plurals?: Readonly<Record<string, string>>): string {
  const explicit = plurals?.[kind] ?? builtinPlurals[kind];
  if (explicit !== undefined) return explicit;
  const lower = kind.toLowerCase();
  if (/[^aeiou]y$/.test(lower)) return `${lower.slice(0, -1)}ies`;
  if (/(s|x|z|ch|sh)$/.test(lower)) return `${lower}es`;
  return `${lower}s`;
}

/** What the API server names a resource in messages: `configmaps`, `deployments.apps`. */
export function qualifiedResource(type: TypeRef, plurals?: Readonly<Record<string, string>>): string {
  const { group } = parseApiVersion(type.apiVersion);
  const plural = pluralOf(type.kind, plurals);
  return group === '' ? plural : `${plural}.${group}`;
}

/** A REST path for the request line of an error: `/apis/apps/v1/namespaces/ns/deployments/web`. */
export function requestPath(
  ref: TypeRef & { namespace?: string; name?: string },
  options: { plurals?: Readonly<Record<string, string>>; subresource?: string } = {},
): string {
  const { group, version } = parseApiVersion(ref.apiVersion);
  let path = group === '' ? `/api/${version}` : `/apis/${group}/${version}`;
  if (ref.namespace) path += `/namespaces/${ref.namespace}`;
  path += `/${pluralOf(ref.kind, options.plurals)}`;
  if (ref.name) path += `/${ref.name}`;
  if (ref.name && options.subresource) path += `/${options.subresource}`;
  return path;
}

/** Where an error happened, and how to name the resource in its message. */
export interface ErrorContext {
  /** The request line: `PUT /api/v1/namespaces/ns/configmaps/x`. Default: `FAKE <path>`. */
  request?: string;
  plurals?: Readonly<Record<string, string>>;
}

type Ref = TypeRef & { namespace?: string; name?: string };

function statusError(
  code: number,
  reason: StatusReason,
  message: string,
  ref: Ref | undefined,
  ctx: ErrorContext,
): StatusError {
  const details =
    ref === undefined
      ? undefined
      : {
          ...(ref.name ? { name: ref.name } : {}),
          group: parseApiVersion(ref.apiVersion).group,
          kind: pluralOf(ref.kind, ctx.plurals),
        };
  return new StatusError({
    code,
    status: {
      apiVersion: 'v1',
      kind: 'Status',
      status: 'Failure',
      message,
      reason,
      code,
      ...(details ? { details } : {}),
    },
    request: ctx.request ?? (ref ? `FAKE ${requestPath(ref, ctx)}` : 'FAKE'),
  });
}

/** 404 NotFound: `configmaps "x" not found`. */
export function notFoundError(ref: Ref, ctx: ErrorContext = {}): StatusError {
  return statusError(
    404,
    'NotFound',
    `${qualifiedResource(ref, ctx.plurals)} "${ref.name ?? ''}" not found`,
    ref,
    ctx,
  );
}

/** 409 AlreadyExists: `configmaps "x" already exists`. */
export function alreadyExistsError(ref: Ref, ctx: ErrorContext = {}): StatusError {
  return statusError(
    409,
    'AlreadyExists',
    `${qualifiedResource(ref, ctx.plurals)} "${ref.name ?? ''}" already exists`,
    ref,
    ctx,
  );
}

/**
 * 409 Conflict: `Operation cannot be fulfilled on deployments.apps "web": <why>`; by
 * default the message of a stale `resourceVersion`.
 */
export function conflictError(ref: Ref, why?: string, ctx: ErrorContext = {}): StatusError {
  const reason =
    why ?? 'the object has been modified; please apply your changes to the latest version and try again';
  return statusError(
    409,
    'Conflict',
    `Operation cannot be fulfilled on ${qualifiedResource(ref, ctx.plurals)} "${ref.name ?? ''}": ${reason}`,
    ref,
    ctx,
  );
}

/** 422 Invalid, named by kind as the API server does: `Deployment.apps "web" is invalid: <field>: <why>`. */
export function invalidError(ref: Ref, fieldMessage: string, ctx: ErrorContext = {}): StatusError {
  return statusError(
    422,
    'Invalid',
    `${groupKind(ref)} "${ref.name ?? ''}" is invalid: ${fieldMessage}`,
    ref,
    ctx,
  );
}

/** 404 for a path nothing serves, such as `/status` of a kind without that subresource. */
export function noSuchResourceError(ctx: ErrorContext = {}): StatusError {
  return statusError(404, 'NotFound', 'the server could not find the requested resource', undefined, ctx);
}

/** 403 Forbidden, the way RBAC words it. */
export function forbiddenError(
  ref: Ref,
  verb: string,
  ctx: ErrorContext & { user?: string } = {},
): StatusError {
  const user = ctx.user ?? 'system:serviceaccount:default:controller';
  const resource = qualifiedResource(ref, ctx.plurals);
  const scope = ref.namespace ? ` in the namespace "${ref.namespace}"` : ' at the cluster scope';
  return statusError(
    403,
    'Forbidden',
    `${resource}${ref.name ? ` "${ref.name}"` : ''} is forbidden: User "${user}" cannot ${verb} resource "${pluralOf(ref.kind, ctx.plurals)}" in API group "${parseApiVersion(ref.apiVersion).group}"${scope}`,
    ref,
    ctx,
  );
}

/** 400 BadRequest with `message`. */
export function badRequestError(message: string, ctx: ErrorContext = {}): StatusError {
  return statusError(400, 'BadRequest', message, undefined, ctx);
}

/** 500 InternalError: `Internal error occurred: <message>`. */
export function internalError(message: string, ctx: ErrorContext = {}): StatusError {
  return statusError(500, 'InternalError', `Internal error occurred: ${message}`, undefined, ctx);
}
