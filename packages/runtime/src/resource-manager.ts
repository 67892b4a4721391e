// Creates, updates and deletes one managed object so it matches what is desired
// (reconciler.io's ResourceManager / UpdatingObjectManager).

import { describeObject, isNotFound, LruCache, refOf } from '@bindery/kube';
import type { KubeObject, ObjectRef, TypeRef } from '@bindery/kube';
import type { Logger } from 'pino';
import { deepCopy, deepEqual } from './equality.ts';
import { addFinalizer, clearFinalizer } from './finalizers.ts';
import { applyMergePatch, createMergePatch } from './json-patch.ts';
import type { ReconcileContext } from './reconciler.ts';

export interface ResourceManagerOptions<C extends KubeObject> {
  /** Names the manager in logs. */
  name: string;
  /** The type of the managed objects. */
  type: TypeRef;
  /**
   * Copies what we own from `desired` onto `current` (typically spec, labels,
   * annotations), leaving the rest (status, fields others own) alone.
   */
  mergeBeforeUpdate: (current: C, desired: C) => void;
  /** Copies immutable fields of `current` onto `desired`, so an update does not fail for them. */
  harmonizeImmutableFields?: (current: C, desired: C) => void;
  /**
   * Set on the reconciled resource before the managed object is created and
   * cleared once it is gone: for objects garbage collection cannot reach
   * (another namespace, cluster-scoped, another cluster).
   */
  finalizer?: string;
  /** Track the managed object by the reconciled resource (for objects without an owner reference). */
  trackDesired?: boolean;
  /** What to log of an object; never log Secret data. Default: identity only. */
  sanitize?: (obj: C) => unknown;
  /** How long a learned webhook mutation is remembered. Default one hour. */
  mutationCacheTtlMs?: number;
  /**
   * Of how many objects mutations are remembered (least recently used forgotten first). Objects
   * deleted by others are never looked up again: without a cap they would stay. Default 4096.
   */
  mutationCacheSize?: number;
}

interface Mutation {
  /** The merge patch mutating webhooks applied on top of what we wrote. */
  patch: unknown;
  /** What was desired then: a new desired state must be written, not masked by an old mutation. */
  desired: unknown;
  /** It holds only while the object's generation is the one we produced. */
  generation: number | undefined;
  expiresAt: number;
}

/** An object came from the API server (a skeleton built for a missing object did not). */
export function existsOnServer(obj: KubeObject | undefined): obj is KubeObject {
  if (obj === undefined) return false;
  const m = obj.metadata;
  return m.creationTimestamp !== undefined || m.resourceVersion !== undefined || m.uid !== undefined;
}

export class ResourceManager<C extends KubeObject> {
  readonly name: string;
  readonly #options: ResourceManagerOptions<C>;
  /**
   * By uid: what mutating webhooks changed in our last write. Without it, a
   * webhook that defaults or injects a field we do not set would be undone by
   * every update, and redone by the webhook, forever.
   */
  readonly #mutations: LruCache<string, Mutation>;

  constructor(options: ResourceManagerOptions<C>) {
    this.name = options.name;
    this.#options = options;
    this.#mutations = new LruCache({ maxEntries: options.mutationCacheSize ?? 4096 });
  }

  /**
   * Makes the managed object match `desired`: creates it when `actual` does not
   * exist, updates it when the merge changes it, deletes it when `desired` is
   * undefined. `resource` is the reconciled object (events are recorded on it).
   * Returns the object as the API server has it now, or undefined.
   */
  async manage(
    ctx: ReconcileContext,
    resource: KubeObject,
    actual: C | undefined,
    desired: C | undefined,
  ): Promise<C | undefined> {
    const o = this.#options;
    const recorder = ctx.originalConfig.recorder;
    const client = ctx.config.client;
    const log = ctx.log.child({ resourceManager: this.name });

    if (!existsOnServer(actual) && desired === undefined) {
      if (o.finalizer) await clearFinalizer(ctx, resource, o.finalizer);
      return undefined;
    }

    if (desired === undefined) {
      const existing = actual as C;
      if (existing.metadata.deletionTimestamp === undefined) {
        log.info({ resource: describeObject(existing) }, 'deleting unwanted resource');
        try {
          const uid = existing.metadata.uid;
          await client.delete(this.#ref(existing), {
            signal: ctx.signal,
            // Never delete a newer object that took the same name.
            ...(uid ? { preconditions: { uid } } : {}),
          });
        } catch (err) {
          if (isNotFound(err)) {
            // Already gone: what we wanted.
            this.#forget(existing);
            return undefined;
          }
          throw this.#writeFailed(ctx, log, resource, 'delete', existing, err);
        }
        this.#forget(existing);
        recorder.event(resource, {
          type: 'Normal',
          reason: 'Deleted',
          note: `Deleted ${this.#kind(existing)} ${JSON.stringify(existing.metadata.name)}`,
        });
      }
      return undefined;
    }

    if (o.finalizer) await addFinalizer(ctx, resource, o.finalizer);

