// Fuzz (issue 8): generated AdmissionReviews, ServiceBindings, mappings, JSONPaths and stash
// annotations through validation, the interceptor and the projector. No crash (only the errors
// each layer documents), no hang (every call within BUDGET_MS), every rejection names a field.
// FUZZ_RUNS sets the runs per property (default 10,000); FUZZ_SEED replays a failure.

import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { KubeObject } from '@bindery/kube';
import type { AdmissionRequest, AdmissionResponse } from '@bindery/runtime';
import {
  FixedJsonPathError,
  parseFixedJsonPath,
  validateClusterWorkloadResourceMapping,
  validateServiceBinding,
} from './apis/index.ts';
import type { FieldError, ServiceBinding } from './apis/index.ts';
import { JsonPathError, JsonPathLimitError } from './projector/jsonpath/error.ts';
import { evaluateJsonPath, parseJsonPath } from './projector/jsonpath/full.ts';
import { ProjectionError, project, unproject } from './projector/index.ts';
import type { MappingSpec } from './projector/index.ts';
import { ServiceBindingIndex } from './webhooks/binding-index.ts';
import { interceptor } from './webhooks/interceptor.ts';
import { asReview } from './webhooks/test-helpers.ts';
import { validateMappingWebhook, validateServiceBindingWebhook } from './webhooks/validation.ts';

const numRuns = Number(process.env['FUZZ_RUNS'] ?? 10_000);
const seed = process.env['FUZZ_SEED'] === undefined ? undefined : Number(process.env['FUZZ_SEED']);
const params = { numRuns, ...(seed === undefined ? {} : { seed }) };
/** Per call: generous, for a loaded 2-core machine; a hang or a blow-up takes far longer. */
const BUDGET_MS = 2000;

function timed<T>(what: string, fn: () => T): T {
  const start = performance.now();
  try {
    return fn();
  } finally {
    const ms = performance.now() - start;
    assert.ok(ms < BUDGET_MS, `${what} took ${ms.toFixed(0)} ms`);
  }
}

async function timedAsync<T>(what: string, fn: () => Promise<T>): Promise<T> {
  const start = performance.now();
  try {
    return await fn();
  } finally {
    const ms = performance.now() - start;
    assert.ok(ms < BUDGET_MS, `${what} took ${ms.toFixed(0)} ms`);
  }
}

// ---- Generators ---------------------------------------------------------------------------------

/** Through JSON, like everything from the API server (fast-check builds null-prototype records). */
const viaJson = <T>(value: T): T => JSON.parse(JSON.stringify(value) ?? 'null') as T;

const junk = fc.jsonValue({ maxDepth: 3 });
const PIECES = [
  '.',
  '..',
  '[',
  ']',
  '[*]',
  '.*',
  "'",
  '"',
  '$',
  '@',
  ',',
  ':',
  '?(',
  ')',
  '==',
  '!=',
  '<',
  ' ',
  '\\',
  '{',
  '}',
  '0',
  '-1',
  '1:',
  '::2',
  'spec',
  'template',
  'containers',
  'initContainers',
  'name',
  'env',
  'metadata',
  'annotations',
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  "['a.b']",
  '[0,0,0]',
  "['spec','spec']",
  '[?(@.name=="app")]',
  'true',
  'null',
  '1e3',
];
/** Strings near the grammar, arbitrary text, and now and then something very long. */
const jsonPathText = fc.oneof(
  { weight: 6, arbitrary: fc.array(fc.constantFrom(...PIECES), { maxLength: 24 }).map((p) => p.join('')) },
  { weight: 2, arbitrary: fc.string({ maxLength: 40 }) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(
        fc.constantFrom("['spec','spec']", '..*', '[0,0]', '.a', '..'),
        fc.integer({ min: 50, max: 400 }),
      )
      .map(([p, n]) => p.repeat(n)),
  },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      '.spec.template.spec.containers[*]',
      '.spec.template.spec.initContainers[*]',
      '.spec.jobTemplate.spec.template.spec.containers[*]',
      '..containers[*]',
      '.spec.template.spec.containers[?(@.name=="app")]',
    ),
  },
);
const fixedPathText = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      '.spec.template.metadata.annotations',
      '.spec.template.spec.volumes',
      '.env',
      '.volumeMounts',
      '.name',
    ),
  },
  { weight: 3, arbitrary: jsonPathText },
);

const documentLike = fc.oneof(
  junk,
  fc.record({
    spec: fc.record({
      template: fc.record({ spec: fc.record({ containers: fc.array(junk, { maxLength: 4 }) }) }),
    }),
  }),
);

