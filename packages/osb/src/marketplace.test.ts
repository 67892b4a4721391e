import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { KubeObject } from '@bindery/kube';
import { testConfig } from '@bindery/runtime/testing';
import { apiVersion } from './apis/group.ts';
import { formatMarketplace, listMarketplace } from './marketplace.ts';

const klass = (
  name: string,
  externalName: string,
  extra: Record<string, unknown> = {},
  namespace?: string,
): KubeObject => ({
  apiVersion,
  kind: namespace ? 'ServiceClass' : 'ClusterServiceClass',
  metadata: { name, ...(namespace && { namespace }) },
  spec: {
    externalName,
    externalID: name,
    description: `The ${externalName}`,
    bindable: true,
    ...(namespace ? { serviceBrokerName: 'local' } : { clusterServiceBrokerName: 'acme' }),
  },
  ...extra,
});
const plan = (name: string, className: string, removed = false, namespace?: string): KubeObject => ({
  apiVersion,
  kind: namespace ? 'ServicePlan' : 'ClusterServicePlan',
  metadata: { name: `${className}-${name}`, ...(namespace && { namespace }) },
  spec: {
    externalName: name,
    externalID: `${className}-${name}`,
    ...(namespace
      ? { serviceClassRef: { name: className } }
      : { clusterServiceClassRef: { name: className } }),
  },
  status: { removedFromBrokerCatalog: removed },
});

const objects = [
  klass('c-db', 'db'),
  plan('small', 'c-db'),
  plan('large', 'c-db'),
  plan('old', 'c-db', true),
  klass('c-gone', 'gone', { status: { removedFromBrokerCatalog: true } }),
  plan('p', 'c-gone'),
  klass('c-cache', 'cache', {}, 'team-a'),
  plan('s', 'c-cache', false, 'team-a'),
  klass('c-other', 'other', {}, 'team-b'),
  plan('s', 'c-other', false, 'team-b'),
];

it('lists cluster classes with their plans, leaving out what the broker no longer lists', async () => {
  const { client } = testConfig({ givenObjects: objects });
  const classes = await listMarketplace(client);
  assert.deepEqual(
    classes.map((c) => [c.externalName, c.plans.map((p) => p.externalName)]),
    [['db', ['large', 'small']]],
  );
  assert.equal(
    formatMarketplace(classes),
    ['CLASS   PLANS          BROKER   DESCRIPTION', 'db      large, small   acme     The db', ''].join('\n'),
  );
});

it('adds the namespaced classes of one namespace, or of all', async () => {
  const { client } = testConfig({ givenObjects: objects });
  const one = await listMarketplace(client, { namespace: 'team-a' });
  assert.deepEqual(
    one.map((c) => [c.namespace, c.externalName]),
    [
      ['team-a', 'cache'],
      [undefined, 'db'],
    ],
  );
  assert.match(formatMarketplace(one), /^NAMESPACE {3}CLASS/);
  const all = await listMarketplace(client, { allNamespaces: true });
  assert.deepEqual(
    all.map((c) => c.externalName),
    ['cache', 'db', 'other'],
  );
  assert.equal(formatMarketplace([]), 'No classes found.\n');
});
