// Who asked, and where: the `X-Broker-API-Originating-Identity` header of the Kubernetes profile
// (`kubernetes <base64 of {username, uid, groups, extra}>`), the user recorded at admission by a
// mutating webhook (as Service Catalog did: the controller itself only knows its own identity), and
// the Kubernetes `context` object of provision, update and bind requests.

import type { KubeObject } from '@bindery/kube';
import { deepEqual, mutating } from '@bindery/runtime';
import type { AdmissionHandler, AdmissionUserInfo } from '@bindery/runtime';

/** `context.platform` and the originating identity's platform: they MUST be equal. */
export const platform = 'kubernetes';

/** The header value for `user`; `undefined` when no user was recorded (the header is then omitted). */
export function originatingIdentity(user: AdmissionUserInfo | undefined): string | undefined {
  if (user?.username === undefined) return undefined;
  // The profile requires all four properties to appear.
  const value = {
    username: user.username,
    uid: user.uid ?? '',
    groups: user.groups ?? [],
    extra: user.extra ?? {},
  };
  return `${platform} ${Buffer.from(JSON.stringify(value), 'utf8').toString('base64')}`;
}

export interface KubernetesContextInput {
  namespace: string;
  clusterID: string;
  /** Provision and update: the instance's name (required there, optional for bind). */
  instanceName?: string;
  instanceAnnotations?: Record<string, string> | undefined;
  namespaceAnnotations?: Record<string, string> | undefined;
}

/** The `context` of the Kubernetes profile (OSB 2.17 profile.md). */
export function kubernetesContext(input: KubernetesContextInput): Record<string, unknown> {
  const context: Record<string, unknown> = {
    platform,
    namespace: input.namespace,
    clusterid: input.clusterID,
  };
  if (input.instanceName !== undefined) context['instance_name'] = input.instanceName;
  if (input.instanceAnnotations && Object.keys(input.instanceAnnotations).length > 0) {
    context['instance_annotations'] = input.instanceAnnotations;
  }
  if (input.namespaceAnnotations && Object.keys(input.namespaceAnnotations).length > 0) {
    context['namespace_annotations'] = input.namespaceAnnotations;
  }
  return context;
}

type WithUserInfo = KubeObject & { spec?: Record<string, unknown> };

/**
 * A mutating admission handler for ServiceInstance and ServiceCredentialBinding: records the
 * requesting user in `spec.userInfo` on create and whenever the rest of the spec changes, and keeps
 * the recorded user otherwise, so nobody can claim another user's identity by writing the field.
 */
export function userInfoRecorder(): AdmissionHandler {
  return mutating<WithUserInfo>((object, ctx) => {
    const { operation, userInfo, oldObject } = ctx.request;
    if (operation !== 'CREATE' && operation !== 'UPDATE') return;
    const spec = (object.spec ??= {});
    const oldSpec = oldObject?.spec;
    const changed =
      operation === 'CREATE' || !deepEqual(withoutUserInfo(spec), withoutUserInfo(oldSpec ?? {}));
    if (changed) {
      spec['userInfo'] = recorded(userInfo);
    } else if (oldSpec?.['userInfo'] !== undefined) {
      spec['userInfo'] = oldSpec['userInfo'];
    } else {
      delete spec['userInfo'];
    }
  });
}

function recorded(user: AdmissionUserInfo): AdmissionUserInfo {
  const out: AdmissionUserInfo = {};
  if (user.username !== undefined) out.username = user.username;
  if (user.uid !== undefined) out.uid = user.uid;
  if (user.groups !== undefined) out.groups = [...user.groups];
  if (user.extra !== undefined)
    out.extra = Object.fromEntries(Object.entries(user.extra).map(([k, v]) => [k, [...v]]));
  return out;
}

function withoutUserInfo(spec: Record<string, unknown>): Record<string, unknown> {
  const { userInfo: _ignored, ...rest } = spec;
  return rest;
}
