// A projection hook (docs/user-guide.md, "Projection hooks"): labels every workload a binding is
// projected into with the binding's name, so `kubectl get deploy -l bindings.example.com/orders-db`
// lists them, and takes the label off when the binding goes. Type-checked with the repository.

import type { Manager } from '@bindery/runtime';
import { addServiceBindingController } from '@bindery/servicebinding';
import type { ProjectionHook } from '@bindery/servicebinding';

export const boundLabelPrefix = 'bindings.example.com/';

export const labelBoundWorkloads: ProjectionHook = {
  name: 'label-bound-workloads',
  // Once per reconcile of a binding; what it returns edits each workload before it is patched.
  forBinding: ({ binding }) => {
    const label = `${boundLabelPrefix}${binding.metadata.name ?? ''}`;
    return {
      postProjection: (workload) => {
        workload.metadata.labels = { ...workload.metadata.labels, [label]: 'true' };
      },
      postUnprojection: (workload) => {
        if (workload.metadata.labels?.[label] === undefined) return;
        const { [label]: _, ...rest } = workload.metadata.labels;
        workload.metadata.labels = rest;
      },
    };
  },
};

export function addController(manager: Manager): void {
  addServiceBindingController(manager, { hooks: [labelBoundWorkloads] });
}