const mappingTemplate = fc.record(
  {
    version: fc.oneof(fc.constantFrom('*', 'v1', 'v2', '', 'V1', 'apps/v1'), junk),
    annotations: fc.oneof(fixedPathText, junk),
    volumes: fixedPathText,
    containers: fc.oneof(
      fc.array(
        fc.record(
          {
            path: fc.oneof({ weight: 5, arbitrary: jsonPathText }, { weight: 1, arbitrary: junk }),
            name: fixedPathText,
            env: fixedPathText,
            volumeMounts: fixedPathText,
          },
          { requiredKeys: [] },
        ),
        { maxLength: 3 },
      ),
      junk,
    ),
  },
  { requiredKeys: [] },
);
const mappingSpec = fc.record(
  { versions: fc.oneof(fc.array(mappingTemplate, { maxLength: 3 }), junk) },
  { requiredKeys: [] },
);
/** A mapping as the API server stores it: its CRD schema makes every field a string. */
const typedMappingSpec = fc.record(
  {
    versions: fc.array(
      fc.record(
        {
          version: fc.constantFrom('*', 'v1', 'v2', ''),
          annotations: fixedPathText,
          volumes: fixedPathText,
          containers: fc.array(
            fc.record(
              { path: jsonPathText, name: fixedPathText, env: fixedPathText, volumeMounts: fixedPathText },
              { requiredKeys: ['path'] },
            ),
            { maxLength: 3 },
          ),
        },
        { requiredKeys: ['version'] },
      ),
      { maxLength: 3 },
    ),
  },
  { requiredKeys: [] },
);
const mapping = fc
  .record({
    name: fc.oneof(
      fc.constantFrom('deployments.apps', 'cronjobs.batch', 'x', ''),
      fc.string({ maxLength: 20 }),
    ),
    spec: fc.oneof({ weight: 8, arbitrary: mappingSpec }, { weight: 1, arbitrary: junk }),
  })
  .map(({ name, spec }) =>
    viaJson({
      apiVersion: 'servicebinding.io/v1',
      kind: 'ClusterWorkloadResourceMapping',
      metadata: { name },
      spec,
    }),
  );

const dnsName = fc.oneof(fc.constantFrom('web', 'db', 'my-binding', 'a.b', ''), fc.string({ maxLength: 12 }));
const ref = (kinds: string[]) =>
  fc.record(
    {
      apiVersion: fc.oneof(
        fc.constantFrom('v1', 'apps/v1', 'batch/v1', 'example.com/v1', '/', ''),
        fc.string({ maxLength: 10 }),
      ),
      kind: fc.oneof(fc.constantFrom(...kinds), fc.string({ maxLength: 10 })),
      name: dnsName,
      selector: fc.oneof(
        fc.record({
          matchLabels: fc.dictionary(fc.constantFrom('app', 'tier', 'x/y', ''), fc.string({ maxLength: 6 })),
        }),
        fc.record({
          matchExpressions: fc.array(
            fc.record({
              key: fc.constantFrom('app', 'tier', '!'),
              operator: fc.constantFrom('In', 'NotIn', 'Exists', 'Bogus'),
              values: fc.array(fc.string({ maxLength: 4 }), { maxLength: 2 }),
            }),
            { maxLength: 2 },
          ),
        }),
        junk,
      ),
      containers: fc.array(fc.string({ maxLength: 6 }), { maxLength: 2 }),
    },
    { requiredKeys: ['apiVersion', 'kind'] },
  );
const binding = fc
  .record({
    name: dnsName,
    // The API server sets a uid on every object.
    uid: fc.constantFrom('uid-1', 'uid-2'),
    spec: fc.record(
      {
        name: dnsName,
        type: fc.string({ maxLength: 8 }),
        provider: fc.string({ maxLength: 8 }),
        service: ref(['Secret', 'AccountService']),
        workload: ref(['Deployment', 'CronJob', 'Job']),
        env: fc.array(
          fc.record(
            { name: fc.string({ maxLength: 6 }), key: fc.string({ maxLength: 6 }) },
            { requiredKeys: [] },
          ),
          { maxLength: 3 },
        ),
      },
      { requiredKeys: ['service', 'workload'] },
    ),
    status: fc.option(
      fc.record({
        binding: fc.record({ name: fc.oneof(fc.constant('db-secret'), fc.string({ maxLength: 8 })) }),
      }),
      { nil: undefined },
    ),
    deleting: fc.boolean(),
    annotations: fc.option(fc.constant({ 'servicebinding.io/rollout': 'true' }), { nil: undefined }),
  })
  .map(
    ({ name, uid, spec, status, deleting, annotations }) =>
      viaJson({
        apiVersion: 'servicebinding.io/v1',
        kind: 'ServiceBinding',
        metadata: {
          namespace: 'default',
          name,
          uid,
          ...(annotations ? { annotations } : {}),
          ...(deleting ? { deletionTimestamp: '2026-01-01T00:00:00Z' } : {}),
        },
        spec,
        ...(status ? { status } : {}),
      }) as ServiceBinding,
  );

