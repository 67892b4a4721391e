// Writes the Secret of a ServiceCredentialBinding: created with a controller reference to the
// binding, replaced when it is ours, refused when someone else's Secret has the name. The type of a
// Secret is immutable, so a changed type means delete and create.

import { isInvalid, isNotFound } from '@bindery/kube';
import type { KubeObject } from '@bindery/kube';
import type { ReconcileContext } from '@bindery/runtime';
import type { CredentialSecret } from '../credentials/secret.ts';

export class SecretNotOwnedError extends Error {
  readonly reason = 'SecretNotOwned';
  constructor(message: string) {
    super(message);
    this.name = 'SecretNotOwnedError';
  }
}

const secretType = { apiVersion: 'v1', kind: 'Secret' } as const;

/** Creates or replaces `secret`; throws `SecretNotOwnedError` when a Secret of that name is not the binding's. */
export async function writeCredentialSecret(
  ctx: ReconcileContext,
  secret: CredentialSecret,
  ownerUID: string,
): Promise<void> {
  const ref = { ...secretType, name: secret.metadata.name, namespace: secret.metadata.namespace };
  let existing: KubeObject | undefined;
  try {
    existing = await ctx.config.apiReader.get(ref, { signal: ctx.signal, metadataOnly: true });
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  if (!existing) {
    await ctx.config.client.create(secret as unknown as KubeObject, { signal: ctx.signal });
    return;
  }
  const controller = existing.metadata.ownerReferences?.find((o) => o.controller === true);
  if (controller?.uid !== ownerUID) {
    throw new SecretNotOwnedError(
      `Secret ${secret.metadata.namespace}/${secret.metadata.name} exists and is not controlled by this ServiceCredentialBinding; set spec.secretName to another name`,
    );
  }
  const replacement = {
    ...secret,
    metadata: { ...secret.metadata, resourceVersion: existing.metadata.resourceVersion },
  } as unknown as KubeObject;
  try {
    await ctx.config.client.update(replacement, { signal: ctx.signal });
  } catch (err) {
    // A Secret's type is immutable: a new type (the spec's `type` changed) means a new Secret.
    if (!isInvalid(err)) throw err;
    await ctx.config.client.delete(ref, { signal: ctx.signal });
    await ctx.config.client.create(secret as unknown as KubeObject, { signal: ctx.signal });
  }
}

/** Deletes the binding's Secret when it is the binding's; a missing one is fine. */
export async function deleteCredentialSecret(
  ctx: ReconcileContext,
  namespace: string,
  name: string,
  ownerUID: string,
): Promise<void> {
  const ref = { ...secretType, name, namespace };
  try {
    const existing = await ctx.config.apiReader.get(ref, { signal: ctx.signal, metadataOnly: true });
    if (!existing.metadata.ownerReferences?.some((o) => o.controller === true && o.uid === ownerUID)) return;
    await ctx.config.client.delete(ref, { signal: ctx.signal });
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}
