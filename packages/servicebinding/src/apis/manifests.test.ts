import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as prettier from 'prettier';
import type { KubeObject } from '@bindery/kube';
import { parseAllDocuments } from 'yaml';
import { clusterWorkloadResourceMappingCRD, serviceBindingCRD } from './crds.ts';
import { manifests } from './manifests.ts';

const root = fileURLToPath(new URL('../../../../', import.meta.url));

interface CRDVersion {
  name: string;
  served: boolean;
  storage: boolean;
  deprecated?: boolean;
  deprecationWarning?: string;
  subresources: Record<string, unknown>;
  additionalPrinterColumns: Array<{ name: string; type: string; jsonPath: string }>;
  schema: unknown;
}
interface CRDSpec {
  group: string;
  scope: string;
  names: {
    kind: string;
    plural: string;
    singular: string;
    listKind: string;
    shortNames?: string[];
    categories?: string[];
  };
  versions: CRDVersion[];
  conversion: { strategy: string };
}
function firstDifference(actual: string, expected: string): string {
  const a = actual.split('\n');
  const e = expected.split('\n');
  const line = e.findIndex((l, i) => a[i] !== l);
  const at = line < 0 ? e.length : line;
  return `line ${at + 1}: ${JSON.stringify(a[at] ?? '<end of file>')}, expected ${JSON.stringify(e[at] ?? '<end of file>')}`;
}

const specOf = (crd: KubeObject): CRDSpec => crd['spec'] as CRDSpec;

describe('generated manifests', () => {
  for (const { path, objects, content } of manifests()) {
    it(`${path} is checked in exactly as the generator writes it`, async () => {
      const onDisk = await readFile(`${root}${path}`, 'utf8').catch(() => '');
      assert.ok(
        onDisk === content,
        `${path} is stale (${firstDifference(onDisk, content)}): run node packages/servicebinding/src/cli-gen-crds.ts`,
      );
    });

    it(`${path} is already prettier-formatted, so format:check never fights the generator`, async () => {
      const options = (await prettier.resolveConfig(`${root}${path}`)) ?? {};
      assert.equal(await prettier.format(content, { ...options, filepath: path }), content);
    });

    it(`${path} parses back to the objects it was made from`, () => {
      const docs = parseAllDocuments(content);
      assert.ok(Array.isArray(docs));
      for (const doc of docs) assert.deepEqual(doc.errors, []);
      assert.deepEqual(
        docs.map((d) => d.toJS() as unknown),
        JSON.parse(JSON.stringify(objects)),
      );
    });
  }
});

describe('CustomResourceDefinitions', () => {
  const sb = specOf(serviceBindingCRD());
  const cwrm = specOf(clusterWorkloadResourceMappingCRD());

  it('SB-1, WM-1: servicebinding.io/v1 ServiceBinding (namespaced) and ClusterWorkloadResourceMapping (cluster)', () => {
    assert.equal(serviceBindingCRD().metadata.name, 'servicebindings.servicebinding.io');
    assert.equal(sb.group, 'servicebinding.io');
    assert.equal(sb.names.kind, 'ServiceBinding');
    assert.equal(sb.scope, 'Namespaced');
    assert.equal(
      clusterWorkloadResourceMappingCRD().metadata.name,
      'clusterworkloadresourcemappings.servicebinding.io',
    );
    assert.equal(cwrm.names.kind, 'ClusterWorkloadResourceMapping');
    assert.equal(cwrm.scope, 'Cluster');
    for (const crd of [sb, cwrm]) {
      const stored = crd.versions.filter((v) => v.storage);
      assert.deepEqual(
        stored.map((v) => v.name),
        ['v1'],
      );
    }
  });

  it('SB-2, WM-2: also serve v1beta1 (1.0) and v1alpha3 (rc3, deprecated), same schema, no conversion', () => {
    for (const crd of [sb, cwrm]) {
      assert.deepEqual(
        crd.versions.map((v) => [v.name, v.served, v.storage, v.deprecated ?? false]),
        [
          ['v1', true, true, false],
          ['v1beta1', true, false, false],
          ['v1alpha3', true, false, true],
        ],
      );
      assert.equal(
        crd.versions[2]?.deprecationWarning,
        'servicebinding.io/v1alpha3 is deprecated and will be removed in a future release, use v1 instead',
      );
      for (const v of crd.versions) assert.deepEqual(v.schema, crd.versions[0]?.schema);
      assert.deepEqual(crd.conversion, { strategy: 'None' });
    }
  });

  it('SB-18, SB-24: ServiceBinding has a status subresource and Secret, Ready, Reason, Age columns', () => {
    for (const v of sb.versions) {
      assert.deepEqual(v.subresources, { status: {} });
      assert.deepEqual(
        v.additionalPrinterColumns.map((c) => [c.name, c.type, c.jsonPath]),
        [
          ['Secret', 'string', '.status.binding.name'],
          ['Ready', 'string', '.status.conditions[?(@.type=="Ready")].status'],
          ['Reason', 'string', '.status.conditions[?(@.type=="Ready")].reason'],
          ['Age', 'date', '.metadata.creationTimestamp'],
        ],
      );
    }
    for (const v of cwrm.versions) {
      assert.deepEqual(v.subresources, {}, 'a mapping has no status');
      assert.deepEqual(
        v.additionalPrinterColumns.map((c) => c.name),
        ['Age'],
      );
    }
  });

  it('short name sb, category servicebinding, and PS-7: ServiceBinding is labelled a provisioned service', () => {
    assert.deepEqual(sb.names.shortNames, ['sb']);
    assert.deepEqual(sb.names.categories, ['servicebinding']);
    assert.deepEqual(cwrm.names.categories, ['servicebinding']);
    assert.equal(serviceBindingCRD().metadata.labels?.['servicebinding.io/provisioned-service'], 'true');
  });
});
