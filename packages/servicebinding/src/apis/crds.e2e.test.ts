// The generated CRDs on a real API server: they admit and reject what the spec's exemplar CRDs
// do (SB-3, WM-3), serve every version, and print the documented columns.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { request } from 'node:https';
import { after, before, describe, it } from 'node:test';
import { ControlPlane, invalidCauses, skipE2E, tableOf } from '@bindery/controlplane';
import type { KubeClient, KubeObject } from '@bindery/kube';
import { parseAllDocuments } from 'yaml';
import { validateServiceBinding } from './validate-servicebinding.ts';

const root = new URL('../../../../', import.meta.url);
const ns = 'sb-crd-e2e';

async function loadYaml(path: string): Promise<KubeObject[]> {
  const text = await readFile(new URL(path, root), 'utf8');
  return parseAllDocuments(text).map((d) => d.toJS() as KubeObject);
}

const service = { apiVersion: 'v1', kind: 'Secret', name: 'db' };
const workload = { apiVersion: 'apps/v1', kind: 'Deployment', name: 'app' };

function binding(name: string, spec: Record<string, unknown> | undefined, version = 'v1'): KubeObject {
  return {
    apiVersion: `servicebinding.io/${version}`,
    kind: 'ServiceBinding',
    metadata: { name, namespace: ns },
    ...(spec && { spec }),
  };
}

function mapping(name: string, versions: unknown, version = 'v1'): KubeObject {
  return {
    apiVersion: `servicebinding.io/${version}`,
    kind: 'ClusterWorkloadResourceMapping',
    metadata: { name },
    spec: { versions },
  };
}

const condition = {
  type: 'Ready',
  status: 'True',
  reason: 'ServiceBound',
  message: '',
  lastTransitionTime: '2026-01-02T03:04:05Z',
};

