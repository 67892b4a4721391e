// The broker reconciler with the test kit's fake API server and a broker double on node:http (the
// broker is the network peer, not the Kubernetes API): what it creates, updates and marks removed
// for a catalog, when it lists, and the condition and event for each kind of bad input.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after } from 'node:test';
import type { KubeObject } from '@bindery/kube';
import { newEvent, reconcilerTests } from '@bindery/runtime/testing';
import type { ReconcilerTestCase } from '@bindery/runtime/testing';
import { apiVersion, finalizer } from '../apis/group.ts';
import type { Catalog } from '../client/types.ts';
import { brokerReconciler } from './broker-reconciler.ts';
import { catalogObjectName } from './names.ts';
import { brokerLabel, clusterScope, namespacedScope } from './scope.ts';

// ---- the broker double ----------------------------------------------------------------------
interface Seen {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
}
let reply: (res: ServerResponse) => void = () => undefined;
const seen: Seen[] = [];
const server = createServer((req, res) => {
  seen.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers });
  req.resume();
  req.on('end', () => reply(res));
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
after(() => new Promise<void>((resolve) => server.close(() => resolve())));

const serve =
  (catalog: unknown, status = 200) =>
  () => {
    seen.length = 0;
    reply = (res) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(catalog));
    };
  };

// ---- fixtures --------------------------------------------------------------------------------
const password = 'canary-pw-5d1e9a';
const now = '2024-01-01T00:00:00Z';
const queueID = 'Queue_Service!';
const queueName = catalogObjectName(queueID);

const catalog: Catalog = {
  services: [
    {
      id: 'svc-db',
      name: 'db',
      description: 'A database',
      bindable: true,
      tags: ['postgresql'],
      bindings_retrievable: true,
      plans: [
        {
          id: 'plan-db-small',
          name: 'small',
          description: 'Small',
          schemas: { service_instance: { create: { parameters: { type: 'object' } } } },
        },
        { id: 'plan-db-large', name: 'large', description: 'Large', free: false, plan_updateable: true },
      ],
    },
    {
      id: queueID,
      name: 'queue',
      description: 'A queue',
      bindable: false,
      plans: [{ id: 'plan-queue', name: 'standard', description: 'Standard', maximum_polling_duration: 600 }],
    },
  ],
};

interface BrokerOptions {
  generation?: number;
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
  finalizers?: string[];
  deleting?: boolean;
}

const brokerSpec = {
  url,
  insecureAllowHTTP: true,
  authInfo: { basic: { secretRef: { namespace: 'osb-system', name: 'acme-auth' } } },
};

function broker(o: BrokerOptions = {}): KubeObject {
  return {
    apiVersion,
    kind: 'ClusterServiceBroker',
    metadata: {
      name: 'acme',
      uid: 'broker-uid',
      generation: o.generation ?? 1,
      ...(o.finalizers && { finalizers: o.finalizers }),
      ...(o.deleting && { deletionTimestamp: now }),
    },
    spec: { ...brokerSpec, ...o.spec },
    ...(o.status && { status: o.status }),
  };
}

const secret: KubeObject = {
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { namespace: 'osb-system', name: 'acme-auth' },
  data: {
    username: Buffer.from('admin').toString('base64'),
    password: Buffer.from(password).toString('base64'),
  },
};

const ready = (reason: string, message: string, status = 'True') => ({
  type: 'Ready',
  status,
  reason,
  message,
  lastTransitionTime: now,
});

const owner = {
  apiVersion,
  kind: 'ClusterServiceBroker',
  name: 'acme',
  uid: 'broker-uid',
  controller: true,
  blockOwnerDeletion: true,
};

const meta = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  labels: { [brokerLabel]: 'acme' },
  ownerReferences: [owner],
  ...extra,
});

const dbClass = (spec: Record<string, unknown> = {}, status?: Record<string, unknown>): KubeObject => ({
  apiVersion,
  kind: 'ClusterServiceClass',
  metadata: meta('svc-db'),
  spec: {
    externalName: 'db',
    externalID: 'svc-db',
    description: 'A database',
    bindable: true,
    bindingsRetrievable: true,
    tags: ['postgresql'],
    clusterServiceBrokerName: 'acme',
    ...spec,
  },
  ...(status && { status }),
});

