// The OSB request headers: the API version every request must carry, the originating identity
// (`<platform> <base64 JSON>`) and the request identity the broker echoes.

import type { OriginatingIdentity } from './broker.ts';
import { BrokerError } from './errors.ts';

export const VERSION_HEADER = 'x-broker-api-version';
export const ORIGINATING_IDENTITY_HEADER = 'x-broker-api-originating-identity';
export const REQUEST_IDENTITY_HEADER = 'x-broker-api-request-identity';

/** The newest version this SDK implements; also the default of nothing. */
export const LATEST_API_VERSION = '2.17';

export interface ApiVersion {
  major: number;
  minor: number;
}

export function parseApiVersion(text: string): ApiVersion | undefined {
  const match = /^(\d{1,4})\.(\d{1,4})$/.exec(text.trim());
  if (!match) return undefined;
  return { major: Number(match[1]), minor: Number(match[2]) };
}

const compare = (a: ApiVersion, b: ApiVersion): number => a.major - b.major || a.minor - b.minor;

/**
 * The request's API version, or a 412 when it is missing, malformed, another major version, or older
 * than `minimum` (the checkers and most platforms expect 412 for a missing header too).
 */
export function checkApiVersion(header: string | undefined, minimum: ApiVersion): string {
  const refuse = (why: string): BrokerError =>
    new BrokerError(412, {
      description: `${why}: this broker requires X-Broker-API-Version ${minimum.major}.${minimum.minor} or later (2.x).`,
    });
  if (header === undefined || header === '') throw refuse('The X-Broker-API-Version header is missing');
  const version = parseApiVersion(header);
  if (!version) throw refuse('The X-Broker-API-Version header is not MAJOR.MINOR');
  if (version.major !== minimum.major || compare(version, minimum) < 0) {
    throw refuse(`X-Broker-API-Version ${header.trim()} is not supported`);
  }
  return `${version.major}.${version.minor}`;
}

/** Bounds what a header may make us decode. */
const MAX_IDENTITY_LENGTH = 16 * 1024;

/** Decodes `X-Broker-API-Originating-Identity`; 400 when present but not `<platform> <base64 JSON object>`. */
export function parseOriginatingIdentity(header: string | undefined): OriginatingIdentity | undefined {
  if (header === undefined) return undefined;
  const invalid = (why: string): BrokerError =>
    BrokerError.badRequest(
      `X-Broker-API-Originating-Identity ${why}: expected "<platform> <base64 JSON object>".`,
    );
  if (header.length > MAX_IDENTITY_LENGTH) throw invalid('is too long');
  const match = /^\s*(\S+)\s+([A-Za-z0-9+/=_-]+)\s*$/.exec(header);
  if (!match) throw invalid('is malformed');
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(match[2] ?? '', 'base64').toString('utf8'));
  } catch {
    throw invalid('does not hold base64-encoded JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalid('does not hold a JSON object');
  }
  return { platform: match[1] ?? '', value: value as Record<string, unknown> };
}

/** The request identity to echo, if it is one we can put in a header unchanged. */
export function requestIdentity(header: string | undefined): string | undefined {
  if (header === undefined || header === '' || header.length > 1024) return undefined;
  // Only visible ASCII: anything else cannot be echoed as a header value safely.
  return /^[\x20-\x7e]+$/.test(header) ? header : undefined;
}
