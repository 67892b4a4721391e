// The test kit of @bindery/runtime (`@bindery/runtime/testing`): a fake client with
// API-server semantics, fake recorder and tracker, and table runners after
// reconciler.io's `testing` package. See docs/testing.md.

export * from './config.ts';
export * from './diff.ts';
export * from './errors.ts';
export * from './expect.ts';
export * from './fake-client.ts';
export { induceFailure } from './actions.ts';
export type { Action, ActionRef, Reactor, ReactorOutcome, Verb } from './actions.ts';
export { formatTime, jsonCopy, testEpoch } from './object-store.ts';
export * from './recorder.ts';
export * from './table.ts';
export * from './admission-table.ts';
export * from './tracker.ts';
