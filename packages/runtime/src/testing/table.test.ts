import assert from 'node:assert/strict';
import { AssertionError } from 'node:assert';
import { describe, it } from 'node:test';
import { isNotFound } from '@bindery/kube';
import type { KubeObject, ObjectRef } from '@bindery/kube';
import type { Reconciler, SubReconciler } from '../reconciler.ts';
import { StashKey } from '../stash.ts';
import type { AdmissionRequest } from '../webhook/types.ts';
import { conflictError, forbiddenError } from './errors.ts';
import { newDeleteRef, stashed } from './expect.ts';
import type { Reactor } from './actions.ts';
import { newEvent } from './recorder.ts';
import { admissionWebhookTests, runAdmissionWebhookTestCase } from './admission-table.ts';
import type { AdmissionHandler, AdmissionWebhookTestCase } from './admission-table.ts';
import {
  reconcilerTests,
  runReconcilerTestCase,
  runSubReconcilerTestCase,
  subReconcilerTests,
} from './table.ts';
import type { ReconcilerTestCase, SubReconcilerTestCase } from './table.ts';
import type { TestConfig } from './config.ts';
import { newTrackRequest } from './tracker.ts';

// A tiny controller to drive the runners: a Widget names a ConfigMap and a key;
// the sub-reconciler copies that key's value into the Widget's status, and the
// whole reconciler also keeps a child ConfigMap `<name>-copy` holding the value.

interface Widget extends KubeObject {
  spec?: { configMapName?: string; key?: string };
  status?: { value?: string; message?: string; observedGeneration?: number };
}

const ValueKey = new StashKey<string>('value');

function refTo(obj: KubeObject): ObjectRef {
  return {
    apiVersion: obj.apiVersion ?? '',
    kind: obj.kind ?? '',
    name: obj.metadata.name ?? '',
    ...(obj.metadata.namespace ? { namespace: obj.metadata.namespace } : {}),
  };
}

function copyValue(): SubReconciler<Widget> {
  return {
    name: 'CopyValue',
    async reconcile(ctx, widget) {
      const name = widget.spec?.configMapName ?? '';
      const key = widget.spec?.key ?? '';
      const ref: ObjectRef = {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        namespace: widget.metadata.namespace ?? '',
        name,
      };
      ctx.config.tracker.trackReference(ref, refTo(widget));
      let configMap: KubeObject;
      try {
        configMap = await ctx.config.client.get(ref);
      } catch (err) {
        if (!isNotFound(err)) throw err;
        widget.status = { ...widget.status, message: `ConfigMap ${name} not found` };
        delete widget.status.value;
        return { requeueAfterMs: 30_000 };
      }
      const value = (configMap['data'] as Record<string, string> | undefined)?.[key];
      widget.status = { ...widget.status, ...(value !== undefined ? { value } : {}) };
      delete widget.status.message;
      if (value !== undefined) ctx.stash.set(ValueKey, value);
      ctx.config.recorder.event(widget, {
        type: 'Normal',
        reason: 'Copied',
        note: `Copied ${key} from ConfigMap ${name}`,
      });
    },
  };
}

