// SecretMount: a binding that mounts a Secret, as a volume, at a path in every container
// (init containers too) of its subjects — and takes exactly that back out when it goes.

import { createHash } from 'node:crypto';
import { isObject } from '@bindery/kube';
import type { KubeObject, LabelSelector } from '@bindery/kube';
import { InvalidBindingError, parseSubject } from '@bindery/bindings';
import type { Bindable, BindableFactory } from '@bindery/bindings';
import type { Condition, Container, PodSpecable, VolumeMount } from '@bindery/runtime';

export const secretMountType = { apiVersion: 'samples.bindery.dev/v1alpha1', kind: 'SecretMount' };

export interface SecretMount extends KubeObject {
  spec: {
    subject: { apiVersion: string; kind: string; name?: string; selector?: LabelSelector };
    /** A Secret in the binding's namespace; only its name is ever read. */
    secretName: string;
    /** Absolute, without `..`: where the Secret's keys appear as files. */
    mountPath: string;
  };
  status?: { observedGeneration?: number; conditions?: Condition[] };
}

const dnsSubdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** The volume's name: readable when the binding's name fits a DNS label, else a stable hash. */
export function volumeNameOf(bindingName: string): string {
  const readable = `secret-mount-${bindingName.replaceAll('.', '-')}`;
  if (readable.length <= 63) return readable;
  const hash = createHash('sha256').update(bindingName).digest('hex').slice(0, 16);
  return `secret-mount-${hash}`;
}

/** `mountPath` must be absolute and must not climb out of where it points (`..`). */
export function validateMountPath(mountPath: unknown, field = 'spec.mountPath'): string {
  if (typeof mountPath !== 'string' || mountPath === '') throw new InvalidBindingError(field, 'is required');
  if (!mountPath.startsWith('/')) {
    throw new InvalidBindingError(field, `must be an absolute path, got ${JSON.stringify(mountPath)}`);
  }
  if (mountPath.split('/').includes('..')) {
    throw new InvalidBindingError(field, `must not contain "..", got ${JSON.stringify(mountPath)}`);
  }
  if (mountPath.replaceAll('/', '') === '') throw new InvalidBindingError(field, 'must not be "/"');
  if (mountPath.includes(':')) throw new InvalidBindingError(field, 'must not contain ":"');
  return mountPath;
}

function validateSecretName(secretName: unknown, field = 'spec.secretName'): string {
  if (typeof secretName !== 'string' || secretName === '') {
    throw new InvalidBindingError(field, 'is required');
  }
  if (secretName.length > 253 || !dnsSubdomain.test(secretName)) {
    throw new InvalidBindingError(field, `must be the name of a Secret, got ${JSON.stringify(secretName)}`);
  }
  return secretName;
}

/** Every container of the pod template, init containers first, with its field path for errors. */
function containersOf(ps: PodSpecable): Array<{ container: Container; field: string }> {
  const spec = ps.spec.template.spec;
  const out: Array<{ container: Container; field: string }> = [];
  for (const list of ['initContainers', 'containers'] as const) {
    (spec[list] ?? []).forEach((container, i) => out.push({ container, field: `${list}[${i}]` }));
  }
  return out;
}

/** The Bindable of a SecretMount; throws `InvalidBindingError` for a spec it cannot apply. */
export const secretMount: BindableFactory<SecretMount> = (binding) => {
  const spec: unknown = binding.spec;
  if (!isObject(spec)) throw new InvalidBindingError('spec', 'is required');
  const subject = parseSubject(binding, spec['subject']);
  const secretName = validateSecretName(spec['secretName']);
  const mountPath = validateMountPath(spec['mountPath']);
  const volumeName = volumeNameOf(binding.metadata.name ?? '');

  return {
    binding,
    subject,

    do(_ctx, ps) {
      // Check every clash first, so a refused object is left as it was.
      const spec = ps.spec.template.spec;
      const existing = spec.volumes?.find((v) => v.name === volumeName);
      if (existing && Object.keys(existing).some((k) => k !== 'name' && k !== 'secret')) {
        throw new Error(
          `spec.template.spec.volumes: a volume named "${volumeName}" exists and is not a secret`,
        );
      }
      for (const { container, field } of containersOf(ps)) {
        const clash = container.volumeMounts?.find((m) => m.mountPath === mountPath && m.name !== volumeName);
        if (clash) {
          throw new Error(
            `spec.template.spec.${field}.volumeMounts: ${mountPath} is already the mount path of volume "${clash.name}"`,
          );
        }
      }

      // Set only the fields this binding owns: the API server's defaults (the volume's
      // `defaultMode`) stay, so a second `do` changes nothing.
      if (existing) {
        const secret = isObject(existing['secret']) ? existing['secret'] : (existing['secret'] = {});
        secret['secretName'] = secretName;
      } else {
        (spec.volumes ??= []).push({ name: volumeName, secret: { secretName } });
      }
      for (const { container } of containersOf(ps)) {
        const mounts = (container.volumeMounts ??= []);
        const mount = mounts.find((m) => m.name === volumeName);
        if (mount) {
          mount.mountPath = mountPath;
          mount.readOnly = true;
        } else {
          mounts.push({ name: volumeName, mountPath, readOnly: true } satisfies VolumeMount);
        }
      }
    },

    undo(_ctx, ps) {
      const spec = ps.spec.template.spec;
      if (spec.volumes) {
        spec.volumes = spec.volumes.filter((v) => v.name !== volumeName);
        // The API server omits empty lists, so an emptied list was absent before `do`.
        if (spec.volumes.length === 0) delete spec.volumes;
      }
      for (const { container } of containersOf(ps)) {
        if (!container.volumeMounts) continue;
        container.volumeMounts = container.volumeMounts.filter((m) => m.name !== volumeName);
        if (container.volumeMounts.length === 0) delete container.volumeMounts;
      }
    },
  } satisfies Bindable;
};
