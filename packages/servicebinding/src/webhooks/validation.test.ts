import type { KubeObject } from '@bindery/kube';
import type { AdmissionRequest } from '@bindery/runtime';
import { admissionWebhookTests } from '@bindery/runtime/testing';
import { asReview, request } from './test-helpers.ts';
import { validateMappingWebhook, validateServiceBindingWebhook } from './validation.ts';

function binding(
  name: string,
  spec: Record<string, unknown> = {},
  extra: Record<string, unknown> = {},
): KubeObject {
  return {
    apiVersion: 'servicebinding.io/v1',
    kind: 'ServiceBinding',
    metadata: { namespace: 'default', name, ...extra },
    spec: {
      service: { apiVersion: 'v1', kind: 'Secret', name: 'db' },
      workload: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' },
      ...spec,
    },
  };
}

/** A CREATE with only generateName carries no name. */
function withoutName(r: AdmissionRequest): AdmissionRequest {
  const copy = { ...r };
  delete copy.name;
  return copy;
}

const traversal = binding('escape', { name: '../etc' });
const traversalLabelled = { ...traversal, metadata: { ...traversal.metadata, labels: { team: 'a' } } };

admissionWebhookTests('validate ServiceBinding with a deny list of variable names', {
  handler: () => asReview(validateServiceBindingWebhook({ deniedEnvNames: ['LD_PRELOAD'] })),
  rows: {
    'a binding that asks for a denied variable is allowed, with a warning naming it and its field': {
      request: request('CREATE', binding('preload', { env: [{ name: 'LD_PRELOAD', key: 'lib' }] })),
      expectResponse: {
        allowed: true,
        warnings: [
          'spec.env[0].name: "LD_PRELOAD" is on the manager\'s deny list of variable names (--deny-env): the binding is not projected',
        ],
      },
    },
    'one that does not is allowed without a warning': {
      request: request('UPDATE', binding('ok', { env: [{ name: 'PRELOAD', key: 'LD_PRELOAD' }] }), {
        oldObject: binding('ok'),
      }),
      expectResponse: { allowed: true, warnings: [] },
    },
    'an invalid binding is refused as before, without the warning': {
      request: request('CREATE', binding('both', { name: '..', env: [{ name: 'LD_PRELOAD', key: 'lib' }] })),
      expectResponse: { allowed: false, status: { code: 422, message: /spec\.name/ }, warnings: [] },
    },
  },
});

admissionWebhookTests('validate ServiceBinding', {
  handler: () => asReview(validateServiceBindingWebhook()),
  rows: {
    'a valid binding is allowed': { request: request('CREATE', binding('ok')) },
    'WP-2 a binding name that escapes SERVICE_BINDING_ROOT is refused, naming spec.name': {
      request: request('CREATE', traversal),
      expectResponse: {
        allowed: false,
        status: {
          code: 422,
          reason: 'Invalid',
          message:
            /^ServiceBinding\.servicebinding\.io "escape" is invalid: spec\.name: Invalid value: "\.\.\/etc"/,
        },
      },
    },
    'SB-6 name and selector together are refused, naming the field': {
      request: request(
        'CREATE',
        binding('both', {
          workload: {
            apiVersion: 'apps/v1',
            kind: 'Deployment',
            name: 'web',
            selector: { matchLabels: { a: 'b' } },
          },
        }),
      ),
      expectResponse: { allowed: false, status: { code: 422, message: /spec\.workload/ } },
    },
    'metadata that is not an object is refused with the field, not a crash (found by the fuzz suite)': {
      request: withoutName({
        ...request('CREATE', binding('x')),
        object: { ...binding('x'), metadata: null },
      }),
      expectResponse: {
        allowed: false,
        status: {
          code: 422,
          message: /^ServiceBinding\.servicebinding\.io "" is invalid: spec\.name: Required value/,
        },
      },
    },
    'ratchet: an old invalid binding can still be updated when the problem is not new (finalizer removal)': {
      request: request('UPDATE', traversalLabelled, { oldObject: traversal }),
    },
    'ratchet: a new problem on update is refused': {
      request: request('UPDATE', binding('ok', { name: '..' }), { oldObject: binding('ok') }),
      expectResponse: { allowed: false, status: { code: 422, message: /spec\.name/ } },
    },
    'the workload kind is immutable': {
      request: request(
        'UPDATE',
        binding('ok', { workload: { apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'web' } }),
        {
          oldObject: binding('ok'),
        },
      ),
      expectResponse: { allowed: false, status: { code: 422, message: /spec\.workload\.kind/ } },
    },
    'DELETE is always allowed': { request: request('DELETE', undefined, { oldObject: traversal }) },
    'a status update is always allowed': {
      request: request('UPDATE', traversal, { oldObject: traversal, subResource: 'status' }),
    },
    'an update of a binding being deleted is always allowed': {
      request: request('UPDATE', binding('gone', { name: '..' }), {
        oldObject: binding('gone', { name: '.' }, { deletionTimestamp: '2026-01-01T00:00:00Z' }),
      }),
    },
  },
});

const mapping = (path: string): KubeObject => ({
  apiVersion: 'servicebinding.io/v1',
  kind: 'ClusterWorkloadResourceMapping',
  metadata: { name: 'runners.example.com' },
  spec: { versions: [{ version: '*', volumes: path }] },
});

admissionWebhookTests('validate ClusterWorkloadResourceMapping', {
  handler: () => asReview(validateMappingWebhook()),
  rows: {
    'a valid mapping is allowed': { request: request('CREATE', mapping('.spec.volumes')) },
    'FJ-1 a volumes path that is not a Fixed JSONPath is refused, naming the field': {
      request: request('CREATE', mapping('.spec.volumes[*]')),
      expectResponse: { allowed: false, status: { code: 422, message: /spec\.versions\[0\]\.volumes/ } },
    },
    'ratchet: an already invalid mapping can be updated': {
      request: request(
        'UPDATE',
        { ...mapping('.spec.volumes[*]'), metadata: { name: 'runners.example.com', labels: { a: 'b' } } },
        {
          oldObject: mapping('.spec.volumes[*]'),
        },
      ),
    },
  },
});
