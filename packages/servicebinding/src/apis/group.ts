// The API group and the versions every servicebinding.io resource is served in.

export const group = 'servicebinding.io';

/** 1.1 (storage), 1.0, and the 1.0.0-rc3 pre-release; one schema and one behaviour for all. */
export const versions = ['v1', 'v1beta1', 'v1alpha3'] as const;
export type Version = (typeof versions)[number];

export const storageVersion: Version = 'v1';

export const deprecatedVersions: Partial<Record<Version, string>> = {
  v1alpha3:
    'servicebinding.io/v1alpha3 is deprecated and will be removed in a future release, use v1 instead',
};

/** Every served apiVersion, e.g. for webhook rules and watches that must match all of them. */
export const apiVersions: readonly string[] = versions.map((v) => `${group}/${v}`);
