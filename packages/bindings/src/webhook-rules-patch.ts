// Writes webhook rules into a MutatingWebhookConfiguration that someone else owns (the install
// manifests): only the `rules` of the named webhook (or of every webhook), by JSON Patch, and only
// when they differ. Each changed webhook is patched with a `test` of its name at its index, so a
// concurrent reordering fails the patch instead of writing the wrong entry.

import { isNotFound } from '@bindery/kube';
import type { KubeObject } from '@bindery/kube';
import { deepEqual } from '@bindery/runtime';
import type { Client, JsonPatchOperation } from '@bindery/runtime';
import type { WebhookRule } from './webhook-rules.ts';

export interface PatchWebhookRulesOptions {
  /** Reads from the API server (not a cache: a stale read would make the patch's test fail again). */
  client: Pick<Client, 'get' | 'patch'>;
  /** The MutatingWebhookConfiguration. */
  configurationName: string;
  /** The webhook whose rules are set; default: every webhook of the configuration. */
  webhookName?: string;
  rules: WebhookRule[];
  signal?: AbortSignal;
}

interface WebhookConfiguration extends KubeObject {
  webhooks?: Array<{ name?: string; rules?: unknown }>;
}

/** `missing` when the configuration does not exist (yet). */
export async function patchWebhookRules(
  options: PatchWebhookRulesOptions,
): Promise<'patched' | 'unchanged' | 'missing'> {
  const { client, signal } = options;
  const ref = {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'MutatingWebhookConfiguration',
    name: options.configurationName,
  };
  let current: WebhookConfiguration;
  try {
    current = await client.get<WebhookConfiguration>(ref, signal ? { signal } : {});
  } catch (err) {
    if (!isNotFound(err)) throw err;
    return 'missing';
  }
  const ops: JsonPatchOperation[] = [];
  (current.webhooks ?? []).forEach((webhook, i) => {
    if (options.webhookName !== undefined && webhook.name !== options.webhookName) return;
    if (deepEqual(webhook.rules ?? [], options.rules)) return;
    ops.push(
      { op: 'test', path: `/webhooks/${i}/name`, value: webhook.name },
      { op: 'add', path: `/webhooks/${i}/rules`, value: options.rules },
    );
  });
  if (ops.length === 0) return 'unchanged';
  await client.patch(ref, ops, { type: 'json', ...(signal ? { signal } : {}) });
  return 'patched';
}