function widgetReconciler(): Reconciler {
  const sub = copyValue();
  return {
    name: 'Widget',
    async reconcile(ctx, request) {
      const { client } = ctx.config;
      let widget: Widget;
      try {
        widget = await client.get<Widget>({ apiVersion: 'example.com/v1', kind: 'Widget', ...request });
      } catch (err) {
        if (isNotFound(err)) return {};
        throw err;
      }
      const original = structuredClone(widget);
      const result = await sub.reconcile(
        { ...ctx, resourceType: { apiVersion: 'example.com/v1', kind: 'Widget' } },
        widget,
      );
      const value = widget.status?.value;
      const childRef: ObjectRef = {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        namespace: widget.metadata.namespace ?? '',
        name: `${widget.metadata.name ?? ''}-copy`,
      };
      let child: KubeObject | undefined;
      try {
        child = await client.get(childRef);
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
      if (value === undefined) {
        if (child) await client.delete(childRef);
      } else if (!child) {
        await client.create({
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: {
            name: childRef.name,
            namespace: childRef.namespace ?? '',
            ownerReferences: [
              {
                apiVersion: 'example.com/v1',
                kind: 'Widget',
                name: widget.metadata.name ?? '',
                uid: widget.metadata.uid ?? '',
                controller: true,
              },
            ],
          },
          data: { value },
        });
      } else if ((child['data'] as Record<string, string> | undefined)?.['value'] !== value) {
        await client.update({ ...child, data: { value } });
      }
      widget.status = { ...widget.status, observedGeneration: widget.metadata.generation ?? 0 };
      if (JSON.stringify(widget.status) !== JSON.stringify(original.status))
        await client.updateStatus(widget);
      return result ?? {};
    },
  };
}

const widget = (status?: Widget['status']): Widget => ({
  apiVersion: 'example.com/v1',
  kind: 'Widget',
  metadata: { name: 'w', namespace: 'ns', uid: 'widget-uid', resourceVersion: '10', generation: 2 },
  spec: { configMapName: 'source', key: 'color' },
  ...(status ? { status } : {}),
});

const source = (color = 'blue'): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'source', namespace: 'ns' },
  data: { color },
});

const child = (value: string): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: {
    name: 'w-copy',
    namespace: 'ns',
    ownerReferences: [
      { apiVersion: 'example.com/v1', kind: 'Widget', name: 'w', uid: 'widget-uid', controller: true },
    ],
  },
  data: { value },
});

const sourceRef = { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'ns', name: 'source' };
const trackSource = newTrackRequest(sourceRef, widget());
const copied = newEvent(widget(), 'Normal', 'Copied', 'Copied color from ConfigMap source');

subReconcilerTests<Widget>('CopyValue', {
  reconciler: () => copyValue(),
  rows: {
    'copies the value into status': {
      resource: widget(),
      givenObjects: [source()],
      expectResource: widget({ value: 'blue' }),
      expectTracks: [trackSource],
      expectEvents: [copied],
      expectStashedValues: [stashed(ValueKey, 'blue')],
    },
    'clears a stale message': {
      resource: widget({ message: 'ConfigMap source not found' }),
      givenObjects: [source('red')],
      expectResource: widget({ value: 'red' }),
      expectTracks: [trackSource],
      expectEvents: [copied],
    },
    'requeues while the config map is missing': {
      resource: widget({ value: 'old' }),
      expectResource: widget({ message: 'ConfigMap source not found' }),
      expectTracks: [trackSource],
      expectedResult: { requeueAfterMs: 30_000 },
      expectStashedValues: [[ValueKey, undefined]],
    },
    'fails when reading the config map fails': {
      resource: widget(),
      givenObjects: [source()],
      withReactors: [{ verb: 'get', kind: 'ConfigMap', fn: (a) => forbiddenError(a.ref, 'get') }],
      expectTracks: [trackSource],
      shouldErr: /cannot get resource "configmaps"/,
    },
    'keeps a stashed value it did not write': {
      resource: widget(),
      givenObjects: [source()],
      givenStashedValues: [stashed(new StashKey<number>('other'), 1)],
      expectResource: widget({ value: 'blue' }),
      expectTracks: [trackSource],
      expectEvents: [copied],
      verify: (_result, _error, config, resource) => {
        assert.equal(resource.status?.value, 'blue');
        assert.equal(config.client.actions.length, 1);
      },
    },
  },
});