const queueClass = (status?: Record<string, unknown>): KubeObject => ({
  apiVersion,
  kind: 'ClusterServiceClass',
  metadata: meta(queueName),
  spec: {
    externalName: 'queue',
    externalID: queueID,
    description: 'A queue',
    bindable: false,
    clusterServiceBrokerName: 'acme',
  },
  ...(status && { status }),
});

const plan = (
  name: string,
  className: string,
  spec: Record<string, unknown>,
  status?: Record<string, unknown>,
): KubeObject => ({
  apiVersion,
  kind: 'ClusterServicePlan',
  metadata: meta(name),
  spec: { ...spec, clusterServiceBrokerName: 'acme', clusterServiceClassRef: { name: className } },
  ...(status && { status }),
});

const smallPlan = (status?: Record<string, unknown>) =>
  plan(
    'plan-db-small',
    'svc-db',
    {
      externalName: 'small',
      externalID: 'plan-db-small',
      description: 'Small',
      free: true,
      instanceCreateParameterSchema: { type: 'object' },
    },
    status,
  );
const largePlan = () =>
  plan('plan-db-large', 'svc-db', {
    externalName: 'large',
    externalID: 'plan-db-large',
    description: 'Large',
    free: false,
    planUpdateable: true,
  });
const queuePlan = () =>
  plan('plan-queue', queueName, {
    externalName: 'standard',
    externalID: 'plan-queue',
    description: 'Standard',
    free: true,
    maximumPollingDuration: 600,
  });

const inClass = (p: KubeObject, name: string): KubeObject => ({
  ...p,
  spec: { ...(p['spec'] as object), clusterServiceClassRef: { name } },
});

const fetchedStatus = (classes = 2, plans = 3) => ({
  conditions: [ready('FetchedCatalog', `Fetched catalog: ${classes} classes, ${plans} plans`)],
  observedGeneration: 1,
  lastCatalogRetrievalTime: now,
  catalog: { classes, plans },
});

const finalizerPatch = {
  kind: 'ClusterServiceBroker',
  name: 'acme',
  patchType: 'merge' as const,
  patch: { metadata: { resourceVersion: '1', finalizers: [finalizer] } },
};

const request = { name: 'acme' };
const updated = (obj: KubeObject) => newEvent(obj, 'Normal', 'StatusUpdated', 'Updated status');
const finalizerPatched = newEvent(broker(), 'Normal', 'FinalizerPatched', `Patched finalizer "${finalizer}"`);
const warning = (reason: string, note: string) => newEvent(broker(), 'Warning', reason, note);
/** A Ready broker whose spec changed (relistRequests raised): due now. */
const bumped = (spec: Record<string, unknown> = {}) =>
  broker({
    generation: 2,
    finalizers: [finalizer],
    spec: { relistRequests: 1, ...spec },
    status: fetchedStatus(),
  });
/** The last good listing's time and counts stay; a thrown error leaves observedGeneration behind. */
const failedStatus = (reason: string, message: string, observedGeneration = 1) => ({
  ...fetchedStatus(),
  conditions: [ready(reason, message, 'False')],
  observedGeneration,
});
const fifteenMinutes = 15 * 60_000;

