import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildEvent, eventName, referenceTo, truncateNote, validateEventSource } from './event-builder.ts';
import type { EventOptions } from './event-builder.ts';
import { formatMicroTime } from './micro-time.ts';
import type { KubeObject } from './object.ts';
import { build, configMap, source, t0, warning } from './events.test-helpers.ts';

describe('truncateNote', () => {
  it('keeps notes up to 1 KiB', () => {
    assert.equal(truncateNote('x'.repeat(1024)), 'x'.repeat(1024));
  });

  it('cuts longer notes to 1024 bytes', () => {
    assert.equal(truncateNote('x'.repeat(5000)), 'x'.repeat(1024));
  });

  it('never cuts a character in two', () => {
    // 'é' is 2 bytes, '€' 3, '😀' 4: 1023 ASCII bytes leave room for none of them.
    for (const ch of ['é', '€', '😀']) {
      const cut = truncateNote(`${'x'.repeat(1023)}${ch}${ch}`);
      assert.equal(cut, 'x'.repeat(1023), ch);
      assert.ok(Buffer.byteLength(cut) <= 1024);
    }
    const emoji = truncateNote('😀'.repeat(300));
    assert.equal(emoji, '😀'.repeat(256));
    assert.equal(Buffer.byteLength(emoji), 1024);
  });
});

describe('referenceTo', () => {
  it('names the object, its namespace, uid and resourceVersion', () => {
    assert.deepEqual(referenceTo(configMap()), {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      name: 'web',
      namespace: 'apps',
      uid: 'uid-1',
      resourceVersion: '42',
    });
  });
});

describe('eventName', () => {
  it('is <name>.<hex nanoseconds>, like client-go', () => {
    assert.equal(
      eventName('web', 1, () => 0),
      'web.f4240',
    );
    assert.equal(
      eventName('web', t0, () => 0),
      `web.${(BigInt(t0) * 1_000_000n).toString(16)}`,
    );
    assert.notEqual(
      eventName('web', t0, () => 0.1),
      eventName('web', t0, () => 0.2),
    );
  });

  it('makes names of any object a valid DNS subdomain', () => {
    const subdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
    for (const name of [
      'system:controller:Foo',
      'UPPER_case',
      '..x..',
      '-a-',
      ':::',
      'a'.repeat(300),
      'a.-b',
    ]) {
      const out = eventName(name, t0);
      assert.match(out, subdomain, `${name} → ${out}`);
      assert.ok(out.length <= 253, `${out.length}`);
    }
    assert.match(
      eventName('system:controller:Foo', 0, () => 0),
      /^system-controller-foo\./,
    );
    assert.match(
      eventName(':::', 0, () => 0),
      /^event\./,
    );
  });
});

describe('validateEventSource', () => {
  it('accepts qualified names and rejects what the API server would', () => {
    assert.equal(validateEventSource(source), undefined);
    assert.equal(validateEventSource({ ...source, reportingController: 'bindery' }), undefined);
    assert.match(validateEventSource({ ...source, reportingController: '' }) ?? '', /reportingController/);
    assert.match(
      validateEventSource({ ...source, reportingController: 'has space' }) ?? '',
      /reportingController/,
    );
    assert.match(
      validateEventSource({ ...source, reportingController: 'Bad_Prefix/x' }) ?? '',
      /reportingController/,
    );
    assert.match(validateEventSource({ ...source, reportingInstance: '' }) ?? '', /reportingInstance/);
    assert.match(
      validateEventSource({ ...source, reportingInstance: 'x'.repeat(129) }) ?? '',
      /reportingInstance/,
    );
  });
});

describe('buildEvent', () => {
  it('writes an events.k8s.io/v1 Event in the object namespace', () => {
    const related: KubeObject = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'db', namespace: 'apps', uid: 's1' },
    };
    const event = build(configMap(), { ...warning, related });
    assert.deepEqual(event, {
      apiVersion: 'events.k8s.io/v1',
      kind: 'Event',
      metadata: { name: eventName('web', t0, () => 0.5), namespace: 'apps' },
      eventTime: formatMicroTime(t0),
      reportingController: 'bindery.dev/test',
      reportingInstance: 'pod-1',
      action: 'Binding',
      reason: 'ProjectionFailed',
      type: 'Warning',
      note: 'no such secret',
      regarding: {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        name: 'web',
        namespace: 'apps',
        uid: 'uid-1',
        resourceVersion: '42',
      },
      related: { apiVersion: 'v1', kind: 'Secret', name: 'db', namespace: 'apps', uid: 's1' },
    });
    assert.ok(!JSON.stringify(event).includes('never copied'), 'nothing of the object body is copied');
  });

  it('puts events about cluster-scoped objects in default', () => {
    const event = build(configMap('node-1', 'n1', null));
    assert.equal(event.metadata.namespace, 'default');
    assert.equal(event.regarding.namespace, undefined);
  });

  it('defaults the action to the reason and cuts the note to 1 KiB', () => {
    const event = build(configMap(), { type: 'Normal', reason: 'Synced', note: 'é'.repeat(1000) });
    assert.equal(event.action, 'Synced');
    assert.equal(Buffer.byteLength(event.note), 1024);
  });

  it('explains what the API server would reject', () => {
    const bad = (regarding: KubeObject, options: Partial<EventOptions>): string => {
      const e = buildEvent(regarding, { ...warning, ...options }, source, t0);
      return e instanceof Error ? e.message : 'accepted';
    };
    assert.match(bad({ metadata: { name: 'x' } }, {}), /no kind or name/);
    assert.match(bad(configMap(), { type: 'Info' as 'Normal' }), /type must be Normal or Warning/);
    assert.match(bad(configMap(), { reason: '' }), /reason/);
    assert.match(bad(configMap(), { reason: 'x'.repeat(129) }), /reason/);
    assert.match(bad(configMap(), { action: 'x'.repeat(129) }), /action/);
    assert.match(bad(configMap(), { reason: 'x'.repeat(128) }), /accepted/);
  });
});