describe('servicebinding.io CRDs on a real API server', { skip: skipE2E }, () => {
  let cp: ControlPlane;
  let client: KubeClient;

  before(async () => {
    cp = new ControlPlane();
    await cp.start();
    client = cp.client();
    await cp.installCRDs([
      ...(await loadYaml('config/crd/servicebinding.io_servicebindings.yaml')),
      ...(await loadYaml('config/crd/servicebinding.io_clusterworkloadresourcemappings.yaml')),
    ]);
    await client.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  });

  after(async () => {
    await cp?.stop();
  });

  /** Creates with dryRun and returns the 422's causes as `field: message`, or [] if admitted. */
  const rejection = (obj: KubeObject): Promise<string[]> =>
    invalidCauses(() => client.create(obj, { dryRun: true }));

  async function statusRejection(name: string, status: unknown): Promise<string[]> {
    const current = await client.get({
      apiVersion: 'servicebinding.io/v1',
      kind: 'ServiceBinding',
      namespace: ns,
      name,
    });
    return invalidCauses(() => client.updateStatus({ ...current, status }, { dryRun: true }));
  }

  it('SB-1, SB-2: a ServiceBinding is served in v1, v1beta1 and v1alpha3, and every version reads back as any other', async () => {
    for (const version of ['v1', 'v1beta1', 'v1alpha3']) {
      const created = await client.create(binding(`minimal-${version}`, { service, workload }, version));
      assert.equal(created.apiVersion, `servicebinding.io/${version}`);
      const asV1 = await client.get({
        apiVersion: 'servicebinding.io/v1',
        kind: 'ServiceBinding',
        namespace: ns,
        name: `minimal-${version}`,
      });
      assert.deepEqual(asV1['spec'], { service, workload });
    }
  });

  it('SB-1: v1alpha3 answers with its deprecation warning', async () => {
    const kc = cp.kubeConfig();
    const user = kc.getCurrentUser();
    const cluster = kc.getCurrentCluster();
    const b64 = (s: string | undefined): Buffer => Buffer.from(s ?? '', 'base64');
    const warning = await new Promise<string>((resolve, reject) => {
      const url = new URL(
        `/apis/servicebinding.io/v1alpha3/namespaces/${ns}/servicebindings`,
        cluster?.server,
      );
      request(
        url,
        {
          cert: b64(user?.['client-certificate-data']),
          key: b64(user?.['client-key-data']),
          ca: b64(cluster?.['certificate-authority-data']),
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve(String(res.headers['warning'] ?? '')));
        },
      )
        .on('error', reject)
        .end();
    });
    assert.match(
      warning,
      /servicebinding\.io\/v1alpha3 is deprecated and will be removed in a future release, use v1 instead/,
    );
  });

  it('SB-4, SB-7: spec.service and spec.workload are required, and so are their apiVersion, kind (and service name)', async () => {
    assert.deepEqual(await rejection(binding('x', { workload })), ['spec.service: Required value']);
    assert.deepEqual(await rejection(binding('x', { service })), ['spec.workload: Required value']);
    assert.deepEqual((await rejection(binding('x', { service: {}, workload: {} }))).sort(), [
      'spec.service.apiVersion: Required value',
      'spec.service.kind: Required value',
      'spec.service.name: Required value',
      'spec.workload.apiVersion: Required value',
      'spec.workload.kind: Required value',
    ]);
  });

  it('SB-3: like the exemplar, the schema admits what only the webhook rejects (no spec, no name or selector)', async () => {
    assert.deepEqual(await rejection(binding('no-spec', undefined)), []);
    const unnamed = binding('no-name', { service, workload: { apiVersion: 'apps/v1', kind: 'Deployment' } });
    assert.deepEqual(await rejection(unnamed), []);
    assert.deepEqual(
      validateServiceBinding(unnamed).map((e) => e.field),
      ['spec.workload.[name, selector]'],
    );
    const both = binding('both', {
      service,
      workload: { ...workload, selector: { matchLabels: { a: 'b' } } },
    });
    assert.deepEqual(await rejection(both), []);
    assert.equal(validateServiceBinding(both).length, 1);
  });

  it('SB-10, SB-15: containers is a list of strings; an env mapping has name and key', async () => {
    assert.deepEqual(
      await rejection(binding('x', { service, workload: { ...workload, containers: 'app' } })),
      [
        'spec.workload.containers: Invalid value: "string": spec.workload.containers in body must be of type array: "string"',
      ],
    );
    assert.equal(
      (await rejection(binding('x', { service, workload: { ...workload, containers: [1] } }))).length,
      1,
    );
    assert.deepEqual((await rejection(binding('x', { service, workload, env: [{}] }))).sort(), [
      'spec.env[0].key: Required value',
      'spec.env[0].name: Required value',
    ]);
    assert.deepEqual(
      await rejection(binding('x', { service, workload, env: [{ name: 'A', key: 'a' }] })),
      [],
    );
  });

  it('SB-3: field types are enforced: strings, selector shape', async () => {
    const causes = await rejection(
      binding('x', {
        name: 5,
        type: true,
        service,
        workload: {
          ...workload,
          name: undefined,
          selector: { matchLabels: { a: 1 }, matchExpressions: [{ key: 'k' }] },
        },
      }),
    );
    assert.deepEqual(causes.map((c) => c.split(':')[0]).sort(), [
      'spec.name',
      'spec.type',
      'spec.workload.selector.matchExpressions[0].operator',
      'spec.workload.selector.matchLabels.a',
    ]);
  });

  it('prunes fields the schema does not know', async () => {
    const created = await client.create(binding('pruned', { service, workload, extra: 'x' }), {
      dryRun: true,
    });
    assert.deepEqual(created['spec'], { service, workload });
  });

  it('SB-18, SB-25: status is a subresource and holds metav1.Conditions and an int64 observedGeneration', async () => {
    const created = await client.create({
      ...binding('status', { service, workload }),
      status: { observedGeneration: 7 },
    });
    assert.equal(created['status'], undefined, 'status is ignored on create');
    assert.deepEqual(await statusRejection('status', { conditions: [condition], observedGeneration: 1 }), []);
    const causes = await statusRejection('status', {
      observedGeneration: 'one',
      binding: {},
      conditions: [
        { ...condition, status: 'Maybe' },
        { ...condition, reason: 'not a reason' },
        { type: 'Ready', status: 'True' },
      ],
    });
    assert.deepEqual(causes.map((c) => c.split(':')[0]).sort(), [
      'status.binding.name',
      'status.conditions[0].status',
      'status.conditions[1].reason',
      'status.conditions[2].lastTransitionTime',
      'status.conditions[2].message',
      'status.conditions[2].reason',
      'status.observedGeneration',
    ]);
    assert.ok(
      causes.some((c) => /supported values: "True", "False", "Unknown"/.test(c)),
      causes.join('\n'),
    );
  });

  it('SB-19, SB-24: kubectl get shows Secret, Ready, Reason and Age; the short name is sb, the category servicebinding', async () => {
    const current = await client.get({
      apiVersion: 'servicebinding.io/v1',
      kind: 'ServiceBinding',
      namespace: ns,
      name: 'status',
    });
    await client.updateStatus({ ...current, status: { binding: { name: 'db' }, conditions: [condition] } });
    const table = await tableOf(client, `/apis/servicebinding.io/v1/namespaces/${ns}/servicebindings/status`);
    assert.deepEqual(
      table.columnDefinitions.map((c) => c.name),
      ['Name', 'Secret', 'Ready', 'Reason', 'Age'],
    );
    assert.deepEqual(table.rows[0]?.cells.slice(0, 4), ['status', 'db', 'True', 'ServiceBound']);

    const discovery = await client.request<{
      resources: Array<{ name: string; shortNames?: string[]; categories?: string[]; namespaced: boolean }>;
    }>({ method: 'GET', path: '/apis/servicebinding.io/v1' });
    const sb = discovery.resources.find((r) => r.name === 'servicebindings');
    assert.deepEqual(sb?.shortNames, ['sb']);
    assert.deepEqual(sb?.categories, ['servicebinding']);
    assert.equal(sb?.namespaced, true);
    assert.ok(discovery.resources.some((r) => r.name === 'servicebindings/status'));
    const cwrm = discovery.resources.find((r) => r.name === 'clusterworkloadresourcemappings');
    assert.equal(cwrm?.namespaced, false);
    assert.deepEqual(cwrm?.categories, ['servicebinding']);
  });

  it('WM-1, WM-2: the shipped cronjobs.batch mapping installs, cluster-scoped, and reads back in every version', async () => {
    const [cron] = await loadYaml('config/servicebinding-workloadresourcemappings.yaml');
    assert.ok(cron);
    await client.create(cron);
    for (const version of ['v1', 'v1beta1', 'v1alpha3']) {
      const read = await client.get({
        apiVersion: `servicebinding.io/${version}`,
        kind: 'ClusterWorkloadResourceMapping',
        name: 'cronjobs.batch',
      });
      assert.equal(read.metadata.namespace, undefined);
      assert.deepEqual(read['spec'], cron['spec']);
    }
  });

  it('WM-6, WM-14: a template needs a version and a container mapping a path; ERR-1: annotations and volumes are optional in every version', async () => {
    assert.deepEqual(await rejection(mapping('a.example.dev', [{ annotations: '.a' }])), [
      'spec.versions[0].version: Required value',
    ]);
    assert.deepEqual(
      await rejection(mapping('a.example.dev', [{ version: '*', containers: [{ name: '.name' }] }])),
      ['spec.versions[0].containers[0].path: Required value'],
    );
    for (const version of ['v1', 'v1beta1', 'v1alpha3'])
      assert.deepEqual(await rejection(mapping('a.example.dev', [{ version: '*' }], version)), [], version);
    assert.equal((await rejection(mapping('a.example.dev', [{ version: 1 }]))).length, 1);
  });
});
