// Step 1 of the ServiceBinding reconciler (the RI's ResolveBindingSecret): the Secret the service
// exposes, or the Secret named directly. A changed `status.binding.name` is written, and the rest
// halted, before any workload is touched.

import { NoKindMatchError, groupKind, isForbidden, isNotFound } from '@bindery/kube';
import { HaltSubReconcilers, SyncReconciler } from '@bindery/runtime';
import type { Result } from '@bindery/runtime';
import { ServiceBindingConditions, ServiceBindingReasons } from '../apis/index.ts';
import type { ServiceBinding } from '../apis/index.ts';
import {
  isDirectSecretReference,
  provisionedServiceDuck,
  secretType,
  serviceRef,
} from '../resolver/index.ts';
import type { ResourceFor, SecretAccess } from '../resolver/index.ts';
import {
  conditions,
  formatSeconds,
  newResolver,
  permission,
  pollKey,
  secretNameKey,
  selfRef,
  serviceSlot,
  statusOf,
  warn,
} from './binding-context.ts';
import { describeDenied } from './kind-watcher.ts';
import type { KindWatcher } from './kind-watcher.ts';

export interface ResolveBindingSecretOptions {
  resourceFor: ResourceFor;
  kindWatcher?: KindWatcher | undefined;
  /** Provisioned Service kinds watched from the start (`groupKind`). */
  watchedServices: ReadonlySet<string>;
  pollMs: number;
  secretAccess: SecretAccess;
}

/**
 * DS-1/PS-1, SA-1..SA-3: resolves the binding Secret. A changed `status.binding.name` is written
 * (and the rest halted) before any workload is touched, as the RI does, so everything that
 * projects sees the new name. Not run while the binding is being deleted.
 */
export function resolveBindingSecret(options: ResolveBindingSecretOptions): SyncReconciler<ServiceBinding> {
  const { resourceFor, kindWatcher, watchedServices, pollMs, secretAccess } = options;
  return new SyncReconciler<ServiceBinding>({
    name: 'ResolveBindingSecret',
    sync: async (ctx, binding) => {
      const { config } = ctx;
      const ref = serviceRef(binding);
      const direct = isDirectSecretReference(ref);
      config.tracker.trackReference(ref, selfRef(binding));
      // A watched kind enqueues the binding through the tracker; the others are polled.
      let watched = direct || watchedServices.has(groupKind(ref));
      let pollNote = '';
      if (watched || kindWatcher === undefined) {
        kindWatcher?.release(ctx.request, serviceSlot);
      } else {
        try {
          // A duck-typed cache: identity and `.status.binding.name`, all the controller reads.
          const denied = await kindWatcher.watch(ctx.request, serviceSlot, ref, {
            transform: provisionedServiceDuck,
            signal: ctx.signal,
          });
          watched = denied === undefined;
          if (denied) {
            pollNote = `the controller may not watch ${ref.kind} (${describeDenied(denied)}): the service is polled every ${formatSeconds(pollMs)}`;
          }
        } catch (err) {
          // Not served: resolving the service below says so.
          if (!(err instanceof NoKindMatchError)) throw err;
        }
      }
      const poll: Result = watched ? {} : { requeueAfterMs: pollMs };
      const resolver = newResolver(ctx, resourceFor, secretAccess);
      const status = statusOf(binding);
      const cond = conditions(ctx, binding);
      const what = direct ? `the Secret "${ref.name}"` : `the service ${ref.kind} "${ref.name}"`;

      let resolved;
      try {
        resolved = await resolver.resolveService(binding, ctx.signal, { watched });
      } catch (err) {
        let reason: string;
        let message: string;
        // Retried even when halted: no watch event follows a CRD being installed or a
        // ClusterRole being added, and a polled service's creation has none either.
        let retry: Result = { requeueAfterMs: pollMs };
        if (isNotFound(err)) {
          // AMB-1: not found is False, as the spec says (the RI says Unknown).
          reason = ServiceBindingReasons.serviceNotFound;
          message = `${what} was not found`;
          retry = poll;
        } else if (err instanceof NoKindMatchError) {
          reason = ServiceBindingReasons.serviceNotFound;
          message = `${what} was not found: ${err.message}`;
        } else if (isForbidden(err)) {
          reason = ServiceBindingReasons.serviceForbidden;
          message = `the controller does not have permission to get ${what}: ${await permission(
            resourceFor,
            ref,
            'get',
            err,
          )}`;
        } else {
          throw err; // AMB-3: anything else is retried with backoff, status untouched.
        }
        cond.markFalse(ServiceBindingConditions.serviceAvailable, reason, message);
        warn(ctx, binding, reason, message);
        // The workloads keep what they have: a service that is back needs no new rollout.
        throw new HaltSubReconcilers(reason, retry);
      }

      if (resolved.secretName === undefined) {
        // AMB-2: Unknown, as the RI; the projection is removed from the workloads below.
        cond.markUnknown(
          ServiceBindingConditions.serviceAvailable,
          ServiceBindingReasons.serviceMissingBinding,
          'the service was found, but did not contain a binding secret',
        );
      } else {
        cond.markTrue(
          ServiceBindingConditions.serviceAvailable,
          ServiceBindingReasons.resolvedBindingSecret,
          pollNote,
        );
        // The bound Secret, for the Secret watch to enqueue the binding on rollout (a direct
        // Secret is tracked as the service already).
        if (!direct) {
          config.tracker.trackReference(
            { ...secretType, namespace: ref.namespace ?? '', name: resolved.secretName },
            selfRef(binding),
          );
        }
      }
      ctx.stash.set(secretNameKey, resolved.secretName);
      ctx.stash.set(pollKey, poll);

      const previous = binding.status?.binding?.name;
      if (previous !== resolved.secretName) {
        // SB-24 / AMB-19: persist the name first; the status update enqueues the binding again.
        if (resolved.secretName === undefined) delete status['binding'];
        else status['binding'] = { name: resolved.secretName };
        // The workloads still carry the previous Secret (or none): not Ready until the next pass
        // has projected this one.
        cond.markUnknown(
          ServiceBindingConditions.workloadProjected,
          ServiceBindingReasons.projectionPending,
          resolved.secretName === undefined
            ? 'the projection is being removed from the workloads'
            : `the Secret "${resolved.secretName}" is being projected into the workloads`,
        );
        throw new HaltSubReconcilers('binding secret changed');
      }
    },
  });
}
