// Table tests of admission handlers, after reconciler.io's AdmissionWebhookTests: each row is an
// AdmissionRequest and the response expected, decoded (the JSON Patch as operations), plus the
// same side-effect expectations as any other row.

import { applyJsonPatch } from '../json-patch.ts';
import type { JsonPatchOperation } from '../json-patch.ts';
import type { FakeServerOptions, TestConfig } from './config.ts';
import { diff, formatDiff, formatValue } from './diff.ts';
import { checkError, compareObject } from './expect.ts';
import { jsonCopy } from './object-store.ts';
import { checkConfigs, fail, rowConfig, table, verifying, withCleanUp } from './table-runner.ts';
import type { RowBase } from './table-runner.ts';

/** What the kit needs of an AdmissionRequest (the webhook layer's type satisfies it). */
export interface AdmissionRequestLike {
  uid: string;
  object?: unknown;
}

/** What the kit needs of an AdmissionResponse (the webhook layer's type satisfies it). */
export interface AdmissionResponseLike {
  uid: string;
  allowed: boolean;
  patch?: string;
  patchType?: 'JSONPatch';
  status?: { code?: number; message?: string; reason?: string };
  warnings?: string[];
}

export interface ExpectedAdmissionResponse {
  allowed: boolean;
  /** The JSON Patch, decoded; absent: the response must carry no patch (or an empty one). */
  patch?: readonly JsonPatchOperation[];
  /** Compared field by field, only the fields set; `message` may be a RegExp. */
  status?: { code?: number; message?: string | RegExp; reason?: string };
  /** Compared when set. */
  warnings?: readonly string[];
}

export type AdmissionHandler<Req extends AdmissionRequestLike> = (
  request: Req,
) => Promise<AdmissionResponseLike>;

export interface AdmissionWebhookTestCase<Req extends AdmissionRequestLike> extends RowBase {
  /** The `request` of the AdmissionReview the API server sends. */
  request: Req;
  /** Default `{ allowed: true }`. The response's `uid` must always be the request's. */
  expectResponse?: ExpectedAdmissionResponse;
  /** `request.object` with the response's patch applied, compared in full. */
  expectPatchedObject?: unknown;
  verify?(
    response: AdmissionResponseLike | undefined,
    error: unknown,
    config: TestConfig,
  ): void | Promise<void>;
}

export interface AdmissionWebhookTestsOptions<Req extends AdmissionRequestLike> extends FakeServerOptions {
  handler: (config: TestConfig) => AdmissionHandler<Req>;
}

/** A table of admission handler rows: `describe(name)` with one `it()` per row. */
export function admissionWebhookTests<Req extends AdmissionRequestLike>(
  name: string,
  options: AdmissionWebhookTestsOptions<Req> & { rows: Record<string, AdmissionWebhookTestCase<Req>> },
): void {
  table(name, options.rows, (row) => runAdmissionWebhookTestCase(options, row));
}

/** Runs one AdmissionWebhookTests row; throws an AssertionError listing every expectation it missed. */
export async function runAdmissionWebhookTestCase<Req extends AdmissionRequestLike>(
  options: AdmissionWebhookTestsOptions<Req>,
  row: AdmissionWebhookTestCase<Req>,
): Promise<void> {
  const config = rowConfig(options, row, []);
  await withCleanUp(config, row, async () => {
    await row.prepare?.(config);
    const handler = options.handler(config);
    let response: AdmissionResponseLike | undefined;
    let error: unknown;
    try {
      response = await handler(jsonCopy(row.request));
    } catch (err) {
      error = err ?? new Error(String(err));
    }
    const problems = [
      ...checkError(row.shouldErr, error),
      ...(response !== undefined ? checkResponse(row, response) : []),
      ...checkConfigs(config, row),
      ...(await verifying(() => row.verify?.(response, error, config))),
    ];
    fail(problems);
  });
}

/** The JSON Patch of an admission response, decoded from base64. */
export function decodeAdmissionPatch(response: Pick<AdmissionResponseLike, 'patch'>): JsonPatchOperation[] {
  if (response.patch === undefined || response.patch === '') return [];
  const ops: unknown = JSON.parse(Buffer.from(response.patch, 'base64').toString('utf8'));
  if (!Array.isArray(ops)) throw new Error('the patch is not a JSON array');
  return ops as JsonPatchOperation[];
}

function checkResponse<Req extends AdmissionRequestLike>(
  row: AdmissionWebhookTestCase<Req>,
  response: AdmissionResponseLike,
): string[] {
  const problems: string[] = [];
  const expected = row.expectResponse ?? { allowed: true };
  if (response.uid !== row.request.uid) {
    problems.push(
      `response.uid: expected ${formatValue(row.request.uid)} (the request's), got ${formatValue(response.uid)}`,
    );
  }
  if (response.allowed !== expected.allowed) {
    const why = response.status?.message ? ` (${response.status.message})` : '';
    problems.push(`response.allowed: expected ${expected.allowed}, got ${response.allowed}${why}`);
  }
  let ops: JsonPatchOperation[] | undefined;
  try {
    ops = decodeAdmissionPatch(response);
  } catch (err) {
    problems.push(`response.patch: cannot decode ${formatValue(response.patch)}: ${(err as Error).message}`);
  }
  if (ops !== undefined) {
    if (ops.length > 0 && response.patchType !== 'JSONPatch') {
      problems.push(
        `response.patchType: expected "JSONPatch" with a patch, got ${formatValue(response.patchType)}`,
      );
    }
    const differences = diff(jsonCopy(expected.patch ?? []), ops);
    if (differences.length > 0) {
      problems.push(`response.patch differs:\n${formatDiff(differences, { indent: '    ' })}`);
    }
    if (row.expectPatchedObject !== undefined) {
      try {
        const patched = applyJsonPatch(row.request.object, ops);
        problems.push(...compareObject('expectPatchedObject differs', row.expectPatchedObject, patched));
      } catch (err) {
        problems.push(
          `expectPatchedObject: the patch does not apply to request.object: ${(err as Error).message}`,
        );
      }
    }
  }
  if (expected.status) {
    const actual = response.status ?? {};
    const { code, reason, message } = expected.status;
    if (code !== undefined && actual.code !== code) {
      problems.push(`response.status.code: expected ${code}, got ${formatValue(actual.code)}`);
    }
    if (reason !== undefined && actual.reason !== reason) {
      problems.push(
        `response.status.reason: expected ${formatValue(reason)}, got ${formatValue(actual.reason)}`,
      );
    }
    if (
      message instanceof RegExp
        ? !message.test(actual.message ?? '')
        : message !== undefined && actual.message !== message
    ) {
      problems.push(
        `response.status.message: expected ${message instanceof RegExp ? String(message) : formatValue(message)}, got ${formatValue(actual.message)}`,
      );
    }
  }
  if (expected.warnings) {
    const differences = diff(jsonCopy(expected.warnings), response.warnings ?? []);
    if (differences.length > 0) {
      problems.push(`response.warnings differs:\n${formatDiff(differences, { indent: '    ' })}`);
    }
  }
  return problems;
}
