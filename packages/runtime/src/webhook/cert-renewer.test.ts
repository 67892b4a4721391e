import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eventually } from '@bindery/controlplane';
import { FakeClock } from '@bindery/kube';
import { pino } from 'pino';
import { CertificateRenewer } from './cert-renewer.ts';
import type { KeyPair } from './cert-watcher.ts';
import { generateSelfSigned } from './self-signed.ts';
import type { SelfSignedCertificates } from './self-signed.ts';
import { WebhookServer } from './server.ts';
import { servedSerial } from './test-helpers.ts';

const HOUR_MS = 60 * 60 * 1000;
const log = pino({ level: 'silent' });

describe('CertificateRenewer', () => {
  let first: SelfSignedCertificates;
  let server: WebhookServer;

  before(async () => {
    // A one-day certificate: renewed a third of its life before it expires, 16 h after issue.
    first = await generateSelfSigned({
      service: 'webhook',
      namespace: 'test',
      extraHosts: ['127.0.0.1'],
      validDays: 1,
    });
    server = new WebhookServer({ port: 0, tls: first.serving, log });
    await server.listen();
  });

  after(async () => {
    await server.stop();
  });

  it('renews the served certificate from the same CA well before it expires, while running, retrying failures', async () => {
    const clock = new FakeClock(Date.now());
    const issued: KeyPair[] = [];
    let failures = 1;
    const renewer = new CertificateRenewer({
      server,
      clock,
      log,
      renew: async () => {
        if (failures-- > 0) throw new Error('the CA Secret cannot be read');
        const next = await generateSelfSigned({
          service: 'webhook',
          namespace: 'test',
          extraHosts: ['127.0.0.1'],
          ca: first.ca,
        });
        issued.push(next.serving);
        return next.serving;
      },
    });
    const renewAt = renewer.renewAt() ?? NaN;
    const validTo = Date.parse(server.certificate?.validTo ?? '');
    assert.ok(validTo - renewAt >= 7 * HOUR_MS, 'hours before expiry, not at it');

    const stop = new AbortController();
    const running = renewer.start(stop.signal);
    try {
      const original = await servedSerial(server.port, first.caBundle);
      clock.advance(15 * HOUR_MS);
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal(issued.length, 0, 'not renewed while far from expiry');

      clock.advance(2 * HOUR_MS);
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal(issued.length, 0, 'the first attempt failed');
      clock.advance(1_000); // the retry
      await eventually(() => assert.equal(issued.length, 1), 5_000);
      const renewed = await eventually(async () => {
        const serial = await servedSerial(server.port, first.caBundle);
        assert.notEqual(serial, original, 'the new certificate is served, trusted by the same caBundle');
        return serial;
      }, 5_000);
      assert.ok(renewed);

      // A year-long certificate is not renewed again for months.
      clock.advance(24 * HOUR_MS);
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal(issued.length, 1);
    } finally {
      stop.abort();
      await running;
    }
  });
});
