// Request bodies: bounded in size, JSON objects only. OSB: bodies SHOULD carry
// `Content-Type: application/json`; without one the broker MAY still process the body, and it SHOULD
// answer 400 to a mismatched type or an unprocessable body.

import type { IncomingMessage } from 'node:http';
import type { JsonObject } from './broker.ts';
import { BrokerError } from './errors.ts';

/** Large enough for any parameters a plan schema (≤ 64 kB each) describes. */
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

/** Thrown when the body is over the limit: the connection must close, part of the body is unread. */
export class BodyTooLarge extends BrokerError {
  constructor(maxBytes: number) {
    super(413, { description: `The request body is larger than ${maxBytes} bytes.` });
  }
}

function isJsonType(contentType: string): boolean {
  const type = contentType.split(';')[0]?.trim().toLowerCase() ?? '';
  return type === 'application/json' || (type.startsWith('application/') && type.endsWith('+json'));
}

/** Reads the body into a Buffer, refusing more than `maxBytes`. */
export async function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) throw new BodyTooLarge(maxBytes);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) throw new BodyTooLarge(maxBytes);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** The body as a JSON object; 400 for a wrong Content-Type, an empty body, bad JSON or a non-object. */
export async function readJsonObject(req: IncomingMessage, maxBytes: number): Promise<JsonObject> {
  const contentType = req.headers['content-type'];
  const raw = await readBody(req, maxBytes);
  if (contentType !== undefined && !isJsonType(contentType)) {
    throw BrokerError.badRequest('The Content-Type of the request body must be application/json.');
  }
  if (raw.length === 0) throw BrokerError.badRequest('The request body is empty: a JSON object is required.');
  let value: unknown;
  try {
    value = JSON.parse(raw.toString('utf8'));
  } catch {
    // Not the parser's message: it quotes the body, which may hold credentials.
    throw BrokerError.badRequest('The request body is not valid JSON.');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw BrokerError.badRequest('The request body must be a JSON object.');
  }
  return value as JsonObject;
}
