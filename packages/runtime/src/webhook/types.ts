// AdmissionReview `admission.k8s.io/v1`: what the API server POSTs to a webhook and what it
// expects back. Objects stay plain JSON (`unknown` until a handler validates them).

export const ADMISSION_API_VERSION = 'admission.k8s.io/v1';

export type AdmissionOperation = 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';

export interface GroupVersionKindRef {
  group: string;
  version: string;
  kind: string;
}

export interface GroupVersionResourceRef {
  group: string;
  version: string;
  resource: string;
}

export interface AdmissionUserInfo {
  username?: string;
  uid?: string;
  groups?: string[];
  extra?: Record<string, string[]>;
}

export interface AdmissionRequest<T = unknown> {
  /** Copied into the response: the API server matches the answer by it. */
  uid: string;
  /** The kind of the object, in the version the webhook registered for. */
  kind: GroupVersionKindRef;
  resource: GroupVersionResourceRef;
  subResource?: string;
  /** The kind the client sent; differs from `kind` when `matchPolicy: Equivalent` converted it. */
  requestKind?: GroupVersionKindRef;
  requestResource?: GroupVersionResourceRef;
  requestSubResource?: string;
  /** Empty on CREATE when the client set `generateName` only. */
  name?: string;
  namespace?: string;
  operation: AdmissionOperation;
  userInfo: AdmissionUserInfo;
  /** The object being admitted; absent (null) on DELETE. */
  object?: T | null;
  /** The existing object on UPDATE and DELETE. */
  oldObject?: T | null;
  /** True when the request will not be persisted: a webhook with side effects must not make them. */
  dryRun?: boolean;
  /** CreateOptions, UpdateOptions, DeleteOptions or PatchOptions of the request. */
  options?: unknown;
}

export interface AdmissionStatus {
  /** HTTP-style code the API server reports to the client (403 for a denial, 500 for a failure). */
  code?: number;
  message?: string;
  /** A `metav1.StatusReason`, such as `Forbidden`, `Invalid` or `InternalError`. */
  reason?: string;
}

export interface AdmissionResponse {
  uid: string;
  allowed: boolean;
  status?: AdmissionStatus;
  /** Base64 of a JSON Patch (RFC 6902) array; mutating webhooks only. */
  patch?: string;
  patchType?: 'JSONPatch';
  /** Shown to the client (kubectl prints them); keep each under 120 characters, no newlines. */
  warnings?: string[];
  auditAnnotations?: Record<string, string>;
}

export interface AdmissionReview<T = unknown> {
  apiVersion: typeof ADMISSION_API_VERSION;
  kind: 'AdmissionReview';
  request?: AdmissionRequest<T>;
  response?: AdmissionResponse;
}

/** A `metav1.Status`: the body of every answer that is not an AdmissionReview (404, 405, 413, 415, 400). */
export interface StatusBody {
  apiVersion: 'v1';
  kind: 'Status';
  status: 'Failure';
  code: number;
  reason: string;
  message: string;
}