/**
 * A binding with one field replaced by anything: the CRD schema keeps such objects out of the
 * API server, but a webhook may see them first.
 */
const anyBinding = fc
  .tuple(
    binding,
    fc.constantFrom(
      'spec',
      'spec.env',
      'spec.workload',
      'spec.service',
      'spec.workload.selector',
      'metadata',
      'status',
    ),
    junk,
  )
  .map(([b, path, value]) => {
    const copy = structuredClone(b) as unknown as Record<string, unknown>;
    const keys = path.split('.');
    let at: Record<string, unknown> = copy;
    for (const k of keys.slice(0, -1)) {
      const next = at[k];
      if (typeof next !== 'object' || next === null) return copy as unknown as ServiceBinding;
      at = next as Record<string, unknown>;
    }
    at[keys.at(-1) ?? 'spec'] = value;
    return viaJson(copy) as unknown as ServiceBinding;
  });

/** What a workload writer may put in the stash: a mapping, almost JSON, or anything. */
const stash = fc.oneof(
  { weight: 4, arbitrary: mappingSpec.map((s) => JSON.stringify(s)) },
  { weight: 1, arbitrary: mappingSpec.map((s) => JSON.stringify(s).slice(0, -3)) },
  { weight: 1, arbitrary: fc.string({ maxLength: 30 }) },
  { weight: 1, arbitrary: junk },
);

const workload = fc
  .record({
    kind: fc.constantFrom('Deployment', 'CronJob', 'Job'),
    name: fc.constantFrom('web', 'db', 'api'),
    labels: fc.dictionary(fc.constantFrom('app', 'tier'), fc.constantFrom('web', 'db')),
    stashes: fc.dictionary(fc.constantFrom('uid-1', 'uid-2'), stash, { maxKeys: 2 }),
    containers: fc.oneof(
      fc.array(
        fc.record(
          { name: fc.constantFrom('app', 'side'), env: fc.oneof(fc.constant([]), junk) },
          { requiredKeys: ['name'] },
        ),
        { maxLength: 3 },
      ),
      junk,
    ),
    extra: junk,
  })
  .map(({ kind, name, labels, stashes, containers, extra }) => {
    const annotations = Object.fromEntries(
      Object.entries(stashes).map(([uid, s]) => [`projector.servicebinding.io/mapping-${uid}`, s]),
    );
    const podSpec = { containers, 'x-extra': extra };
    const spec =
      kind === 'CronJob'
        ? { jobTemplate: { spec: { template: { spec: podSpec } } } }
        : { template: { metadata: { annotations: {} }, spec: podSpec } };
    return viaJson({
      apiVersion: kind === 'Deployment' ? 'apps/v1' : 'batch/v1',
      kind,
      metadata: { namespace: 'default', name, labels, annotations },
      spec,
    }) as KubeObject;
  });

function review(
  operation: AdmissionRequest['operation'],
  object: KubeObject | undefined,
  oldObject: KubeObject | undefined,
  resource: string,
  subResource: string | undefined,
): AdmissionRequest {
  const apiVersion = object?.apiVersion ?? oldObject?.apiVersion ?? 'v1';
  const slash = apiVersion.indexOf('/');
  const group = slash < 0 ? '' : apiVersion.slice(0, slash);
  const version = apiVersion.slice(slash + 1);
  const kind = object?.kind ?? oldObject?.kind ?? 'Unknown';
  return {
    uid: 'fuzz',
    kind: { group, version, kind },
    resource: { group, version, resource },
    namespace: 'default',
    // Absent when the client set only generateName (and here when metadata is not an object).
    ...nameOf(object ?? oldObject),
    operation,
    userInfo: { username: 'fuzz' },
    ...(object ? { object } : {}),
    ...(oldObject ? { oldObject } : {}),
    ...(subResource === undefined ? {} : { subResource }),
  };
}

function nameOf(obj: KubeObject | undefined): { name?: string } {
  const metadata: unknown = obj?.metadata;
  const name: unknown =
    typeof metadata === 'object' && metadata !== null ? (metadata as { name?: unknown }).name : undefined;
  return typeof name === 'string' ? { name } : {};
}

const operation = fc.constantFrom<AdmissionRequest['operation']>('CREATE', 'UPDATE', 'DELETE', 'CONNECT');

// ---- Properties ---------------------------------------------------------------------------------

function assertNamesFields(errors: FieldError[]): void {
  for (const e of errors) {
    assert.equal(typeof e.field, 'string');
    assert.ok(e.field.length > 0, `an error without a field: ${JSON.stringify(e)}`);
    assert.ok(e.detail.length > 0, `an error without a detail: ${JSON.stringify(e)}`);
    assert.ok(e.detail.length + e.field.length < 2048, `an unbounded message: ${e.field}`);
  }
}

