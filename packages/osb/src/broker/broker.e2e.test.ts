// The broker controllers, wired by addOsbControllers, on a real kube-apiserver: against the sample
// broker of @bindery/osb-broker (basic auth), and against a broker written here on node:http whose
// catalog each test changes (bearer auth, a namespaced ServiceBroker, restrictions, Manual relist).
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { ControlPlane, eventually, skipE2E } from '@bindery/controlplane';
import { isNotFound } from '@bindery/kube';
import type { KubeClient, KubeObject } from '@bindery/kube';
import { Manager } from '@bindery/runtime';
import type { Condition } from '@bindery/runtime';
import { sampleIds, startSampleBroker } from '@bindery/osb-broker';
import type { RunningSampleBroker } from '@bindery/osb-broker';
import { pino } from 'pino';
import { apiVersion, osbCRDs } from '../apis/index.ts';
import type { BrokerStatus, ServiceInstance } from '../apis/index.ts';
import type { Catalog } from '../client/types.ts';
import { addOsbControllers } from '../manager.ts';

const ns = 'osb-broker-e2e';
const b64 = (s: string) => Buffer.from(s).toString('base64');

interface Broker extends KubeObject {
  status?: BrokerStatus;
}

describe('broker controllers on a real API server', { skip: skipE2E }, () => {
  let cp: ControlPlane;
  let admin: KubeClient;
  let sample: RunningSampleBroker;
  const stop = new AbortController();
  let running: Promise<void> | undefined;

  // The test's own broker: a catalog the tests change, a bearer token it checks.
  let catalog: Catalog = { services: [] };
  const catalogRequests: string[] = [];
  const own = createServer((req, res) => {
    if (req.url !== '/v2/catalog') {
      res.writeHead(404).end('{}');
      return;
    }
    catalogRequests.push(req.headers['authorization'] ?? '');
    const ok =
      req.headers['authorization'] === 'Bearer own-token' && req.headers['x-broker-api-version'] === '2.17';
    res.writeHead(ok ? 200 : 401, { 'content-type': 'application/json' });
    res.end(JSON.stringify(ok ? catalog : { description: 'who are you' }));
  });
  let ownUrl = '';

  const get = <T extends KubeObject>(kind: string, name: string, namespace?: string) =>
    admin.get<T>({ apiVersion, kind, name, ...(namespace !== undefined && { namespace }) });
  const ready = (o: { status?: { conditions?: Condition[] } }) =>
    o.status?.conditions?.find((c) => c.type === 'Ready');
  const list = async (kind: string, namespace?: string) =>
    (await admin.list({ apiVersion, kind }, namespace !== undefined ? { namespace } : {})).items;
  const waitReady = (kind: string, name: string, namespace?: string, reason = 'FetchedCatalog') =>
    eventually(async () => {
      const b = await get<Broker>(kind, name, namespace);
      assert.equal(ready(b)?.reason, reason, JSON.stringify(b.status));
      return b;
    }, 30_000);

  before(
    async () => {
      cp = new ControlPlane();
      await cp.start();
      admin = cp.client();
      await cp.installCRDs(osbCRDs());
      await admin.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
      sample = await startSampleBroker({
        client: admin,
        namespace: 'sample-broker',
        delayMs: 200,
        basic: { username: 'platform', password: 'sample-pw' },
      });
      await new Promise<void>((resolve) => own.listen(0, '127.0.0.1', resolve));
      ownUrl = `http://127.0.0.1:${(own.address() as AddressInfo).port}`;
      const manager = new Manager({
        client: admin,
        name: 'osb-brokers',
        log: pino({ level: 'silent' }),
        metrics: false,
        health: false,
      });
      addOsbControllers(manager, {
        brokers: { minRelistIntervalMs: 1000 },
        platform: {
          clusterID: 'e2e',
          polling: { minDelayMs: 100, maxDelayMs: 500 },
          missingReferenceRetryMs: 10 * 60_000,
        },
      });
      running = manager.start(stop.signal);
    },
    { timeout: 30 * 60_000 },
  );

  after(async () => {
    stop.abort();
    await running?.catch(() => undefined);
    await sample?.stop();
    await new Promise<void>((resolve) => own.close(() => resolve()));
    await cp?.stop();
  });

  it('a ClusterServiceBroker for the sample broker becomes Ready with its classes and plans, and an instance created before them provisions', async () => {
    await admin.create({
      apiVersion,
      kind: 'ServiceInstance',
      metadata: { namespace: ns, name: 'db' },
      spec: { clusterServiceClassExternalName: 'bindery-database', clusterServicePlanExternalName: 'small' },
    });
    await admin.create({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { namespace: ns, name: 'sample-auth' },
      data: { username: b64('platform'), password: b64('sample-pw') },
    });
    await admin.create({
      apiVersion,
      kind: 'ClusterServiceBroker',
      metadata: { name: 'sample' },
      spec: {
        url: sample.url,
        insecureAllowHTTP: true,
        authInfo: { basic: { secretRef: { namespace: ns, name: 'sample-auth' } } },
      },
    });
    const broker = await waitReady('ClusterServiceBroker', 'sample');
    assert.deepEqual(broker.status?.catalog, { classes: 2, plans: 4 });
    assert.ok(broker.status?.lastCatalogRetrievalTime);

    // Object names derive from the OSB ids; the ids correlate.
    const db = await get<KubeObject & { spec: Record<string, unknown> }>(
      'ClusterServiceClass',
      sampleIds.database,
    );
    assert.equal(db.spec['externalName'], 'bindery-database');
    assert.equal(db.spec['clusterServiceBrokerName'], 'sample');
    const small = await get<KubeObject & { spec: Record<string, unknown> }>(
      'ClusterServicePlan',
      sampleIds.databaseSmall,
    );
    assert.deepEqual(small.spec['clusterServiceClassRef'], { name: sampleIds.database });
    assert.equal(small.spec['planUpdateable'], true);

    // The instance controller reaches the broker through the same wiring (BrokerClients). The
    // instance was created before the catalog was listed: the plan's arrival wakes it, long before
    // the retry for a missing reference (10 min here).
    await eventually(async () => {
      const i = await get<ServiceInstance>('ServiceInstance', 'db', ns);
      assert.equal(ready(i)?.status, 'True', JSON.stringify(i.status));
    }, 30_000);
  });

  it('wrong credentials: Ready False with the 401; the same broker registered twice: CatalogNameConflict until the first goes', async () => {
    await admin.create({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { namespace: ns, name: 'bad-auth' },
      data: { username: b64('platform'), password: b64('wrong-pw') },
    });
    await admin.create({
      apiVersion,
      kind: 'ClusterServiceBroker',
      metadata: { name: 'sample-again' },
      spec: {
        url: sample.url,
        insecureAllowHTTP: true,
        relistBehavior: 'Manual',
        authInfo: { basic: { secretRef: { namespace: ns, name: 'bad-auth' } } },
      },
    });
    const failed = await waitReady('ClusterServiceBroker', 'sample-again', undefined, 'ErrorFetchingCatalog');
    assert.match(ready(failed)?.message ?? '', /broker answered 401/);
    assert.doesNotMatch(JSON.stringify(failed.status), /wrong-pw/);

    const relist = async (n: number) => {
      const current = await get<Broker>('ClusterServiceBroker', 'sample-again');
      await admin.update({ ...current, spec: { ...(current['spec'] as object), relistRequests: n } });
    };
    const secret = await admin.get({ apiVersion: 'v1', kind: 'Secret', namespace: ns, name: 'bad-auth' });
    await admin.update({
      ...secret,
      data: { username: b64('platform'), password: b64('sample-pw') },
    });
    await relist(1);
    // The ids are the first broker's: its objects are never taken over.
    const conflict = await waitReady(
      'ClusterServiceBroker',
      'sample-again',
      undefined,
      'CatalogNameConflict',
    );
    assert.match(
      ready(conflict)?.message ?? '',
      new RegExp(`ClusterServiceClass ${sampleIds.database} exists`),
    );
    const db = await get<KubeObject & { spec: Record<string, unknown> }>(
      'ClusterServiceClass',
      sampleIds.database,
    );
    assert.equal(db.spec['clusterServiceBrokerName'], 'sample');

    await admin.delete({ apiVersion, kind: 'ClusterServiceBroker', name: 'sample' });
    await eventually(async () => {
      await assert.rejects(get('ClusterServiceClass', sampleIds.database), (err: unknown) => isNotFound(err));
    }, 30_000);
    await relist(2);
    await waitReady('ClusterServiceBroker', 'sample-again');
    const again = await get<KubeObject & { spec: Record<string, unknown> }>(
      'ClusterServiceClass',
      sampleIds.database,
    );
    assert.equal(again.spec['clusterServiceBrokerName'], 'sample-again');
  });

  it('a namespaced ServiceBroker: bearer auth, restrictions, Manual relist; a dropped plan is deleted once unused, kept while used', async () => {
    const plan = (id: string, name: string) => ({ id, name, description: name, free: name !== 'gold' });
    catalog = {
      services: [
        {
          id: 'svc-cache',
          name: 'cache',
          description: 'Cache',
          bindable: true,
          plans: [plan('cache-s', 's'), plan('cache-m', 'm'), plan('cache-gold', 'gold')],
        },
        {
          id: 'svc-hidden',
          name: 'hidden',
          description: 'Hidden',
          bindable: true,
          plans: [plan('hidden-p', 'p')],
        },
      ],
    };
    await admin.create({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { namespace: ns, name: 'own-token' },
      data: { token: b64('own-token') },
    });
    const brokerObject = {
      apiVersion,
      kind: 'ServiceBroker',
      metadata: { namespace: ns, name: 'own' },
      spec: {
        url: ownUrl,
        insecureAllowHTTP: true,
        relistBehavior: 'Manual',
        authInfo: { bearer: { secretRef: { name: 'own-token' } } },
        catalogRestrictions: {
          serviceClass: ['spec.externalName != hidden'],
          servicePlan: ['spec.free == true'],
        },
      },
    };
    await admin.create(brokerObject);
    await waitReady('ServiceBroker', 'own', ns);
    assert.deepEqual(
      (await list('ServiceClass', ns)).map((c) => c.metadata.name),
      ['svc-cache'],
    );
    assert.deepEqual((await list('ServicePlan', ns)).map((p) => p.metadata.name).sort(), [
      'cache-m',
      'cache-s',
    ]);
    assert.deepEqual(
      await list('ClusterServiceClass').then((l) => l.filter((c) => c.metadata.name === 'svc-cache')),
      [],
    );

    // An instance names plan m by object name (never provisioned here: only the reference matters).
    await admin.create({
      apiVersion,
      kind: 'ServiceInstance',
      metadata: { namespace: ns, name: 'uses-m' },
      spec: { serviceClassName: 'svc-cache', servicePlanName: 'cache-m' },
    });

    // The broker drops both plans; Manual: nothing happens until relistRequests is raised.
    catalog = { services: [{ ...catalog.services[0]!, plans: [plan('cache-l', 'l')] }] };
    const requestsBefore = catalogRequests.length;
    const current = await get<Broker>('ServiceBroker', 'own', ns);
    await admin.update({ ...current, spec: { ...(current['spec'] as object), relistRequests: 1 } });
    await eventually(async () => {
      assert.ok(catalogRequests.length > requestsBefore);
      const names = (await list('ServicePlan', ns)).map((p) => p.metadata.name).sort();
      assert.deepEqual(names, ['cache-l', 'cache-m']);
    }, 30_000);
    const kept = await get<KubeObject & { status?: { removedFromBrokerCatalog?: boolean } }>(
      'ServicePlan',
      'cache-m',
      ns,
    );
    assert.equal(kept.status?.removedFromBrokerCatalog, true);

    // The instance goes; so does the plan it kept.
    const instance = await get<ServiceInstance>('ServiceInstance', 'uses-m', ns);
    await admin.patch(
      { apiVersion, kind: 'ServiceInstance', namespace: ns, name: 'uses-m' },
      { metadata: { finalizers: null, resourceVersion: instance.metadata.resourceVersion } },
      { type: 'merge' },
    );
    await admin
      .delete({ apiVersion, kind: 'ServiceInstance', namespace: ns, name: 'uses-m' })
      .catch((err: unknown) => {
        if (!isNotFound(err)) throw err;
      });
    await eventually(async () => {
      assert.deepEqual(
        (await list('ServicePlan', ns)).map((p) => p.metadata.name),
        ['cache-l'],
      );
    }, 30_000);
    assert.ok(catalogRequests.every((h) => h === 'Bearer own-token'));
  });

  it('deleting a broker deletes its classes and plans', async () => {
    await admin.delete({ apiVersion, kind: 'ServiceBroker', namespace: ns, name: 'own' });
    await eventually(async () => {
      assert.deepEqual(await list('ServiceClass', ns), []);
      assert.deepEqual(await list('ServicePlan', ns), []);
      await assert.rejects(get('ServiceBroker', 'own', ns), (err: unknown) => isNotFound(err));
    }, 30_000);
  });
});
