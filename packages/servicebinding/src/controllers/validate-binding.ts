// Step 0 of the ServiceBinding reconciler: spec problems the CRD schema lets through (the
// validating webhook would refuse them) are reported, and nothing is touched.

import { HaltSubReconcilers, SyncReconciler } from '@bindery/runtime';
import {
  ServiceBindingConditions,
  ServiceBindingReasons,
  formatFieldError,
  validateServiceBinding,
} from '../apis/index.ts';
import type { ServiceBinding } from '../apis/index.ts';
import { conditions, warn } from './binding-context.ts';

/** Spec problems the CRD schema lets through (a webhook would refuse them): reported, nothing touched. */
export function validateBinding(): SyncReconciler<ServiceBinding> {
  return new SyncReconciler<ServiceBinding>({
    name: 'ValidateBinding',
    sync: (ctx, binding) => {
      const errors = validateServiceBinding(binding);
      if (errors.length === 0) return;
      const message = `invalid ServiceBinding: ${errors.map(formatFieldError).join('; ')}`;
      conditions(ctx, binding).markFalse(
        ServiceBindingConditions.workloadProjected,
        ServiceBindingReasons.invalidSpec,
        message,
      );
      warn(ctx, binding, ServiceBindingReasons.invalidSpec, message);
      throw new HaltSubReconcilers('invalid spec');
    },
  });
}
