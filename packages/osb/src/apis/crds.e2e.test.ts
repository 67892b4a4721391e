// The osb.bindery.dev CRDs on a real API server: the schemas and CEL rules admit and reject what
// they document, every kind has a status subresource, and `kubectl get` prints the columns.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ControlPlane, invalidCauses, skipE2E, tableOf } from '@bindery/controlplane';
import type { KubeClient, KubeObject } from '@bindery/kube';
import { osbCRDs } from './crds.ts';
import { apiVersion } from './group.ts';

const ns = 'osb-crd-e2e';

const broker = (name: string, spec: Record<string, unknown>): KubeObject => ({
  apiVersion,
  kind: 'ClusterServiceBroker',
  metadata: { name },
  spec,
});
const instance = (name: string, spec: Record<string, unknown>): KubeObject => ({
  apiVersion,
  kind: 'ServiceInstance',
  metadata: { name, namespace: ns },
  spec,
});
const credentialBinding = (name: string, spec: Record<string, unknown>): KubeObject => ({
  apiVersion,
  kind: 'ServiceCredentialBinding',
  metadata: { name, namespace: ns },
  spec,
});
const secretRef = { name: 'auth', namespace: 'default' };

describe('osb.bindery.dev CRDs on a real API server', { skip: skipE2E }, () => {
  let cp: ControlPlane;
  let client: KubeClient;

  before(async () => {
    cp = new ControlPlane();
    await cp.start();
    client = cp.client();
    await cp.installCRDs(osbCRDs());
    await client.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  });

  after(async () => {
    await cp?.stop();
  });

  /** Creates with dryRun and returns the 422's messages, or [] if admitted. */
  const rejection = (obj: KubeObject): Promise<string[]> =>
    invalidCauses(() => client.create(obj, { dryRun: true }));

  async function updateRejection(obj: KubeObject, spec: Record<string, unknown>): Promise<string[]> {
    const current = await client.get({
      apiVersion,
      kind: obj.kind ?? '',
      namespace: ns,
      name: obj.metadata.name ?? '',
    });
    return invalidCauses(() => client.update({ ...current, spec }, { dryRun: true }));
  }

  it('a broker needs a url, and caBundle excludes insecureSkipTLSVerify', async () => {
    assert.deepEqual(await rejection(broker('b', { url: 'https://broker.example' })), []);
    assert.deepEqual(
      await rejection(
        broker('b', { url: 'https://broker.example', caBundle: 'AAAA', insecureSkipTLSVerify: false }),
      ),
      [],
    );
    const both = await rejection(
      broker('b', { url: 'https://broker.example', caBundle: 'AAAA', insecureSkipTLSVerify: true }),
    );
    assert.equal(both.length, 1);
    assert.match(
      both[0] ?? '',
      /^spec\.caBundle: .*caBundle and insecureSkipTLSVerify are mutually exclusive/,
    );
    assert.match((await rejection(broker('b', {}))).join(), /spec\.url: Required value/);
    assert.match((await rejection(broker('b', { url: 'ftp://x' }))).join(), /spec\.url: .*should match/);
  });

  it('an http:// broker url is refused without insecureAllowHTTP', async () => {
    const refused = await rejection(broker('b', { url: 'http://127.0.0.1:8080' }));
    assert.match(refused.join(), /spec\.url: .*set insecureAllowHTTP to consent/);
    assert.deepEqual(
      await rejection(broker('b', { url: 'http://127.0.0.1:8080', insecureAllowHTTP: true })),
      [],
    );
  });

  it('broker auth is exactly one of basic and bearer, and a cluster broker names the Secret namespace', async () => {
    const url = 'https://broker.example';
    assert.deepEqual(await rejection(broker('b', { url, authInfo: { basic: { secretRef } } })), []);
    assert.deepEqual(await rejection(broker('b', { url, authInfo: { bearer: { secretRef } } })), []);
    assert.match(
      (
        await rejection(broker('b', { url, authInfo: { basic: { secretRef }, bearer: { secretRef } } }))
      ).join(),
      /exactly one of basic and bearer/,
    );
    assert.match(
      (await rejection(broker('b', { url, authInfo: { basic: { secretRef: { name: 'auth' } } } }))).join(),
      /spec\.authInfo\.basic\.secretRef\.namespace: Required value/,
    );
  });

  it('relistDuration is a duration and only goes with relistBehavior Duration; relistBehavior defaults to Duration', async () => {
    const url = 'https://broker.example';
    assert.deepEqual(await rejection(broker('b', { url, relistDuration: '1h30m' })), []);
    assert.match(
      (await rejection(broker('b', { url, relistDuration: 'often' }))).join(),
      /spec\.relistDuration/,
    );
    assert.match(
      (await rejection(broker('b', { url, relistBehavior: 'Manual', relistDuration: '5m' }))).join(),
      /relistDuration applies only to relistBehavior Duration/,
    );
    const created = await client.create(broker('defaults', { url }));
    assert.equal((created['spec'] as { relistBehavior?: string }).relistBehavior, 'Duration');
  });

  it('a ServiceInstance names its class and plan exactly one way, and its externalID never changes', async () => {
    const byName = { clusterServiceClassExternalName: 'db', clusterServicePlanExternalName: 'small' };
    assert.deepEqual(await rejection(instance('i', byName)), []);
    assert.deepEqual(
      await rejection(
        instance('i', { serviceClassName: 'c', servicePlanName: 'p', parameters: { a: { b: 1 } } }),
      ),
      [],
    );
    assert.match(
      (await rejection(instance('i', {}))).join(),
      /exactly one of clusterServiceClassExternalName/,
    );
    assert.match(
      (await rejection(instance('i', { ...byName, serviceClassName: 'c', servicePlanName: 'p' }))).join(),
      /exactly one of/,
    );
    assert.match(
      (await rejection(instance('i', { clusterServiceClassExternalName: 'db' }))).join(),
      /spec\.clusterServicePlanExternalName: .*are set together/,
    );

    const created = await client.create(instance('fixed-id', { ...byName, externalID: 'abc' }));
    assert.match(
      (await updateRejection(created, { ...byName, externalID: 'xyz' })).join(),
      /externalID is immutable/,
    );
    assert.match((await updateRejection(created, byName)).join(), /externalID is immutable/);
    assert.deepEqual(await updateRejection(created, { ...byName, externalID: 'abc', updateRequests: 1 }), []);
    const unset = await client.create(instance('later-id', byName));
    assert.deepEqual(await updateRejection(unset, { ...byName, externalID: 'set-by-controller' }), []);
  });

  it('a ServiceCredentialBinding keeps its instance, parameters and Secret name', async () => {
    const spec = { instanceRef: { name: 'i' }, parameters: { role: 'ro' }, secretName: 's' };
    assert.match((await rejection(credentialBinding('c', {}))).join(), /spec\.instanceRef: Required value/);
    const created = await client.create(credentialBinding('keep', spec));
    assert.match(
      (await updateRejection(created, { ...spec, instanceRef: { name: 'other' } })).join(),
      /instanceRef is immutable/,
    );
    assert.match(
      (await updateRejection(created, { ...spec, parameters: { role: 'rw' } })).join(),
      /parameters is immutable/,
    );
    assert.match(
      (await updateRejection(created, { ...spec, secretName: 't' })).join(),
      /secretName is immutable/,
    );
    assert.deepEqual(
      await updateRejection(created, { ...spec, type: 'postgresql', rotationRequests: 1 }),
      [],
    );
  });

  it('every kind has a status subresource: a spec update leaves status alone', async () => {
    const created = await client.create(
      instance('status', {
        clusterServiceClassExternalName: 'db',
        clusterServicePlanExternalName: 'small',
      }),
    );
    const withStatus = await client.updateStatus({
      ...created,
      status: { provisionStatus: 'NotProvisioned' },
    });
    const updated = await client.update({ ...withStatus, status: { provisionStatus: 'Provisioned' } });
    assert.deepEqual(updated['status'], { provisionStatus: 'NotProvisioned' });
    for (const crd of osbCRDs()) {
      const versions = (crd['spec'] as { versions: Array<{ subresources: unknown }> }).versions;
      assert.deepEqual(versions[0]?.subresources, { status: {} }, crd.metadata?.name);
    }
  });

  it('the ServiceCredentialBinding CRD is labelled a Provisioned Service, and kubectl get prints its columns', async () => {
    const crd = await client.get({
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      name: 'servicecredentialbindings.osb.bindery.dev',
    });
    assert.equal(crd.metadata?.labels?.['servicebinding.io/provisioned-service'], 'true');
    const table = await tableOf(
      client,
      `/apis/osb.bindery.dev/v1alpha1/namespaces/${ns}/servicecredentialbindings`,
    );
    assert.deepEqual(
      table.columnDefinitions.map((c) => c.name),
      ['Name', 'Instance', 'Secret', 'Ready', 'Reason', 'Expires', 'Age'],
    );
    assert.equal(table.rows.length, 1);
  });
});
