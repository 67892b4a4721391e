import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resourcePath } from './client.ts';
import { toResourceInfos } from './discovery.ts';

describe('toResourceInfos', () => {
  const infos = toResourceInfos('apps', 'v1', [
    {
      name: 'deployments',
      kind: 'Deployment',
      namespaced: true,
      verbs: ['get', 'list'],
      shortNames: ['deploy'],
    },
    { name: 'deployments/status', kind: 'Deployment', namespaced: true },
    { name: 'deployments/scale', kind: 'Scale', namespaced: true },
    { name: 'controllerrevisions', kind: 'ControllerRevision', namespaced: true },
  ]);

  it('keeps resources, folding subresources into their parent', () => {
    assert.deepEqual(
      infos.map((i) => [i.resource, i.kind, i.subresources]),
      [
        ['deployments', 'Deployment', ['status', 'scale']],
        ['controllerrevisions', 'ControllerRevision', []],
      ],
    );
    assert.deepEqual(infos[0]?.shortNames, ['deploy']);
  });

  it('builds paths for namespaced, cluster-scoped and core resources', () => {
    const deployments = infos[0];
    assert.ok(deployments);
    assert.equal(
      resourcePath(deployments, 'prod', 'web', 'status'),
      '/apis/apps/v1/namespaces/prod/deployments/web/status',
    );
    assert.equal(resourcePath(deployments), '/apis/apps/v1/deployments');
    const [ns] = toResourceInfos('', 'v1', [{ name: 'namespaces', kind: 'Namespace', namespaced: false }]);
    assert.ok(ns);
    assert.equal(resourcePath(ns, undefined, 'kube-system'), '/api/v1/namespaces/kube-system');
    assert.throws(() => resourcePath(deployments, undefined, 'web'), /metadata\.namespace is required/);
  });
});
