// Renews a self-managed serving certificate while the server runs. A certificate issued at start-up
// (self-signed mode, or from a stored CA) would otherwise expire in a process that lives longer than
// it, and every admission call would fail its TLS handshake. cert-manager users have CertWatcher.

import { realClock, sleep } from '@bindery/kube';
import type { Clock } from '@bindery/kube';
import { pino } from 'pino';
import type { Logger } from 'pino';
import type { CertificateInfo, KeyPair } from './cert-watcher.ts';

const DAY_MS = 24 * 60 * 60 * 1000;

export interface CertificateRenewerOptions {
  /** What serves the certificate: `WebhookServer` has both. */
  server: {
    readonly certificate: CertificateInfo | undefined;
    setCertificate(pair: KeyPair): CertificateInfo;
  };
  /** Issues a new serving key pair (from the same CA, so the `caBundle` stays valid). */
  renew: (signal: AbortSignal) => Promise<KeyPair>;
  /** Renew once less than this is left. Default 30 days; a third of the lifetime if that is shorter. */
  renewBeforeMs?: number;
  /** How often the expiry is looked at. Default 1 h. */
  checkEveryMs?: number;
  log?: Logger;
  clock?: Pick<Clock, 'now' | 'setTimeout' | 'clearTimeout'>;
}

/** A Runnable for every replica (each serves its own certificate). */
export class CertificateRenewer {
  readonly name = 'webhook-certificate-renewer';
  readonly needLeaderElection = false;
  readonly #options: CertificateRenewerOptions;
  readonly #log: Logger;

  constructor(options: CertificateRenewerOptions) {
    this.#options = options;
    this.#log = (options.log ?? pino({ name: 'webhook' })).child({ component: this.name });
  }

  /** When the served certificate should be renewed (ms since the epoch), or undefined if none is served. */
  renewAt(): number | undefined {
    const info = this.#options.server.certificate;
    if (!info) return undefined;
    const from = Date.parse(info.validFrom);
    const to = Date.parse(info.validTo);
    const before = Math.min(this.#options.renewBeforeMs ?? 30 * DAY_MS, (to - from) / 3);
    return to - before;
  }

  async start(signal: AbortSignal): Promise<void> {
    const clock = this.#options.clock ?? realClock;
    const checkEveryMs = this.#options.checkEveryMs ?? 60 * 60 * 1000;
    let backoffMs = 1_000;
    while (!signal.aborted) {
      const at = this.renewAt();
      let waitMs = checkEveryMs;
      if (at !== undefined && clock.now() >= at) {
        try {
          const info = this.#options.server.setCertificate(await this.#options.renew(signal));
          this.#log.info({ serial: info.serialNumber, validTo: info.validTo }, 'serving certificate renewed');
          backoffMs = 1_000;
          continue;
        } catch (err) {
          if (signal.aborted) return;
          // The current certificate still serves; try again soon, and keep saying so.
          this.#log.error({ err, retryInMs: backoffMs }, 'cannot renew the serving certificate');
          waitMs = backoffMs;
          backoffMs = Math.min(backoffMs * 2, 5 * 60_000);
        }
      } else if (at !== undefined) {
        waitMs = Math.min(checkEveryMs, Math.max(0, at - clock.now()));
      }
      await sleep(clock, waitMs, signal);
    }
  }
}
