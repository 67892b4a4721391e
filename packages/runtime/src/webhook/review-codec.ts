// What the webhook server reads and writes besides HTTP: the AdmissionReview v1 it checks and
// encodes, and the `metav1.Status` bodies of its refusals. Pure functions, no I/O.

import { isObject } from '@bindery/kube';
import type { AdmissionResult } from './handlers.ts';
import { ADMISSION_API_VERSION } from './types.ts';
import type { AdmissionResponse, AdmissionReview, StatusBody } from './types.ts';

export const JSON_TYPE = 'application/json';

export function statusReason(code: number): string {
  return (
    {
      400: 'BadRequest',
      404: 'NotFound',
      405: 'MethodNotAllowed',
      408: 'Timeout',
      413: 'RequestEntityTooLarge',
      415: 'UnsupportedMediaType',
      429: 'TooManyRequests',
      431: 'RequestHeaderFieldsTooLarge',
    }[code] ?? 'BadRequest'
  );
}

export function statusBody(code: number, message: string): string {
  const body: StatusBody = {
    apiVersion: 'v1',
    kind: 'Status',
    status: 'Failure',
    code,
    reason: statusReason(code),
    message,
  };
  return JSON.stringify(body);
}

/** What is wrong with a parsed body that should be an AdmissionReview v1, or undefined. */
export function reviewProblem(body: unknown): string | undefined {
  if (!isObject(body))
    return `the body is JSON ${Array.isArray(body) ? 'array' : typeof body}, not an object`;
  if (body['apiVersion'] === undefined) return 'apiVersion is missing';
  if (body['apiVersion'] !== ADMISSION_API_VERSION) {
    return `apiVersion is ${JSON.stringify(body['apiVersion'])}, expected "${ADMISSION_API_VERSION}" (set admissionReviewVersions: ["v1"] in the webhook configuration)`;
  }
  if (body['kind'] === undefined) return 'kind is missing';
  if (body['kind'] !== 'AdmissionReview')
    return `kind is ${JSON.stringify(body['kind'])}, expected "AdmissionReview"`;
  const request = body['request'];
  if (request === undefined || request === null) return 'request is missing';
  if (!isObject(request)) return 'request is not an object';
  if (request['uid'] === undefined || request['uid'] === null || request['uid'] === '')
    return 'request.uid is missing';
  if (typeof request['uid'] !== 'string') return 'request.uid is not a string';
  return undefined;
}

/** A JSON.parse failure without the input excerpt V8 puts in its message (the body may be a Secret). */
export function jsonProblem(err: unknown): string {
  const position = /at position (\d+)/.exec((err as Error).message)?.[1];
  if (/end of JSON input/i.test((err as Error).message)) return 'the body ends before the JSON value does';
  return position === undefined
    ? 'the body is not valid JSON'
    : `the body is not valid JSON (at byte ${position})`;
}

export function encodeReview(
  uid: string,
  result: AdmissionResult,
  warnings: string[],
  auditAnnotations: Record<string, string>,
): { text: string; response: AdmissionResponse } {
  const response: AdmissionResponse = { uid, allowed: result.allowed };
  if (result.status) response.status = result.status;
  if (result.allowed && result.patch?.length) {
    response.patch = Buffer.from(JSON.stringify(result.patch)).toString('base64');
    response.patchType = 'JSONPatch';
  }
  const allWarnings = result.warnings?.length ? [...warnings, ...result.warnings] : warnings;
  if (allWarnings.length) response.warnings = allWarnings;
  if (Object.keys(auditAnnotations).length) response.auditAnnotations = auditAnnotations;
  const review: AdmissionReview = { apiVersion: ADMISSION_API_VERSION, kind: 'AdmissionReview', response };
  return { text: JSON.stringify(review), response };
}