const rows: Record<string, ReconcilerTestCase> = {
  'a new broker: lists the catalog with basic auth and makes a class per offering and a plan per plan': {
    request,
    givenObjects: [broker(), secret],
    prepare: serve(catalog),
    expectPatches: [finalizerPatch],
    expectCreates: [dbClass(), queueClass(), smallPlan(), largePlan(), queuePlan()],
    expectStatusUpdates: [broker({ finalizers: [finalizer], status: fetchedStatus() })],
    expectEvents: [
      finalizerPatched,
      newEvent(
        broker(),
        'Normal',
        'FetchedCatalog',
        'Fetched catalog of 2 classes and 3 plans: 5 added, 0 updated, 0 removed from the catalog',
      ),
      updated(broker()),
    ],
    expectedResult: { requeueAfterMs: fifteenMinutes },
    verify() {
      assert.equal(seen.length, 1);
      assert.equal(seen[0]?.method, 'GET');
      assert.equal(seen[0]?.path, '/v2/catalog');
      assert.equal(seen[0]?.headers['x-broker-api-version'], '2.17');
      assert.equal(
        seen[0]?.headers['authorization'],
        `Basic ${Buffer.from(`admin:${password}`).toString('base64')}`,
      );
    },
  },
  'Ready and the relist interval not over: no request, reconcile again when it is': {
    request,
    givenObjects: [
      broker({
        finalizers: [finalizer],
        spec: { relistDuration: '10m' },
        status: { ...fetchedStatus(), lastCatalogRetrievalTime: '2023-12-31T23:55:00Z' },
      }),
    ],
    prepare: serve(catalog),
    expectedResult: { requeueAfterMs: 5 * 60_000 },
    verify: () => assert.equal(seen.length, 0),
  },
  'relistBehavior Manual and Ready: never lists by itself': {
    request,
    givenObjects: [
      broker({
        finalizers: [finalizer],
        spec: { relistBehavior: 'Manual' },
        status: { ...fetchedStatus(), lastCatalogRetrievalTime: '2023-01-01T00:00:00Z' },
      }),
    ],
    prepare: serve(catalog),
    verify: () => assert.equal(seen.length, 0),
  },
  'relistRequests raised: lists again; an entry is correlated by id, not name, and updated in place; one gone is marked removed':
    {
      request,
      givenObjects: [
        bumped(),
        secret,
        { ...dbClass({ description: 'old' }), metadata: meta('legacy-name') },
        smallPlan(),
        queueClass(),
        queuePlan(),
      ],
      prepare: serve({ services: [catalog.services[0]] }),
      // The class keeps its name; its plans name it.
      expectUpdates: [{ ...dbClass(), metadata: meta('legacy-name') }, inClass(smallPlan(), 'legacy-name')],
      expectCreates: [inClass(largePlan(), 'legacy-name')],
      expectStatusUpdates: [
        { ...queuePlan(), status: { removedFromBrokerCatalog: true } },
        { ...queueClass(), status: { removedFromBrokerCatalog: true } },
        { ...bumped(), status: { ...fetchedStatus(1, 2), observedGeneration: 2 } },
      ],
      expectEvents: [
        newEvent(
          broker(),
          'Normal',
          'FetchedCatalog',
          'Fetched catalog of 1 classes and 2 plans: 1 added, 2 updated, 2 removed from the catalog',
        ),
        updated(broker()),
      ],
      expectedResult: { requeueAfterMs: fifteenMinutes },
    },
  'a removed entry listed again is no longer marked removed': {
    request,
    givenObjects: [
      bumped(),
      secret,
      dbClass(),
      smallPlan({ removedFromBrokerCatalog: true }),
      largePlan(),
      queueClass(),
      queuePlan(),
    ],
    prepare: serve(catalog),
    expectStatusUpdates: [
      smallPlan({ removedFromBrokerCatalog: false }),
      { ...bumped(), status: { ...fetchedStatus(), observedGeneration: 2 } },
    ],
    expectEvents: [
      newEvent(
        broker(),
        'Normal',
        'FetchedCatalog',
        'Fetched catalog of 2 classes and 3 plans: 1 added, 0 updated, 0 removed from the catalog',
      ),
      updated(broker()),
    ],
    expectedResult: { requeueAfterMs: fifteenMinutes },
  },
  'catalog restrictions: only the classes and plans they admit become objects': {
    request,
    givenObjects: [
      bumped({
        catalogRestrictions: {
          serviceClass: ['spec.externalName in (db, cache)'],
          servicePlan: ['spec.free==true'],
        },
      }),
      secret,
    ],
    prepare: serve(catalog),
    expectCreates: [dbClass(), smallPlan()],
    expectStatusUpdates: [
      {
        ...bumped({
          catalogRestrictions: {
            serviceClass: ['spec.externalName in (db, cache)'],
            servicePlan: ['spec.free==true'],
          },
        }),
        status: { ...fetchedStatus(1, 1), observedGeneration: 2 },
      },
    ],
    expectEvents: [
      newEvent(
        broker(),
        'Normal',
        'FetchedCatalog',
        'Fetched catalog of 1 classes and 1 plans: 2 added, 0 updated, 0 removed from the catalog',
      ),
      updated(broker()),
    ],
    expectedResult: { requeueAfterMs: fifteenMinutes },
  },
  'a restriction that does not parse: Ready False naming the rule, no request, no retry': {
    request,
    givenObjects: [bumped({ catalogRestrictions: { servicePlan: ['spec.color == red'] } })],
    prepare: serve(catalog),
    expectStatusUpdates: [
      {
        ...bumped({ catalogRestrictions: { servicePlan: ['spec.color == red'] } }),
        status: failedStatus(
          'InvalidCatalogRestrictions',
          'spec.catalogRestrictions.servicePlan[0]: unknown property "spec.color", expected one of name, spec.externalName, spec.externalID, spec.free, spec.serviceClassExternalName',
          2,
        ),
      },
    ],
    expectEvents: [
      warning(
        'InvalidCatalogRestrictions',
        'spec.catalogRestrictions.servicePlan[0]: unknown property "spec.color", expected one of name, spec.externalName, spec.externalID, spec.free, spec.serviceClassExternalName',
      ),
      updated(broker()),
    ],
    verify: () => assert.equal(seen.length, 0),
  },
  'an http:// URL without insecureAllowHTTP is refused before any request': {
    request,
    givenObjects: [bumped({ insecureAllowHTTP: false })],
    prepare: serve(catalog),
    expectStatusUpdates: [
      {
        ...bumped({ insecureAllowHTTP: false }),
        status: failedStatus(
          'InvalidBrokerSpec',
          'spec.url: an http:// URL sends broker credentials in clear text; use https, or set spec.insecureAllowHTTP to consent',
          2,
        ),
      },
    ],
    expectEvents: [
      warning(
        'InvalidBrokerSpec',
        'spec.url: an http:// URL sends broker credentials in clear text; use https, or set spec.insecureAllowHTTP to consent',
      ),
      updated(broker()),
    ],
    verify: () => assert.equal(seen.length, 0),
  },
  'the auth Secret is missing: Ready False naming it, and an error to retry with backoff': {
    request,
    givenObjects: [bumped()],
    prepare: serve(catalog),
    expectStatusUpdates: [
      {
        ...bumped(),
        status: failedStatus(
          'ErrorGettingAuthCredentials',
          'Error getting broker auth credentials: Secret osb-system/acme-auth not found',
        ),
      },
    ],
    expectEvents: [
      warning(
        'ErrorGettingAuthCredentials',
        'Error getting broker auth credentials: Secret osb-system/acme-auth not found',
      ),
      updated(broker()),
    ],
    shouldErr: /Secret osb-system\/acme-auth not found/,
  },
  'the broker answers 500: Ready False ErrorFetchingCatalog, and an error to retry with backoff': {
    request,
    givenObjects: [bumped(), secret],
    prepare: serve({ description: 'database on fire' }, 500),
    expectStatusUpdates: [
      {
        ...bumped(),
        status: failedStatus(
          'ErrorFetchingCatalog',
          'Error fetching catalog: GET /v2/catalog: broker answered 500 (database on fire)',
        ),
      },
    ],
    expectEvents: [
      warning(
        'ErrorFetchingCatalog',
        'Error fetching catalog: GET /v2/catalog: broker answered 500 (database on fire)',
      ),
      updated(broker()),
    ],
    shouldErr: /broker answered 500/,
  },
  'a catalog that lists a plan id twice is invalid: nothing is written': {
    request,
    givenObjects: [bumped(), secret],
    prepare: serve({
      services: [
        {
          ...catalog.services[0],
          plans: [catalog.services[0]?.plans[0], { ...catalog.services[0]?.plans[0], name: 'other' }],
        },
      ],
    }),
    expectStatusUpdates: [
      {
        ...bumped(),
        status: failedStatus(
          'InvalidCatalog',
          'Invalid catalog: service "db", plan "other": id "plan-db-small" is listed twice',
        ),
      },
    ],
    expectEvents: [
      warning(
        'InvalidCatalog',
        'Invalid catalog: service "db", plan "other": id "plan-db-small" is listed twice',
      ),
      updated(broker()),
    ],
    shouldErr: /listed twice/,
  },
  "another broker's object holds the name: the entry is skipped, Ready False CatalogNameConflict": {
    request,
    givenObjects: [bumped(), secret, { ...dbClass({ clusterServiceBrokerName: 'other' }) }],
    prepare: serve({ services: [catalog.services[0]] }),
    expectCreates: [dbClass()],
    expectStatusUpdates: [
      {
        ...bumped(),
        status: {
          conditions: [
            ready(
              'CatalogNameConflict',
              'ClusterServiceClass svc-db exists and is not this broker\'s entry for id "svc-db"',
              'False',
            ),
          ],
          observedGeneration: 2,
          lastCatalogRetrievalTime: now,
          catalog: { classes: 1, plans: 2 },
        },
      },
    ],
    expectEvents: [
      warning(
        'CatalogNameConflict',
        'ClusterServiceClass svc-db exists and is not this broker\'s entry for id "svc-db"',
      ),
      updated(broker()),
    ],
    expectedResult: { requeueAfterMs: fifteenMinutes },
  },
  'a deleted broker: its plans, then its classes, are deleted, then the finalizer goes': {
    request,
    givenObjects: [
      broker({ finalizers: [finalizer], deleting: true, status: fetchedStatus() }),
      dbClass(),
      smallPlan(),
      largePlan(),
    ],
    expectDeletes: [
      { apiVersion, kind: 'ClusterServicePlan', name: 'plan-db-large' },
      { apiVersion, kind: 'ClusterServicePlan', name: 'plan-db-small' },
      { apiVersion, kind: 'ClusterServiceClass', name: 'svc-db' },
    ],
    expectPatches: [{ ...finalizerPatch, patch: { metadata: { resourceVersion: '1', finalizers: [] } } }],
    expectEvents: [finalizerPatched],
  },
};

