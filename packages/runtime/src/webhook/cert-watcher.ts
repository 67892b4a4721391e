// Serving certificates from a directory (cert-manager's and controller-runtime's layout: `tls.crt`
// and `tls.key`), reloaded when the files change. A Secret volume is updated by swapping a `..data`
// symlink inside the directory, so the directory is watched, not the files.

import { X509Certificate, createPrivateKey } from 'node:crypto';
import { createSecureContext } from 'node:tls';
import { watch } from 'node:fs';
import type { FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';

/** A PEM certificate (chain: the leaf first) and its PEM private key. */
export interface KeyPair {
  cert: string;
  key: string;
}

/** What the logs say about a serving certificate. Nothing secret. */
export interface CertificateInfo {
  serialNumber: string;
  subject: string;
  subjectAltName: string | undefined;
  validFrom: string;
  validTo: string;
  fingerprint256: string;
}

/**
 * Checks that `pair` can serve TLS: the certificate parses, the key parses and matches it.
 * Throws an error saying which of these failed.
 */
export function inspectKeyPair(pair: KeyPair): CertificateInfo {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(pair.cert);
  } catch (err) {
    throw new Error(`the certificate is not a PEM X.509 certificate: ${(err as Error).message}`, {
      cause: err,
    });
  }
  let matches: boolean;
  try {
    matches = cert.checkPrivateKey(createPrivateKey(pair.key));
  } catch (err) {
    throw new Error(`the private key is not a PEM private key: ${(err as Error).message}`, { cause: err });
  }
  if (!matches)
    throw new Error(`the private key does not match the certificate (serial ${cert.serialNumber})`);
  try {
    createSecureContext({ cert: pair.cert, key: pair.key });
  } catch (err) {
    throw new Error(`TLS cannot use the key pair: ${(err as Error).message}`, { cause: err });
  }
  return {
    serialNumber: cert.serialNumber,
    subject: cert.subject,
    subjectAltName: cert.subjectAltName,
    validFrom: cert.validFrom,
    validTo: cert.validTo,
    fingerprint256: cert.fingerprint256,
  };
}

export interface CertWatcherOptions {
  dir: string;
  /** Default `tls.crt`. */
  certName?: string;
  /** Default `tls.key`. */
  keyName?: string;
  /** Events within this window are one reload (a writer replaces two files). Default 200 ms. */
  debounceMs?: number;
  /** Also re-reads this often, for file systems without change notification. Default 60 s; 0 disables. */
  pollIntervalMs?: number;
  log: Logger;
  /** Called with every new valid pair (not with the first one `load` returns). */
  onChange: (pair: KeyPair, info: CertificateInfo) => void;
}

export class CertWatcher {
  readonly #options: CertWatcherOptions;
  readonly #certPath: string;
  readonly #keyPath: string;
  #current: KeyPair | undefined;
  #watcher: FSWatcher | undefined;
  #debounce: NodeJS.Timeout | undefined;
  #poll: NodeJS.Timeout | undefined;
  #reloading: Promise<void> = Promise.resolve();

  constructor(options: CertWatcherOptions) {
    this.#options = options;
    this.#certPath = join(options.dir, options.certName ?? 'tls.crt');
    this.#keyPath = join(options.dir, options.keyName ?? 'tls.key');
  }

  /** Reads and checks the pair; throws naming the files if it cannot serve. */
  async load(): Promise<{ pair: KeyPair; info: CertificateInfo }> {
    const pair = await this.#read();
    let info: CertificateInfo;
    try {
      info = inspectKeyPair(pair);
    } catch (err) {
      throw new Error(`${this.#certPath} and ${this.#keyPath}: ${(err as Error).message}`, { cause: err });
    }
    this.#current = pair;
    return { pair, info };
  }

  /** Starts watching; `load` first. */
  start(): void {
    if (this.#watcher) return;
    this.#watcher = watch(this.#options.dir, { persistent: false }, () => this.#schedule());
    this.#watcher.on('error', (err) =>
      this.#options.log.error({ err, dir: this.#options.dir }, 'watching the certificate directory failed'),
    );
    const every = this.#options.pollIntervalMs ?? 60_000;
    if (every > 0) {
      this.#poll = setInterval(() => this.#schedule(), every);
      this.#poll.unref();
    }
  }

  stop(): void {
    this.#watcher?.close();
    this.#watcher = undefined;
    clearTimeout(this.#debounce);
    clearInterval(this.#poll);
  }

  /** Resolves once any reload in progress is done (for tests). */
  settled(): Promise<void> {
    return this.#reloading;
  }

  #schedule(): void {
    clearTimeout(this.#debounce);
    this.#debounce = setTimeout(() => {
      this.#reloading = this.#reloading.then(() => this.#reload());
    }, this.#options.debounceMs ?? 200);
    this.#debounce.unref();
  }

  async #reload(): Promise<void> {
    const log = this.#options.log;
    let pair: KeyPair;
    try {
      pair = await this.#read();
    } catch (err) {
      log.warn(
        { err, dir: this.#options.dir },
        'cannot read the serving certificate; keeping the current one',
      );
      return;
    }
    if (pair.cert === this.#current?.cert && pair.key === this.#current.key) return;
    let info: CertificateInfo;
    try {
      info = inspectKeyPair(pair);
    } catch (err) {
      // A writer may be between the two files; the next event brings the matching one.
      log.error(
        { dir: this.#options.dir, reason: (err as Error).message },
        'the new serving certificate is not valid; keeping the current one',
      );
      return;
    }
    this.#current = pair;
    this.#options.onChange(pair, info);
  }

  async #read(): Promise<KeyPair> {
    const [cert, key] = await Promise.all([
      readFile(this.#certPath, 'utf8'),
      readFile(this.#keyPath, 'utf8'),
    ]);
    return { cert, key };
  }
}