reconcilerTests('WidgetReconciler', {
  reconciler: () => widgetReconciler(),
  rows: {
    'creates the child and writes status': {
      request: { namespace: 'ns', name: 'w' },
      givenObjects: [widget(), source()],
      expectTracks: [trackSource],
      expectEvents: [copied],
      expectCreates: [child('blue')],
      expectStatusUpdates: [widget({ value: 'blue', observedGeneration: 2 })],
    },
    'updates a child that drifted': {
      request: { namespace: 'ns', name: 'w' },
      givenObjects: [widget({ value: 'blue', observedGeneration: 2 }), source('green'), child('blue')],
      expectTracks: [trackSource],
      expectEvents: [copied],
      expectUpdates: [child('green')],
      expectStatusUpdates: [widget({ value: 'green', observedGeneration: 2 })],
    },
    'in sync': {
      request: { namespace: 'ns', name: 'w' },
      givenObjects: [widget({ value: 'blue', observedGeneration: 2 }), source(), child('blue')],
      expectTracks: [trackSource],
      expectEvents: [copied],
    },
    'deletes the child when the source is gone': {
      request: { namespace: 'ns', name: 'w' },
      givenObjects: [widget({ value: 'blue', observedGeneration: 2 }), child('blue')],
      expectTracks: [trackSource],
      expectDeletes: [newDeleteRef(child('blue'))],
      expectStatusUpdates: [widget({ message: 'ConfigMap source not found', observedGeneration: 2 })],
      expectedResult: { requeueAfterMs: 30_000 },
    },
    'widget gone': {
      request: { namespace: 'ns', name: 'w' },
    },
    'status update conflict': {
      request: { namespace: 'ns', name: 'w' },
      givenObjects: [widget(), source(), child('blue')],
      withReactors: [{ verb: 'updateStatus', fn: (a) => conflictError(a.ref) }],
      expectTracks: [trackSource],
      expectEvents: [copied],
      expectStatusUpdates: [widget({ value: 'blue', observedGeneration: 2 })],
      shouldErr: /the object has been modified/,
      verify: (_result, error, config) => {
        assert.ok(error instanceof Error);
        assert.equal(config.client.stored<Widget>(refTo(widget()))?.status, undefined);
      },
    },
  },
});

// An admission handler: denies a Widget without spec, defaults a `team` label
// from the namespace's `defaults` ConfigMap.
function defaultTeam(config: TestConfig): AdmissionHandler<AdmissionRequest<Widget>> {
  return async (request) => {
    const obj = request.object;
    if (!obj?.spec)
      return { uid: request.uid, allowed: false, status: { code: 400, message: 'spec is required' } };
    if (obj.metadata.labels?.['team']) return { uid: request.uid, allowed: true };
    let team = 'none';
    try {
      const defaults = await config.client.get({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        namespace: request.namespace ?? '',
        name: 'defaults',
      });
      team = (defaults['data'] as Record<string, string> | undefined)?.['team'] ?? team;
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    const ops = obj.metadata.labels
      ? [{ op: 'add', path: '/metadata/labels/team', value: team }]
      : [{ op: 'add', path: '/metadata/labels', value: { team } }];
    return {
      uid: request.uid,
      allowed: true,
      patchType: 'JSONPatch',
      patch: Buffer.from(JSON.stringify(ops)).toString('base64'),
    };
  };
}

const admissionRequest = (object: Widget): AdmissionRequest<Widget> => ({
  uid: 'req-1',
  kind: { group: 'example.com', version: 'v1', kind: 'Widget' },
  resource: { group: 'example.com', version: 'v1', resource: 'widgets' },
  namespace: 'ns',
  operation: 'CREATE',
  userInfo: { username: 'alice' },
  object,
});

const defaults: KubeObject = {
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'defaults', namespace: 'ns' },
  data: { team: 'platform' },
};