reconcilerTests('ClusterServiceBroker', {
  reconciler: () => brokerReconciler(clusterScope),
  rows,
});

const nsBroker = (status?: Record<string, unknown>): KubeObject => ({
  apiVersion,
  kind: 'ServiceBroker',
  metadata: {
    namespace: 'team-a',
    name: 'local',
    uid: 'ns-broker-uid',
    generation: 1,
    finalizers: [finalizer],
  },
  spec: { url, insecureAllowHTTP: true, authInfo: { bearer: { secretRef: { name: 'local-token' } } } },
  ...(status && { status }),
});
const nsOwner = { ...owner, kind: 'ServiceBroker', name: 'local', uid: 'ns-broker-uid' };
const nsMeta = (name: string) => ({
  name,
  namespace: 'team-a',
  labels: { [brokerLabel]: 'local' },
  ownerReferences: [nsOwner],
});

reconcilerTests('ServiceBroker', {
  reconciler: () => brokerReconciler(namespacedScope),
  rows: {
    'a namespaced broker: bearer token from a Secret of its namespace; ServiceClasses and ServicePlans in it':
      {
        request: { namespace: 'team-a', name: 'local' },
        givenObjects: [
          nsBroker(),
          {
            apiVersion: 'v1',
            kind: 'Secret',
            metadata: { namespace: 'team-a', name: 'local-token' },
            data: { token: Buffer.from('tok-123').toString('base64') },
          },
        ],
        prepare: serve({ services: [catalog.services[1]] }),
        expectCreates: [
          {
            apiVersion,
            kind: 'ServiceClass',
            metadata: nsMeta(queueName),
            spec: {
              externalName: 'queue',
              externalID: queueID,
              description: 'A queue',
              bindable: false,
              serviceBrokerName: 'local',
            },
          },
          {
            apiVersion,
            kind: 'ServicePlan',
            metadata: nsMeta('plan-queue'),
            spec: {
              externalName: 'standard',
              externalID: 'plan-queue',
              description: 'Standard',
              free: true,
              maximumPollingDuration: 600,
              serviceBrokerName: 'local',
              serviceClassRef: { name: queueName },
            },
          },
        ],
        expectStatusUpdates: [nsBroker(fetchedStatus(1, 1))],
        expectEvents: [
          newEvent(
            nsBroker(),
            'Normal',
            'FetchedCatalog',
            'Fetched catalog of 1 classes and 1 plans: 2 added, 0 updated, 0 removed from the catalog',
          ),
          updated(nsBroker()),
        ],
        expectedResult: { requeueAfterMs: fifteenMinutes },
        verify: () => assert.equal(seen[0]?.headers['authorization'], 'Bearer tok-123'),
      },
  },
});
