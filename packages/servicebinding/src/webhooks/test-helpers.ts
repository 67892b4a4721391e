// Shared by the webhook unit tests: run an AdmissionHandler the way the WebhookServer does.
import { Buffer } from 'node:buffer';
import type { KubeObject } from '@bindery/kube';
import type { AdmissionHandler, AdmissionRequest, AdmissionResponse } from '@bindery/runtime';
import { pino } from 'pino';

const log = pino({ level: 'silent' });

/** The handler as the test kit's `admissionWebhookTests` wants it: request in, response out. */
export function asReview(
  handler: AdmissionHandler,
): (request: AdmissionRequest) => Promise<AdmissionResponse> {
  return async (request) => {
    const warnings: string[] = [];
    const result = await handler.handle({
      request,
      path: '/test',
      log,
      signal: new AbortController().signal,
      warn: (m) => warnings.push(m),
      auditAnnotation: () => undefined,
    });
    const all = [...(result.warnings ?? []), ...warnings];
    return {
      uid: request.uid,
      allowed: result.allowed,
      ...(result.status ? { status: result.status } : {}),
      ...(result.patch?.length
        ? {
            patch: Buffer.from(JSON.stringify(result.patch)).toString('base64'),
            patchType: 'JSONPatch' as const,
          }
        : {}),
      ...(all.length ? { warnings: all } : {}),
    };
  };
}

/** An AdmissionRequest for `object` (kind and resource from its apiVersion/kind). */
export function request(
  operation: AdmissionRequest['operation'],
  object: KubeObject | undefined,
  extra: Partial<AdmissionRequest> & { resource?: string; oldObject?: KubeObject } = {},
): AdmissionRequest {
  const obj = object ?? extra.oldObject;
  const apiVersion = obj?.apiVersion ?? 'v1';
  const slash = apiVersion.indexOf('/');
  const group = slash < 0 ? '' : apiVersion.slice(0, slash);
  const version = apiVersion.slice(slash + 1);
  const kind = obj?.kind ?? '';
  const { resource, ...rest } = extra;
  return {
    uid: 'request-uid',
    kind: { group, version, kind },
    resource: { group, version, resource: resource ?? `${kind.toLowerCase()}s` },
    namespace: obj?.metadata.namespace ?? '',
    name: obj?.metadata.name ?? '',
    operation,
    userInfo: { username: 'alice' },
    ...(object ? { object } : {}),
    ...rest,
  };
}
