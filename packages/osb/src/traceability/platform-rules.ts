// The platform-side MUST/SHOULD rules of OSB 2.17 that the instance and credential-binding
// controllers answer, in our own words. A test whose name carries an id checks the rule; the table
// in docs/osb.md is generated from these and the test names (cli-gen-traceability.ts).

export interface PlatformRule {
  id: string;
  level: 'MUST' | 'MUST NOT' | 'SHOULD' | 'SHOULD NOT' | 'MAY';
  section: string;
  text: string;
}

export const platformRules: readonly PlatformRule[] = [
  {
    id: 'OSBP-1',
    level: 'MUST',
    section: 'Headers',
    text: 'Every request carries `X-Broker-API-Version` (2.17).',
  },
  {
    id: 'OSBP-2',
    level: 'SHOULD',
    section: 'Headers',
    text: 'A platform that supports request identity sends `X-Broker-API-Request-Identity` on every request.',
  },
  {
    id: 'OSBP-3',
    level: 'MUST',
    section: 'Headers',
    text: 'User-initiated requests carry `X-Broker-API-Originating-Identity`: `kubernetes` and the base64 JSON of username, uid, groups and extra of the user who asked.',
  },
  {
    id: 'OSBP-4',
    level: 'SHOULD',
    section: 'Orphan mitigation',
    text: 'Orphan-mitigation requests are not attributed to a user (no originating identity).',
  },
  {
    id: 'OSBP-5',
    level: 'MUST',
    section: 'Context (Kubernetes profile)',
    text: '`context` carries `platform: kubernetes`, `namespace`, `clusterid` and, for instances, `instance_name`; the originating identity names the same platform.',
  },
  {
    id: 'OSBP-6',
    level: 'MUST',
    section: 'Provisioning',
    text: 'Provision sends `service_id` and `plan_id` of the catalog entries (and the deprecated `organization_guid` and `space_guid`).',
  },
  {
    id: 'OSBP-7',
    level: 'MUST',
    section: 'Schemas',
    text: 'Parameters are checked against the plan schema (JSON Schema draft-04 at least) before the broker is asked.',
  },
  {
    id: 'OSBP-8',
    level: 'MUST',
    section: 'Provisioning',
    text: 'The `dashboard_url` of the first (possibly asynchronous) answer is kept.',
  },
  {
    id: 'OSBP-9',
    level: 'MUST',
    section: 'Asynchronous operations',
    text: 'A 202 is followed by `last_operation` polls until `succeeded` or `failed`; the `operation` the broker returned is echoed on every poll.',
  },
  {
    id: 'OSBP-10',
    level: 'SHOULD',
    section: 'Polling last operation',
    text: 'Polls carry `service_id` and `plan_id`; for an update, the plan before it.',
  },
  {
    id: 'OSBP-11',
    level: 'SHOULD',
    section: 'Polling last operation',
    text: 'The `Retry-After` of a `last_operation` answer (seconds or HTTP-date) sets the next poll.',
  },
  {
    id: 'OSBP-12',
    level: 'MUST',
    section: 'Polling last operation',
    text: 'Once `maximum_polling_duration` (or the platform limit) is reached, polling stops and the operation counts as failed.',
  },
  {
    id: 'OSBP-13',
    level: 'MUST',
    section: 'Polling last operation',
    text: '410 from `last_operation` means success only for a delete; other answers are read as "keep polling".',
  },
  {
    id: 'OSBP-14',
    level: 'MUST NOT',
    section: 'Updating',
    text: 'A plan is changed only where `plan_updateable` (the plan overriding the offering) allows it.',
  },
  {
    id: 'OSBP-15',
    level: 'SHOULD',
    section: 'Updating',
    text: 'An update sends `plan_id` only when the plan changes, the parameters only when they change, and `previous_values`.',
  },
  {
    id: 'OSBP-16',
    level: 'MUST',
    section: 'Deprovisioning',
    text: 'Every binding of an instance is deleted before the instance is deprovisioned.',
  },
  {
    id: 'OSBP-17',
    level: 'MUST',
    section: 'Deprovisioning',
    text: 'Deprovision and unbind send `service_id` and `plan_id`; 200 and 410 are success, anything else keeps the resource and is retried.',
  },
  {
    id: 'OSBP-18',
    level: 'MUST NOT',
    section: 'Binding',
    text: 'Only bindable plans are bound (the plan overriding the offering).',
  },
  {
    id: 'OSBP-19',
    level: 'MUST',
    section: 'Binding',
    text: 'An asynchronous bind needs `bindings_retrievable`; its credentials are fetched with GET binding after `succeeded`.',
  },
  {
    id: 'OSBP-20',
    level: 'MUST',
    section: 'Binding',
    text: 'Credentials are kept when first received (a broker may return them once); a credential that is not an object is an error.',
  },
  {
    id: 'OSBP-21',
    level: 'MUST',
    section: 'Binding rotation',
    text: 'A rotation binds a new binding id with `predecessor_binding_id`, only for `binding_rotatable` plans; the predecessor stays valid until it is unbound.',
  },
  {
    id: 'OSBP-22',
    level: 'MUST',
    section: 'Orphan mitigation',
    text: 'A provision or bind answered with a 5xx is orphan-mitigated (DELETE of what it may have made).',
  },
  {
    id: 'OSBP-23',
    level: 'MUST',
    section: 'Orphan mitigation',
    text: 'A provision or bind that timed out is orphan-mitigated; other requests that timed out are not.',
  },
  {
    id: 'OSBP-24',
    level: 'MUST',
    section: 'Orphan mitigation',
    text: 'A malformed 201 or 202 to a provision or bind is a failure that is orphan-mitigated; a malformed 200 is a failure without.',
  },
  {
    id: 'OSBP-25',
    level: 'MUST',
    section: 'Orphan mitigation',
    text: 'Another 2xx to a provision, deprovision, bind or unbind is a failure that is orphan-mitigated.',
  },
  {
    id: 'OSBP-26',
    level: 'MUST',
    section: 'Orphan mitigation',
    text: 'A `last_operation` of `failed` for a provision, deprovision, bind or unbind is orphan-mitigated.',
  },
  {
    id: 'OSBP-27',
    level: 'MUST NOT',
    section: 'Orphan mitigation',
    text: 'A 408 is not orphan-mitigated: the broker did not receive the request.',
  },
  {
    id: 'OSBP-28',
    level: 'MUST NOT',
    section: 'Orphan mitigation',
    text: 'Another 4xx is not orphan-mitigated: the broker left everything as it was.',
  },
  {
    id: 'OSBP-29',
    level: 'MUST NOT',
    section: 'Orphan mitigation',
    text: 'An update is never orphan-mitigated, whatever the answer.',
  },
  {
    id: 'OSBP-30',
    level: 'MUST',
    section: 'Orphan mitigation',
    text: 'Orphan mitigation repeats the DELETE until the broker answers 200 or 410.',
  },
  {
    id: 'OSBP-31',
    level: 'MUST NOT',
    section: 'Errors',
    text: '422 `ConcurrencyError`: wait and retry; never orphan-mitigate.',
  },
  {
    id: 'OSBP-32',
    level: 'MUST NOT',
    section: 'Provisioning',
    text: '409 to a provision or bind (the id exists with other attributes) is a conflict: never orphan-mitigated, not retried.',
  },
];