admissionWebhookTests('defaultTeam', {
  handler: defaultTeam,
  rows: {
    'defaults the label from the namespace defaults': {
      request: admissionRequest(widget()),
      givenObjects: [defaults],
      expectResponse: {
        allowed: true,
        patch: [{ op: 'add', path: '/metadata/labels', value: { team: 'platform' } }],
      },
      expectPatchedObject: { ...widget(), metadata: { ...widget().metadata, labels: { team: 'platform' } } },
    },
    'keeps a label that is set': {
      request: admissionRequest({ ...widget(), metadata: { ...widget().metadata, labels: { team: 'web' } } }),
      expectResponse: { allowed: true },
    },
    'denies a widget without spec': {
      request: admissionRequest({ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' } }),
      expectResponse: { allowed: false, status: { code: 400, message: /spec is required/ } },
    },
    'fails when the defaults cannot be read': {
      request: admissionRequest(widget()),
      withReactors: [{ verb: 'get', fn: () => new Error('boom') }],
      shouldErr: /boom/,
    },
  },
});

// Every expectation must be able to fail a row: run rows with a wrong
// expectation directly and check the message names what differed.

async function failure(run: Promise<void>): Promise<string> {
  try {
    await run;
  } catch (err) {
    assert.ok(err instanceof AssertionError, `expected an AssertionError, got ${String(err)}`);
    return err.message;
  }
  assert.fail('expected the row to fail');
}

const subOptions = { reconciler: () => copyValue() };
const passingSubRow: SubReconcilerTestCase<Widget> = {
  resource: widget(),
  givenObjects: [source()],
  expectResource: widget({ value: 'blue' }),
  expectTracks: [trackSource],
  expectEvents: [copied],
  expectStashedValues: [stashed(ValueKey, 'blue')],
};
const options = { reconciler: () => widgetReconciler() };
const passingRow: ReconcilerTestCase = {
  request: { namespace: 'ns', name: 'w' },
  givenObjects: [widget(), source()],
  expectTracks: [trackSource],
  expectEvents: [copied],
  expectCreates: [child('blue')],
  expectStatusUpdates: [widget({ value: 'blue', observedGeneration: 2 })],
};

describe('a table row fails', () => {
  it('passes as written (the baseline the failures below change)', async () => {
    await runSubReconcilerTestCase(subOptions, passingSubRow);
    await runReconcilerTestCase(options, passingRow);
  });

  it('when the resource differs, showing the path', async () => {
    const message = await failure(
      runSubReconcilerTestCase(subOptions, { ...passingSubRow, expectResource: widget({ value: 'red' }) }),
    );
    assert.equal(
      message,
      '1 expectation not met:\n- expectResource differs:\n    status.value: expected "red", got "blue"',
    );
  });

  it('when the resource changed but no change was expected', async () => {
    const { expectResource: _, ...row } = passingSubRow;
    const message = await failure(runSubReconcilerTestCase(subOptions, row));
    assert.match(
      message,
      /expectResource \(unchanged\) differs:\n {4}status: expected nothing, got \{"value":"blue"\}/,
    );
  });

  it('when a server-generated field is expected and differs', async () => {
    const expected = widget({ value: 'blue' });
    expected.metadata.resourceVersion = '11';
    const message = await failure(
      runSubReconcilerTestCase(subOptions, { ...passingSubRow, expectResource: expected }),
    );
    assert.match(message, /metadata\.resourceVersion: expected "11", got "10"/);
  });

  it('when tracks, events or stashed values differ', async () => {
    const message = await failure(
      runSubReconcilerTestCase(subOptions, {
        ...passingSubRow,
        expectTracks: [newTrackRequest({ ...sourceRef, name: 'other' }, widget())],
        expectEvents: [newEvent(widget(), 'Warning', 'Copied', 'Copied color from ConfigMap source')],
        expectStashedValues: [stashed(ValueKey, 'green')],
      }),
    );
    assert.match(message, /^3 expectations not met:/);
    assert.match(message, /expectTracks\[0\] differs:\n {4}tracked\.name: expected "other", got "source"/);
    assert.match(message, /expectEvents\[0\] differs:\n {4}type: expected "Warning", got "Normal"/);
    assert.match(message, /expectStashedValues "value" differs:\n {4}\(root\): expected "green", got "blue"/);
  });

  it('when an action nobody expected happens', async () => {
    const { expectCreates: _, ...row } = passingRow;
    const message = await failure(runReconcilerTestCase(options, row));
    assert.match(
      message,
      /unexpected create of ConfigMap ns\/w-copy: \{"apiVersion":"v1","kind":"ConfigMap"/,
    );
  });

  it('when an expected action does not happen', async () => {
    const message = await failure(
      runReconcilerTestCase(options, {
        ...passingRow,
        expectUpdates: [child('blue')],
        expectPatches: [{ kind: 'Widget', namespace: 'ns', name: 'w', patchType: 'merge', patch: {} }],
        expectDeletes: [newDeleteRef(source())],
      }),
    );
    assert.match(message, /expectUpdates\[0\]: missing update of ConfigMap ns\/w-copy/);
    assert.match(message, /expectPatches\[0\]: missing patch of Widget ns\/w/);
    assert.match(message, /expectDeletes\[0\]: missing delete of ConfigMap ns\/source/);
  });

  it('when a written object differs', async () => {
    const message = await failure(
      runReconcilerTestCase(options, {
        ...passingRow,
        expectCreates: [child('red')],
        expectStatusUpdates: [widget({ value: 'blue', observedGeneration: 3 })],
      }),
    );
    assert.match(
      message,
      /expectCreates\[0\]: create of ConfigMap ns\/w-copy differs:\n {4}data\.value: expected "red", got "blue"/,
    );
    assert.match(
      message,
      /expectStatusUpdates\[0\]: status update of Widget ns\/w differs:\n {4}status\.observedGeneration: expected 3, got 2/,
    );
  });

  it('when the result, the error or verify differ', async () => {
    const wrongResult = await failure(
      runReconcilerTestCase(options, { ...passingRow, expectedResult: { requeueAfterMs: 1000 } }),
    );
    assert.match(wrongResult, /expectedResult differs:\n {4}requeueAfterMs: expected 1000, got nothing/);
    const noError = await failure(runReconcilerTestCase(options, { ...passingRow, shouldErr: true }));
    assert.match(noError, /expected an error, got none/);
    const verify = await failure(
      runReconcilerTestCase(options, {
        ...passingRow,
        verify: () => {
          throw new Error('custom check');
        },
      }),
    );
    assert.match(verify, /verify: custom check/);
  });

  it('when the reconcile throws unexpectedly, or with the wrong error', async () => {
    const boom: Reactor = { verb: 'get', kind: 'Widget', fn: () => new Error('boom') };
    const unexpected = await failure(runReconcilerTestCase(options, { ...passingRow, withReactors: [boom] }));
    assert.match(unexpected, /unexpected error: Error: boom/);
    const wrong = await failure(
      runReconcilerTestCase(options, {
        request: passingRow.request,
        givenObjects: passingRow.givenObjects ?? [],
        withReactors: [boom],
        shouldErr: /bang/,
      }),
    );
    assert.equal(wrong, '1 expectation not met:\n- error "boom" does not match /bang/');
  });

  it('when an admission response differs', async () => {
    const row: AdmissionWebhookTestCase<AdmissionRequest<Widget>> = {
      request: admissionRequest(widget()),
      givenObjects: [defaults],
      expectResponse: {
        allowed: false,
        patch: [{ op: 'add', path: '/metadata/labels', value: { team: 'web' } }],
      },
      expectPatchedObject: widget(),
    };
    const message = await failure(runAdmissionWebhookTestCase({ handler: defaultTeam }, row));
    assert.match(message, /response\.allowed: expected false, got true/);
    assert.match(message, /response\.patch differs:\n {4}\[0\]\.value\.team: expected "web", got "platform"/);
    assert.match(
      message,
      /expectPatchedObject differs:\n {4}metadata\.labels: expected nothing, got \{"team":"platform"\}/,
    );
    const status = await failure(
      runAdmissionWebhookTestCase(
        { handler: defaultTeam },
        {
          request: admissionRequest({
            apiVersion: 'example.com/v1',
            kind: 'Widget',
            metadata: { name: 'w' },
          }),
          expectResponse: { allowed: false, status: { code: 403, message: 'nope' } },
        },
      ),
    );
    assert.match(status, /response\.status\.code: expected 403, got 400/);
    assert.match(status, /response\.status\.message: expected "nope", got "spec is required"/);
  });

  it('when an admission response has the wrong uid or an undeclared patch', async () => {
    const handler = (): AdmissionHandler<AdmissionRequest<Widget>> => () =>
      Promise.resolve({
        uid: 'other',
        allowed: true,
        patch: Buffer.from('[{"op":"remove","path":"/spec"}]').toString('base64'),
      });
    const message = await failure(
      runAdmissionWebhookTestCase({ handler }, { request: admissionRequest(widget()) }),
    );
    assert.match(message, /response\.uid: expected "req-1" \(the request's\), got "other"/);
    assert.match(message, /response\.patchType: expected "JSONPatch" with a patch, got nothing/);
    assert.match(
      message,
      /response\.patch differs:\n {4}\[0\]: expected nothing, got \{"op":"remove","path":"\/spec"\}/,
    );
  });
});