    const asked = deepCopy(desired);
    if (!existsOnServer(actual)) {
      log.info({ resource: this.#sanitize(desired) }, 'creating resource');
      let created: C;
      try {
        created = await client.create(desired, { signal: ctx.signal });
      } catch (err) {
        throw this.#writeFailed(ctx, log, resource, 'create', desired, err);
      }
      // Tracked after the create: a generated name is known only now.
      if (o.trackDesired) ctx.config.tracker.trackObject(this.#withType(created), this.#by(ctx, resource));
      this.#remember(ctx, created, desired, asked);
      recorder.event(resource, {
        type: 'Normal',
        reason: 'Created',
        note: `Created ${this.#kind(created)} ${JSON.stringify(created.metadata.name)}`,
      });
      return created;
    }

    // Looked up before harmonizing, which edits `desired`: the cache is keyed by what the caller asked for.
    const mutation = this.#lookup(ctx, actual, desired);
    if (o.harmonizeImmutableFields) o.harmonizeImmutableFields(actual, desired);

    // What we would write if the webhooks were to mutate it as they did last time.
    let desiredPatched = deepCopy(desired);
    if (mutation) {
      try {
        desiredPatched = applyMergePatch<C>(desiredPatched, mutation.patch);
      } catch (err) {
        log.info({ err }, 'unable to apply the mutation cache; updating without it');
      }
    }

    const current = deepCopy(actual);
    if (o.trackDesired) ctx.config.tracker.trackObject(this.#withType(current), this.#by(ctx, resource));
    o.mergeBeforeUpdate(current, desiredPatched);
    if (deepEqual(current, actual)) {
      log.debug({ resource: describeObject(current) }, 'resource is in sync, no update required');
      return actual;
    }
    // A diff only of what `sanitize` lets through: the child may be a Secret.
    const diff = o.sanitize ? createMergePatch(this.#sanitize(actual), this.#sanitize(current)) : undefined;
    log.info({ resource: describeObject(current), diff }, 'updating resource');
    let updated: C;
    try {
      updated = await client.update(current, { signal: ctx.signal });
    } catch (err) {
      throw this.#writeFailed(ctx, log, resource, 'update', current, err);
    }
    this.#remember(ctx, updated, desired, asked);
    recorder.event(resource, {
      type: 'Normal',
      reason: 'Updated',
      note: `Updated ${this.#kind(updated)} ${JSON.stringify(updated.metadata.name)}`,
    });
    return updated;
  }

  /** Learns what the API server (its mutating webhooks) changed in what we wrote. */
  #remember(ctx: ReconcileContext, written: C, desired: C, asked: C): void {
    const uid = written.metadata.uid;
    if (!uid) return;
    const base = deepCopy(written);
    this.#options.mergeBeforeUpdate(base, deepCopy(desired));
    const patch = createMergePatch(base, written);
    if (patch === undefined) {
      this.#mutations.delete(uid);
      return;
    }
    this.#mutations.set(uid, {
      patch,
      desired: asked,
      generation: written.metadata.generation,
      expiresAt: this.#now(ctx) + (this.#options.mutationCacheTtlMs ?? 60 * 60 * 1000),
    });
  }

  #lookup(ctx: ReconcileContext, actual: C, desired: C): Mutation | undefined {
    const uid = actual.metadata.uid;
    if (!uid) return undefined;
    const m = this.#mutations.get(uid);
    if (!m) return undefined;
    if (m.expiresAt <= this.#now(ctx)) {
      this.#mutations.delete(uid);
      return undefined;
    }
    // A new desired state, or a spec someone else changed since: the learned mutation may no longer apply.
    return m.generation === actual.metadata.generation && deepEqual(m.desired, desired) ? m : undefined;
  }

  #forget(obj: C): void {
    if (obj.metadata.uid) this.#mutations.delete(obj.metadata.uid);
  }

  #now(ctx: ReconcileContext): number {
    return ctx.config.clock.now();
  }

  /**
   * Logs a write that failed and records it on `resource` as a Warning event (`CreationFailed`,
   * `UpdateFailed`, `DeleteFailed`); returns `err` for the caller to throw.
   */
  #writeFailed(
    ctx: ReconcileContext,
    log: Logger,
    resource: KubeObject,
    verb: 'create' | 'update' | 'delete',
    obj: C,
    err: unknown,
  ): unknown {
    log.error({ err, resource: describeObject(obj) }, writeFailures[verb].log);
    const name = obj.metadata.name ?? (verb === 'create' ? obj.metadata.generateName : undefined);
    ctx.originalConfig.recorder.event(resource, {
      type: 'Warning',
      reason: writeFailures[verb].reason,
      note: `Failed to ${verb} ${this.#kind(obj)} ${JSON.stringify(name)}: ${(err as Error).message}`,
    });
    return err;
  }

  #kind(obj: C): string {
    return obj.kind ?? this.#options.type.kind;
  }

  #withType(obj: C): C {
    return { ...obj, apiVersion: obj.apiVersion ?? this.#options.type.apiVersion, kind: this.#kind(obj) };
  }

  #ref(obj: C): ObjectRef {
    return refOf(obj, this.#options.type);
  }

  #by(ctx: ReconcileContext, resource: KubeObject): ObjectRef {
    return refOf(resource, ctx.resourceType);
  }

  #sanitize(obj: C): unknown {
    if (this.#options.sanitize) return this.#options.sanitize(deepCopy(obj));
    return describeObject(obj);
  }
}

/** The log message and event reason of each write that failed. */
const writeFailures = {
  create: { log: 'unable to create resource', reason: 'CreationFailed' },
  update: { log: 'unable to update resource', reason: 'UpdateFailed' },
  delete: { log: 'unable to delete unwanted resource', reason: 'DeleteFailed' },
} as const;
