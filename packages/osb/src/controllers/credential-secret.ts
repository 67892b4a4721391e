// The Secret of a ServiceCredentialBinding: its name, what goes in it from the broker's answer, and
// which binding a Secret belongs to. It is written with a controller reference to the binding,
// replaced when it is ours, refused when someone else's Secret has the name. The type of a Secret is
// immutable, so a changed type means delete and create.

import { isInvalid, isNotFound } from '@bindery/kube';
import type { KubeObject } from '@bindery/kube';
import { formatMetaTime } from '@bindery/runtime';
import type { ReconcileContext, Request } from '@bindery/runtime';
import type { ServiceCredentialBinding, ServiceCredentialBindingStatus } from '../apis/index.ts';
import { buildCredentialSecret } from '../credentials/secret.ts';
import type { CredentialSecret, CredentialSecretResult } from '../credentials/secret.ts';
import { brokerOf } from './instance-refs.ts';
import type { AnyClass } from './instance-refs.ts';
import { serviceCredentialBindingType } from './serviceinstance.ts';

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

/**
 * The Secret the binding's current credentials go to. Each rotation writes a new one
 * (`<name>-r<n>`) so that `.status.binding.name` changes and servicebinding.io re-projects the workload.
 */
export function secretName(binding: ServiceCredentialBinding): string {
  return rotatedSecretName(
    binding.spec.secretName ?? binding.metadata.name ?? '',
    binding.status?.secretGeneration ?? 0,
  );
}

/** `base` for generation 0, else `base-r<generation>`, cut to fit a Secret name (a DNS subdomain, 253). */
export function rotatedSecretName(base: string, generation: number): string {
  if (generation <= 0) return base;
  const suffix = `-r${generation}`;
  // A cut name must not end in '-' or '.' before the suffix (".-" is not a DNS subdomain).
  const head = base.slice(0, 253 - suffix.length).replace(/[-.]+$/, '');
  return `${head}${suffix}`;
}

/** The Secret holding `credentials` (from the broker) for `binding`, or why it cannot be made. */
export function bindingCredentialSecret(
  binding: ServiceCredentialBinding,
  serviceClass: AnyClass,
  credentials: unknown,
): CredentialSecretResult {
  return buildCredentialSecret({
    name: secretName(binding),
    namespace: binding.metadata.namespace ?? '',
    owner: {
      apiVersion: serviceCredentialBindingType.apiVersion,
      kind: serviceCredentialBindingType.kind,
      name: binding.metadata.name ?? '',
      uid: binding.metadata.uid ?? '',
    },
    credentials,
    ...(binding.spec.type !== undefined ? { type: binding.spec.type } : {}),
    ...(binding.spec.provider !== undefined ? { provider: binding.spec.provider } : {}),
    offering: {
      name: serviceClass.spec.externalName,
      ...(serviceClass.spec.tags ? { tags: serviceClass.spec.tags } : {}),
      ...(serviceClass.spec.externalMetadata ? { metadata: serviceClass.spec.externalMetadata } : {}),
    },
    brokerName: brokerOf(serviceClass).name,
  });
}

export async function secretExists(
  ctx: ReconcileContext,
  binding: ServiceCredentialBinding,
): Promise<boolean> {
  try {
    await ctx.config.apiReader.get(
      { ...secretType, namespace: binding.metadata.namespace ?? '', name: secretName(binding) },
      { signal: ctx.signal, metadataOnly: true },
    );
    return true;
  } catch {
    return false;
  }
}

/** The binding that controls a Secret, for the watch that rewrites a Secret deleted by hand. */
export function owningBinding(secret: KubeObject): Request[] {
  const owner = secret.metadata.ownerReferences?.find(
    (o) =>
      o.controller === true &&
      o.kind === serviceCredentialBindingType.kind &&
      o.apiVersion === serviceCredentialBindingType.apiVersion,
  );
  return owner && secret.metadata.namespace
    ? [{ namespace: secret.metadata.namespace, name: owner.name }]
    : [];
}

/** Records `expires_at` and `renew_before` of a bind response's `metadata` (metav1.Time), or clears them. */
export function recordCredentialTimes(status: ServiceCredentialBindingStatus, metadata: unknown): void {
  const m = (metadata ?? {}) as { expires_at?: unknown; renew_before?: unknown };
  const expiresAt = metaTime(m.expires_at);
  const renewBefore = metaTime(m.renew_before);
  if (expiresAt !== undefined) status.expiresAt = expiresAt;
  else delete status.expiresAt;
  if (renewBefore !== undefined) status.renewBefore = renewBefore;
  else delete status.renewBefore;
}

function metaTime(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const t = Date.parse(value);
  return Number.isNaN(t) ? undefined : formatMetaTime(t);
}
