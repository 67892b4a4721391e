import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdir, mkdtemp, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { inspectKeyPair } from './cert-watcher.ts';
import type { KeyPair } from './cert-watcher.ts';
import { validating } from './handlers.ts';
import { generateSelfSigned } from './self-signed.ts';
import type { SelfSignedCertificates } from './self-signed.ts';
import { WebhookServer } from './server.ts';
import { eventually } from '@bindery/controlplane';
import { capturedLogger, postJson, review, servedSerial } from './test-helpers.ts';

const serial = (pair: KeyPair): string => new X509Certificate(pair.cert).serialNumber;

describe('serving certificates from a directory', () => {
  let dir: string;
  let first: SelfSignedCertificates;
  let second: SelfSignedCertificates;
  let third: SelfSignedCertificates;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bindery-webhook-certs-'));
    first = await generateSelfSigned({ service: 'webhook', namespace: 'test', extraHosts: ['127.0.0.1'] });
    // Same CA, so the client trusts all three: what a cert-manager renewal looks like.
    second = await generateSelfSigned({
      service: 'webhook',
      namespace: 'test',
      extraHosts: ['127.0.0.1'],
      ca: first.ca,
    });
    third = await generateSelfSigned({
      service: 'webhook',
      namespace: 'test',
      extraHosts: ['127.0.0.1'],
      ca: first.ca,
    });
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('checks that a pair can serve, and says why not', () => {
    assert.equal(inspectKeyPair(first.serving).serialNumber, serial(first.serving));
    assert.throws(
      () => inspectKeyPair({ cert: 'nope', key: first.serving.key }),
      /not a PEM X.509 certificate/,
    );
    assert.throws(() => inspectKeyPair({ cert: first.serving.cert, key: 'nope' }), /not a PEM private key/);
    assert.throws(
      () => inspectKeyPair({ cert: first.serving.cert, key: second.serving.key }),
      /the private key does not match the certificate/,
    );
  });

  it('reloads tls.crt and tls.key when they change, and keeps the current pair when the new one is invalid', async () => {
    const certDir = join(dir, 'plain');
    await mkdir(certDir);
    const write = async (pair: KeyPair): Promise<void> => {
      await writeFile(join(certDir, 'tls.crt'), pair.cert);
      await writeFile(join(certDir, 'tls.key'), pair.key);
    };
    await write(first.serving);
    const logs = capturedLogger();
    const server = new WebhookServer({ port: 0, certDir, certReloadDebounceMs: 50, log: logs.log });
    server.register(
      '/v',
      validating(() => ({ allowed: true })),
    );
    await server.listen();
    try {
      const ca = first.caBundle;
      assert.equal(await servedSerial(server.port, ca), serial(first.serving));
      assert.equal(server.certificate?.serialNumber, serial(first.serving));

      await write(second.serving);
      await eventually(async () => assert.equal(await servedSerial(server.port, ca), serial(second.serving)));
      assert.equal(server.certificate?.serialNumber, serial(second.serving));
      assert.ok(
        logs.lines.some(
          (l) => l['msg'] === 'serving certificate replaced' && l['serial'] === serial(second.serving),
        ),
      );

      // A mismatched pair, then garbage: both refused, the second pair stays.
      await write({ cert: third.serving.cert, key: second.serving.key });
      await eventually(() =>
        assert.ok(logs.lines.some((l) => String(l['reason']).includes('does not match'))),
      );
      await write({ cert: 'garbage', key: 'garbage' });
      await eventually(() =>
        assert.ok(logs.lines.some((l) => String(l['reason']).includes('not a PEM X.509 certificate'))),
      );
      assert.equal(await servedSerial(server.port, ca), serial(second.serving));
      assert.ok(server.ready());
      const res = await postJson(server.url('/v'), review({ object: {} }), ca);
      assert.equal(res.status, 200, 'still serving');
      assert.ok(!logs.text().includes('PRIVATE KEY'), 'never logs a key');

      await write(third.serving);
      await eventually(async () => assert.equal(await servedSerial(server.port, ca), serial(third.serving)));
    } finally {
      await server.stop();
    }
  });

  it('follows the ..data symlink swap of a Secret volume', async () => {
    // kubelet writes each version into a timestamped directory, points ..data_tmp at it, and renames
    // ..data_tmp over ..data; tls.crt and tls.key are symlinks through ..data.
    const certDir = join(dir, 'volume');
    await mkdir(certDir);
    const version = async (name: string, pair: KeyPair): Promise<void> => {
      await mkdir(join(certDir, name));
      await writeFile(join(certDir, name, 'tls.crt'), pair.cert);
      await writeFile(join(certDir, name, 'tls.key'), pair.key);
      await symlink(name, join(certDir, '..data_tmp'));
      await rename(join(certDir, '..data_tmp'), join(certDir, '..data'));
    };
    await version('..2025_01_01_00_00_00.1', first.serving);
    await symlink('..data/tls.crt', join(certDir, 'tls.crt'));
    await symlink('..data/tls.key', join(certDir, 'tls.key'));
    const server = new WebhookServer({
      port: 0,
      certDir,
      certReloadDebounceMs: 50,
      log: pino({ level: 'silent' }),
    });
    await server.listen();
    try {
      assert.equal(await servedSerial(server.port, first.caBundle), serial(first.serving));
      await version('..2025_01_01_00_00_00.2', second.serving);
      await eventually(async () =>
        assert.equal(await servedSerial(server.port, first.caBundle), serial(second.serving)),
      );
    } finally {
      await server.stop();
    }
  });

  it('refuses to start on an invalid pair, naming the files', async () => {
    const certDir = join(dir, 'broken');
    await mkdir(certDir);
    await writeFile(join(certDir, 'tls.crt'), first.serving.cert);
    await writeFile(join(certDir, 'tls.key'), second.serving.key);
    const server = new WebhookServer({ port: 0, certDir, log: pino({ level: 'silent' }) });
    await assert.rejects(
      server.listen(),
      /broken\/tls.crt and .*broken\/tls.key: the private key does not match/,
    );
    const missing = new WebhookServer({
      port: 0,
      certDir: join(dir, 'absent'),
      log: pino({ level: 'silent' }),
    });
    await assert.rejects(missing.listen(), /ENOENT/);
  });
});