function assertRejectionNamesField(response: AdmissionResponse): void {
  if (response.allowed) return;
  assert.equal(response.status?.code, 422);
  // `Kind.group "name" is invalid: spec.x: Invalid value: …` or `[spec.x: …, metadata.name: …]`.
  assert.match(response.status?.message ?? '', / is invalid: \[?(<object>|[a-z][^:]*): /);
}

describe(`fuzz: untrusted input (${numRuns} runs per property)`, () => {
  it('JSONPaths: parse or a JsonPathError; evaluate or a JsonPathLimitError; never a walk into the prototype', () => {
    fc.assert(
      fc.property(jsonPathText, documentLike, (text, doc) => {
        let path;
        try {
          path = timed(`parseJsonPath(${JSON.stringify(text.slice(0, 80))})`, () => parseJsonPath(text));
        } catch (err) {
          assert.ok(err instanceof JsonPathError, `parse threw ${String(err)}`);
          return;
        }
        const root = viaJson(doc);
        try {
          const found = timed(`evaluate ${JSON.stringify(text.slice(0, 80))}`, () =>
            evaluateJsonPath(root, path),
          );
          for (const v of found) assert.ok(v !== Object.prototype && v !== Function.prototype);
        } catch (err) {
          assert.ok(err instanceof JsonPathLimitError, `evaluate threw ${String(err)}`);
        }
        try {
          parseFixedJsonPath(text);
        } catch (err) {
          assert.ok(err instanceof FixedJsonPathError, `parseFixedJsonPath threw ${String(err)}`);
        }
      }),
      params,
    );
  });

  it('validation: ServiceBindings and mappings are valid or rejected with errors that name the field', () => {
    fc.assert(
      fc.property(fc.oneof(binding, anyBinding), mapping, (b, m) => {
        assertNamesFields(timed('validateServiceBinding', () => validateServiceBinding(b)));
        assertNamesFields(
          timed('validateClusterWorkloadResourceMapping', () => validateClusterWorkloadResourceMapping(m)),
        );
      }),
      params,
    );
  });

  it('validating webhooks: any AdmissionReview is answered, and a rejection names the field', async () => {
    const bindings = asReview(validateServiceBindingWebhook());
    const mappings = asReview(validateMappingWebhook());
    await fc.assert(
      fc.asyncProperty(
        operation,
        fc.option(fc.oneof(binding, anyBinding), { nil: undefined }),
        fc.option(fc.oneof(binding, anyBinding), { nil: undefined }),
        fc.option(mapping, { nil: undefined }),
        fc.option(fc.constantFrom('status', 'finalizers', ''), { nil: undefined }),
        async (op, b, oldB, m, sub) => {
          const r1 = await timedAsync('ServiceBinding webhook', () =>
            bindings(review(op, b, oldB, 'servicebindings', sub)),
          );
          assertRejectionNamesField(r1);
          const r2 = await timedAsync('mapping webhook', () =>
            mappings(
              review(op, m as KubeObject | undefined, undefined, 'clusterworkloadresourcemappings', sub),
            ),
          );
          assertRejectionNamesField(r2);
        },
      ),
      params,
    );
  });

  it('interceptor: any workload, stash, binding and mapping is admitted, never refused nor crashed', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(binding, { maxLength: 3 }),
        operation,
        workload,
        fc.option(workload, { nil: undefined }),
        fc.option(typedMappingSpec, { nil: undefined }),
        async (bs, op, obj, old, spec) => {
          const index = new ServiceBindingIndex();
          for (const b of bs) index.upsert(b);
          const handle = asReview(
            interceptor({ index, mapping: () => Promise.resolve(viaJson(spec) as MappingSpec | undefined) }),
          );
          const resource = `${obj.kind?.toLowerCase() ?? ''}s`;
          const response = await timedAsync('interceptor', () =>
            handle(review(op, obj, old, resource, undefined)),
          );
          assert.equal(response.allowed, true);
          for (const w of response.warnings ?? []) assert.ok(w.length <= 240, 'a warning is bounded');
        },
      ),
      params,
    );
  });

  it('projector: project and unproject return a workload or a ProjectionError naming what is wrong', () => {
    fc.assert(
      fc.property(binding, workload, fc.option(typedMappingSpec, { nil: undefined }), (b, w, spec) => {
        const m = viaJson(spec) as MappingSpec | undefined;
        for (const run of [() => project(b, w, m, b.status?.binding?.name), () => unproject(b, w, m)]) {
          try {
            timed('project/unproject', run);
          } catch (err) {
            assert.ok(err instanceof ProjectionError, `threw ${String(err)}`);
            assert.ok(err.message.length > 0);
            assert.ok(err.message.length < 4096, 'a bounded message');
          }
        }
      }),
      params,
    );
  });
});
