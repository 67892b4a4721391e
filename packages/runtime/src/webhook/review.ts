// One AdmissionReview through its handler: the body checked (a 400 that says what is wrong), the
// handler run with what is left of the request's deadline and a signal that aborts when it runs out or
// the API server hangs up, and the answer encoded. A handler that throws, times out or returns what
// JSON cannot carry is answered as failed (naming the path and the error, never the object).

import { errorMessage } from '@bindery/kube';
import type { Logger } from 'pino';
import { reject, send } from './exchange.ts';
import type { Exchange } from './exchange.ts';
import type { AdmissionContext, AdmissionHandler, AdmissionResult } from './handlers.ts';
import { encodeReview, jsonProblem, reviewProblem } from './review-codec.ts';
import { ADMISSION_API_VERSION } from './types.ts';
import type { AdmissionRequest, AdmissionResponse, AdmissionReview } from './types.ts';

export interface ReviewOptions {
  log: Logger;
  /** From the request's first byte (`ex.started`) to its answer. */
  requestTimeoutMs: number;
}

/** Answers the review in `body` (the whole request body) with `handler`'s verdict. */
export async function serveReview(
  ex: Exchange,
  handler: AdmissionHandler,
  body: Buffer,
  options: ReviewOptions,
): Promise<void> {
  const { log, requestTimeoutMs } = options;
  const request = parseReview(log, ex, body);
  if (request === undefined) return;

  // What is left of the request's deadline bounds the handler: then it is answered as failed
  // and its signal aborts. So does the API server hanging up.
  const abort = new AbortController();
  let deadline: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => {
    const remaining = requestTimeoutMs - (performance.now() - ex.started);
    deadline = setTimeout(
      () => {
        abort.abort(new Error(`the admission request timed out after ${requestTimeoutMs} ms`));
        resolve('timeout');
      },
      Math.max(0, remaining),
    );
  });
  ex.res.once('close', () => {
    clearTimeout(deadline);
    if (!ex.res.writableFinished) abort.abort(new Error('the API server closed the connection'));
  });

  const warnings: string[] = [];
  const auditAnnotations: Record<string, string> = {};
  let requestLog: Logger | undefined;
  const ctx: AdmissionContext = {
    request,
    path: ex.path,
    get log() {
      requestLog ??= log.child({
        uid: request.uid,
        webhook: ex.path,
        kind: request.kind?.kind,
        namespace: request.namespace,
        name: request.name,
        operation: request.operation,
      });
      return requestLog;
    },
    signal: abort.signal,
    warn: (message) => void warnings.push(message),
    auditAnnotation: (key, value) => void (auditAnnotations[key] = value),
  };

  let result: AdmissionResult;
  try {
    const outcome = await Promise.race([handler.handle(ctx), timedOut]);
    if (outcome === 'timeout') {
      result = failed(ex.path, `did not answer within ${requestTimeoutMs} ms`);
      ctx.log.error({ timeoutMs: requestTimeoutMs }, 'admission handler timed out');
    } else {
      result = outcome;
    }
  } catch (err) {
    result = failed(ex.path, `failed: ${errorMessage(err)}`);
    // The message and stack only: a thrown value's other properties may carry object content.
    ctx.log.error(
      { reason: errorMessage(err), stack: err instanceof Error ? err.stack : undefined },
      'admission handler failed',
    );
  } finally {
    clearTimeout(deadline);
  }
  if (ex.res.destroyed) return;

  let answer: { text: string; response: AdmissionResponse };
  try {
    answer = encodeReview(request.uid, result, warnings, auditAnnotations);
  } catch (err) {
    // A patch or warning that JSON cannot carry (a BigInt, a cycle) is the handler's failure.
    result = failed(ex.path, `returned a result that is not JSON: ${errorMessage(err)}`);
    ctx.log.error({ reason: errorMessage(err) }, 'admission handler result cannot be encoded');
    answer = encodeReview(request.uid, result, [], {});
  }
  const { response } = answer;
  send(ex, 200, answer.text);
  if (log.isLevelEnabled('debug')) {
    ctx.log.debug(
      {
        allowed: response.allowed,
        code: response.status?.code,
        patched: response.patch !== undefined,
        ms: Math.round((performance.now() - ex.started) * 100) / 100,
      },
      'admission request answered',
    );
  }
}

/** The review's request, or undefined once the body has been refused with a 400. */
function parseReview(log: Logger, ex: Exchange, body: Buffer): AdmissionRequest | undefined {
  const expected = `an AdmissionReview ${ADMISSION_API_VERSION}`;
  if (body.length === 0) {
    reject(log, ex, 400, `the request body is empty: expected ${expected}`);
    return undefined;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch (err) {
    reject(log, ex, 400, `${jsonProblem(err)}: expected ${expected}`);
    return undefined;
  }
  const problem = reviewProblem(parsed);
  if (problem !== undefined) {
    reject(log, ex, 400, `the request body is not ${expected}: ${problem}`);
    return undefined;
  }
  return (parsed as AdmissionReview).request;
}

function failed(path: string, what: string): AdmissionResult {
  return {
    allowed: false,
    status: { code: 500, reason: 'InternalError', message: `admission webhook handler ${path} ${what}` },
  };
}
