// Bearer tokens on a real API server: service-account tokens from the TokenRequest API, checked by
// TokenReview and authorized by SubjectAccessReview on the non-resource URLs /v2 and /v2/*. The
// broker acts as a user that holds only `system:auth-delegator`, as a broker in a cluster would.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { ControlPlane, skipE2E } from '@bindery/controlplane';
import { KubeClient } from '@bindery/kube';
import { basicAuth } from './auth.ts';
import type { Broker } from './broker.ts';
import { BrokerServer } from './server.ts';
import { basicHeader, osb } from './test-helpers.ts';
import type { OsbAnswer } from './test-helpers.ts';
import { tokenReviewAuth } from './token-review.ts';

const catalog = {
  services: [
    {
      id: 'svc',
      name: 'svc',
      description: 'a service',
      bindable: true,
      plans: [{ id: 'plan', name: 'plan', description: 'a plan' }],
    },
  ],
};

const broker: Broker = {
  catalog: () => catalog,
  provision: () => Promise.resolve({ status: 201 }),
  update: () => Promise.resolve({ status: 200 }),
  deprovision: () => Promise.resolve({ status: 200 }),
  lastOperation: () => Promise.resolve({ state: 'succeeded' }),
  bind: () => Promise.resolve({ status: 201, credentials: {} }),
  unbind: () => Promise.resolve({ status: 200 }),
};

describe('bearer tokens checked by TokenReview and SubjectAccessReview', { skip: skipE2E }, () => {
  let cp: ControlPlane;
  let admin: KubeClient;
  let delegator: KubeClient;
  let server: BrokerServer;
  const tokens: Record<string, string> = {};

  const serviceAccountToken = async (namespace: string, name: string): Promise<string> => {
    await admin.create({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace } });
    const res = await admin.request<{ status: { token: string } }>({
      method: 'POST',
      path: `/api/v1/namespaces/${namespace}/serviceaccounts/${name}/token`,
      body: {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'TokenRequest',
        spec: { expirationSeconds: 3600 },
      },
    });
    return res.status.token;
  };

  const as = (token: string | undefined, method: string, path: string, body?: unknown): Promise<OsbAnswer> =>
    osb(server.url, method, path, {
      ...(body !== undefined && { body }),
      headers: { authorization: token === undefined ? null : `Bearer ${token}` },
    });

  before(
    async () => {
      cp = new ControlPlane();
      await cp.start();
      admin = cp.client();
      for (const name of ['osb-platform', 'osb-other']) {
        await admin.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
      }
      const role = (name: string, verbs: string[], urls: string[]) => ({
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRole',
        metadata: { name },
        rules: [{ nonResourceURLs: urls, verbs }],
      });
      const binding = (name: string, roleName: string, subject: Record<string, string>) => ({
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRoleBinding',
        metadata: { name },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: roleName },
        subjects: [subject],
      });
      await admin.create(role('osb-platform', ['get', 'put', 'patch', 'delete'], ['/v2', '/v2/*']));
      await admin.create(role('osb-catalog-reader', ['get'], ['/v2/catalog']));
      // Every service account of the platform's namespace may use the broker.
      await admin.create(
        binding('osb-platform', 'osb-platform', {
          apiGroup: 'rbac.authorization.k8s.io',
          kind: 'Group',
          name: 'system:serviceaccounts:osb-platform',
        }),
      );
      await admin.create(
        binding('osb-catalog-reader', 'osb-catalog-reader', {
          kind: 'ServiceAccount',
          name: 'reader',
          namespace: 'osb-other',
        }),
      );
      // The broker itself: a user that may only create TokenReviews and SubjectAccessReviews.
      const user = await cp.addUser({ name: 'osb-broker', groups: ['osb-brokers'] });
      await admin.create(
        binding('osb-broker-auth-delegator', 'system:auth-delegator', {
          apiGroup: 'rbac.authorization.k8s.io',
          kind: 'User',
          name: 'osb-broker',
        }),
      );
      delegator = KubeClient.fromKubeConfig({ kubeconfig: user.kubeconfigPath });

      tokens['allowed'] = await serviceAccountToken('osb-platform', 'platform');
      tokens['restricted'] = await serviceAccountToken('osb-other', 'stranger');
      tokens['reader'] = await serviceAccountToken('osb-other', 'reader');

      server = new BrokerServer({
        broker,
        auth: [
          tokenReviewAuth({ client: delegator, cacheTtlMs: 0 }),
          basicAuth({ username: 'u', password: 'p' }),
        ],
        port: 0,
        log: pino({ level: 'silent' }),
      });
      await server.listen();
    },
    { timeout: 30 * 60_000 },
  );

  after(async () => {
    await server?.stop();
    await delegator?.close();
    await cp?.stop();
  });

  it('lets in a service account that RBAC allows on /v2 and /v2/*', async () => {
    assert.equal((await as(tokens['allowed'], 'GET', '/v2/catalog')).status, 200);
    const body = { service_id: 'svc', plan_id: 'plan', organization_guid: 'o', space_guid: 's' };
    assert.equal((await as(tokens['allowed'], 'PUT', '/v2/service_instances/i-1', body)).status, 201);
  });

  it('answers 403 with no detail to an authenticated user RBAC does not allow', async () => {
    const res = await as(tokens['restricted'], 'GET', '/v2/catalog');
    assert.equal(res.status, 403);
    assert.deepEqual(res.body, { description: 'Forbidden.' });
  });

  it('authorizes by path and verb: a reader of /v2/catalog may not provision', async () => {
    assert.equal((await as(tokens['reader'], 'GET', '/v2/catalog')).status, 200);
    const body = { service_id: 'svc', plan_id: 'plan', organization_guid: 'o', space_guid: 's' };
    assert.equal((await as(tokens['reader'], 'PUT', '/v2/service_instances/i-2', body)).status, 403);
  });

  it('answers 401 with no detail to a token the API server does not know, or no token', async () => {
    const forged = `${tokens['allowed']?.slice(0, -4)}AAAA`;
    for (const token of [forged, 'not-a-token', undefined]) {
      const res = await as(token, 'GET', '/v2/catalog');
      assert.equal(res.status, 401);
      assert.deepEqual(res.body, { description: 'Unauthorized.' });
    }
  });

  it('takes basic credentials next to bearer tokens', async () => {
    const res = await osb(server.url, 'GET', '/v2/catalog', {
      headers: { authorization: basicHeader('u', 'p') },
    });
    assert.equal(res.status, 200);
  });
});
