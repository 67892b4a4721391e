import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { KubeObject } from '@bindery/kube';
import * as prettier from 'prettier';
import { parseAllDocuments } from 'yaml';
import { defaultMappings } from '../apis/default-mappings.ts';
import {
  binderyVersion,
  certDir,
  installManifests,
  installNames,
  installPorts,
  renderInstallBundle,
  renderInstallYaml,
} from './index.ts';
import type { CertMode } from './index.ts';

const root = fileURLToPath(new URL('../../../../', import.meta.url));

interface PolicyRule {
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  verbs: string[];
  nonResourceURLs?: string[];
}
interface Container {
  name: string;
  image: string;
  args: string[];
  ports: Array<{ name: string; containerPort: number }>;
  livenessProbe: { httpGet: { path: string; port: string } };
  readinessProbe: { httpGet: { path: string; port: string } };
  resources: { requests: Record<string, string>; limits: Record<string, string> };
  securityContext: Record<string, unknown>;
  volumeMounts: Array<{ name: string; mountPath: string }>;
}
interface PodSpec {
  serviceAccountName: string;
  securityContext: Record<string, unknown>;
  containers: Container[];
  volumes: Array<{ name: string; secret?: { secretName: string } }>;
}
interface Webhook {
  name: string;
  failurePolicy: string;
  rules?: unknown[];
  clientConfig: {
    caBundle?: string;
    service: { name: string; namespace: string; path: string; port: number };
  };
  namespaceSelector?: unknown;
}

const certModes: CertMode[] = ['cert-manager', 'self-managed'];
const find = (objects: KubeObject[], kind: string, name: string): KubeObject => {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  assert.ok(found, `${kind} ${name} is in the bundle`);
  return found;
};
const rulesOf = (o: KubeObject): PolicyRule[] => (o['rules'] as PolicyRule[] | undefined) ?? [];
const podSpecOf = (objects: KubeObject[]): PodSpec =>
  (find(objects, 'Deployment', installNames.deployment)['spec'] as { template: { spec: PodSpec } }).template
    .spec;
const webhooksOf = (o: KubeObject): Webhook[] => o['webhooks'] as Webhook[];
const indexOf = (objects: KubeObject[], pred: (o: KubeObject) => boolean): number[] =>
  objects.flatMap((o, i) => (pred(o) ? [i] : []));
const isRBAC = (o: KubeObject): boolean => o.apiVersion === 'rbac.authorization.k8s.io/v1';
const isWebhookConfiguration = (o: KubeObject): boolean => o.apiVersion === 'admissionregistration.k8s.io/v1';

describe('install bundle files', () => {
  for (const { path, objects, content } of installManifests()) {
    it(`${path} is checked in exactly as the generator writes it`, async () => {
      const onDisk = await readFile(`${root}${path}`, 'utf8').catch(() => '');
      assert.ok(onDisk === content, `${path} is stale: run node packages/servicebinding/src/cli-gen-crds.ts`);
    });

    it(`${path} is prettier-formatted and parses back to the objects`, async () => {
      const options = (await prettier.resolveConfig(`${root}${path}`)) ?? {};
      assert.equal(await prettier.format(content, { ...options, filepath: path }), content);
      const docs = parseAllDocuments(content);
      assert.ok(Array.isArray(docs));
      for (const doc of docs) assert.deepEqual(doc.errors, []);
      assert.deepEqual(
        docs.map((d) => d.toJS() as unknown),
        JSON.parse(JSON.stringify(objects)),
      );
    });
  }

  it('config/install.yaml is the cert-manager bundle, config/install-self-managed.yaml the self-managed one', () => {
    const [certManager, selfManaged] = installManifests();
    assert.equal(certManager?.path, 'config/install.yaml');
    assert.deepEqual(certManager.objects, renderInstallBundle());
    assert.equal(selfManaged?.path, 'config/install-self-managed.yaml');
    assert.deepEqual(selfManaged.objects, renderInstallBundle({ certMode: 'self-managed' }));
  });

  it('the version is the package’s', async () => {
    const pkg = JSON.parse(await readFile(`${root}packages/servicebinding/package.json`, 'utf8')) as {
      version: string;
    };
    assert.equal(binderyVersion, pkg.version);
  });

  it('the CRDs are the ones in config/crd; the default mapping is not in the bundle, only in its optional file', async () => {
    const onDisk = async (path: string): Promise<unknown[]> =>
      parseAllDocuments(await readFile(`${root}${path}`, 'utf8')).map((d) => d.toJS() as unknown);
    const objects = renderInstallBundle();
    const crds = objects.filter((o) => o.kind === 'CustomResourceDefinition');
    assert.deepEqual(crds, [
      ...(await onDisk('config/crd/servicebinding.io_servicebindings.yaml')),
      ...(await onDisk('config/crd/servicebinding.io_clusterworkloadresourcemappings.yaml')),
    ]);
    // No object of the bundle's own CRDs: one `kubectl apply` must not need them Established first.
    // The controller creates the default mappings (ensureDefaultMappings).
    for (const certMode of certModes) {
      assert.deepEqual(
        renderInstallBundle({ certMode }).filter(
          (o) => o.apiVersion?.startsWith('servicebinding.io/') ?? false,
        ),
        [],
      );
    }
    assert.deepEqual(await onDisk('config/servicebinding-workloadresourcemappings.yaml'), [
      ...defaultMappings,
    ]);
  });
});

describe('install bundle order', () => {
  for (const certMode of certModes) {
    it(`${certMode}: Namespace, CRDs, RBAC, certificates, Services, Deployment, webhook configurations last; no mapping`, () => {
      const objects = renderInstallBundle({ certMode });
      assert.equal(objects[0]?.kind, 'Namespace');
      const crds = indexOf(objects, (o) => o.kind === 'CustomResourceDefinition');
      assert.deepEqual(crds, [1, 2]);
      const deployment = indexOf(objects, (o) => o.kind === 'Deployment');
      const rbac = indexOf(objects, (o) => isRBAC(o) || o.kind === 'ServiceAccount');
      assert.ok(Math.max(...rbac) < Math.min(...deployment), 'permissions exist before the pods start');
      const certs = indexOf(objects, (o) => o.apiVersion === 'cert-manager.io/v1' || o.kind === 'Secret');
      assert.ok(
        Math.max(...certs) < Math.min(...deployment),
        'the certificate Secret is there before the pods',
      );
      // The controller creates the default mapping once it leads; in the bundle it would fail a
      // single `kubectl apply` on an empty cluster (servicebinding/runtime#159).
      assert.deepEqual(
        indexOf(objects, (o) => o.kind === 'ClusterWorkloadResourceMapping'),
        [],
      );
      const webhooks = indexOf(objects, isWebhookConfiguration);
      assert.equal(webhooks.length, 3);
      // Last: the validating webhook fails closed, and no replica is ready to answer on a first install.
      assert.deepEqual(
        webhooks,
        objects.slice(objects.length - 3).map((_, i) => objects.length - 3 + i),
      );
      assert.ok(Math.max(...deployment) < Math.min(...webhooks));
    });
  }
});

describe('install bundle RBAC', () => {
  for (const certMode of certModes) {
    const objects = renderInstallBundle({ certMode });
    const sa = {
      kind: 'ServiceAccount',
      name: installNames.serviceAccount,
      namespace: installNames.namespace,
    };

    it(`${certMode} RA-2: an aggregated ClusterRole selecting servicebinding.io/controller: "true" (and the RI's legacy label), its rules left to the control plane`, () => {
      const role = find(objects, 'ClusterRole', installNames.aggregateClusterRole);
      assert.deepEqual(role['aggregationRule'], {
        clusterRoleSelectors: [
          { matchLabels: { 'servicebinding.io/controller': 'true' } },
          { matchLabels: { 'service.binding/controller': 'true' } },
        ],
      });
      assert.equal(role['rules'], undefined, 'an applied rules: [] would fight the aggregation controller');
    });

    it(`${certMode} RA-3: the aggregated and the manager ClusterRoles are bound cluster-wide to the ServiceAccount the Deployment runs as`, () => {
      for (const role of [installNames.aggregateClusterRole, installNames.managerClusterRole]) {
        const binding = find(objects, 'ClusterRoleBinding', role);
        assert.deepEqual(binding['roleRef'], {
          apiGroup: 'rbac.authorization.k8s.io',
          kind: 'ClusterRole',
          name: role,
        });
        assert.deepEqual(binding['subjects'], [sa]);
      }
      assert.equal(podSpecOf(objects).serviceAccountName, installNames.serviceAccount);
      find(objects, 'ServiceAccount', installNames.serviceAccount);
    });

    it(`${certMode} WR-1 WR-2: the built-in workload kinds are opted in with get, list, watch, update, patch`, () => {
      const role = find(objects, 'ClusterRole', installNames.workloadsClusterRole);
      assert.equal(role.metadata.labels?.['servicebinding.io/controller'], 'true');
      assert.deepEqual(
        rulesOf(role)
          .flatMap((r) => (r.resources ?? []).map((res) => `${r.apiGroups?.join() ?? ''}/${res}`))
          .sort(),
        [
          '/replicationcontrollers',
          'apps/daemonsets',
          'apps/deployments',
          'apps/replicasets',
          'apps/statefulsets',
          'batch/cronjobs',
          'batch/jobs',
        ],
      );
      for (const r of rulesOf(role)) assert.deepEqual(r.verbs, ['get', 'list', 'watch', 'update', 'patch']);
    });

    it(`${certMode}: least privilege — Secrets get/list/watch only, nothing cluster-admin-like, writes to own objects by name`, () => {
      const roles = objects.filter((o) => o.kind === 'ClusterRole' || o.kind === 'Role');
      for (const role of roles) {
        for (const r of rulesOf(role)) {
          const where = `${role.kind ?? ''} ${role.metadata.name ?? ''}`;
          assert.equal(r.nonResourceURLs, undefined, where);
          for (const field of [r.apiGroups, r.resources, r.verbs])
            assert.ok(!field?.includes('*'), `${where}: no *`);
          for (const verb of [
            'delete',
            'deletecollection',
            'escalate',
            'bind',
            'impersonate',
            'approve',
            'sign',
          ]) {
            assert.ok(!r.verbs.includes(verb), `${where}: no ${verb}`);
          }
          for (const res of r.resources ?? []) {
            assert.doesNotMatch(
              res,
              /^(pods\/exec|pods\/attach|serviceaccounts\/token|nodes|.*roles|.*rolebindings)$/,
              where,
            );
          }
          assert.ok(!r.apiGroups?.includes('rbac.authorization.k8s.io'), where);
          if (r.resources?.includes('secrets')) {
            if (role.kind === 'ClusterRole') {
              assert.equal(role.metadata.name, installNames.managerClusterRole);
              assert.deepEqual(r.verbs, ['get', 'list', 'watch'], 'metadata-only reads, no writes');
              assert.equal(r.resourceNames, undefined);
            } else {
              // Self-managed: the one Secret holding the webhook CA, in the controller's namespace.
              assert.equal(certMode, 'self-managed');
              assert.deepEqual(r.resourceNames, [installNames.webhookCertSecret]);
              assert.deepEqual(r.verbs, ['get', 'update', 'patch']);
            }
          }
          const writes = r.verbs.filter((v) => v === 'update' || v === 'patch');
          const group = r.apiGroups?.[0];
          if (
            writes.length > 0 &&
            (group === 'admissionregistration.k8s.io' || group === 'coordination.k8s.io')
          ) {
            assert.ok((r.resourceNames ?? []).length > 0, `${where}: writes to ${group} are limited by name`);
          }
        }
      }
      const manager = find(objects, 'ClusterRole', installNames.managerClusterRole);
      const grants = rulesOf(manager).flatMap((r) =>
        (r.resources ?? []).map((res) => `${r.apiGroups?.join() ?? ''}/${res}: ${r.verbs.join(',')}`),
      );
      assert.deepEqual(grants, [
        'servicebinding.io/servicebindings: get,list,watch,update,patch',
        'servicebinding.io/servicebindings/status: get,update,patch',
        'servicebinding.io/servicebindings/finalizers: update',
        'servicebinding.io/clusterworkloadresourcemappings: get,list,watch,create',
        '/secrets: get,list,watch',
        'events.k8s.io/events: create,patch',
        'admissionregistration.k8s.io/mutatingwebhookconfigurations: get,list,watch,update,patch',
        'admissionregistration.k8s.io/validatingwebhookconfigurations: get,list,watch,update,patch',
        'authorization.k8s.io/selfsubjectaccessreviews: create',
      ]);
      const lease = find(objects, 'Role', installNames.leaderElectionRole);
      assert.equal(lease.metadata.namespace, installNames.namespace);
      assert.deepEqual(
        rulesOf(lease).map((r) => [r.resources, r.resourceNames, r.verbs]),
        [
          [['leases'], [installNames.lease], ['get', 'update', 'patch']],
          [['leases'], undefined, ['create']],
        ],
      );
    });
  }
});

describe('install bundle with the OSB platform (osb: true)', () => {
  const objects = renderInstallBundle({ osb: true });
  const plain = renderInstallBundle();

  it('adds the osb.bindery.dev CRDs (as in config/crd) after the servicebinding.io ones, and nothing of them otherwise', async () => {
    const crds = objects.filter((o) => o.kind === 'CustomResourceDefinition').map((o) => o.metadata.name);
    assert.deepEqual(crds.slice(0, 2), [
      'servicebindings.servicebinding.io',
      'clusterworkloadresourcemappings.servicebinding.io',
    ]);
    assert.deepEqual(crds.slice(2).sort(), [
      'clusterservicebrokers.osb.bindery.dev',
      'clusterserviceclasses.osb.bindery.dev',
      'clusterserviceplans.osb.bindery.dev',
      'servicebrokers.osb.bindery.dev',
      'serviceclasses.osb.bindery.dev',
      'servicecredentialbindings.osb.bindery.dev',
      'serviceinstances.osb.bindery.dev',
      'serviceplans.osb.bindery.dev',
    ]);
    const onDisk = parseAllDocuments(
      await readFile(`${root}config/crd/osb.bindery.dev_servicecredentialbindings.yaml`, 'utf8'),
    ).map((d) => d.toJS() as unknown);
    assert.deepEqual(onDisk, [
      find(objects, 'CustomResourceDefinition', 'servicecredentialbindings.osb.bindery.dev'),
    ]);
    assert.equal(plain.filter((o) => o.metadata.name?.includes('osb') ?? false).length, 0);
    assert.ok(!podSpecOf(plain).containers[0]?.args.includes('--osb'));
  });

  it('a ClusterRole labelled servicebinding.io/controller lets the aggregated role read ServiceCredentialBindings', () => {
    const role = find(objects, 'ClusterRole', 'bindery-osb-provisioned-services');
    assert.equal(role.metadata.labels?.['servicebinding.io/controller'], 'true');
    assert.deepEqual(rulesOf(role), [
      {
        apiGroups: ['osb.bindery.dev'],
        resources: ['servicecredentialbindings'],
        verbs: ['get', 'list', 'watch'],
      },
    ]);
  });

  it('the OSB manager role is bound to the ServiceAccount, and the manager runs with --osb', () => {
    const binding = find(objects, 'ClusterRoleBinding', 'bindery-osb-manager');
    assert.deepEqual(binding['subjects'], [
      { kind: 'ServiceAccount', name: installNames.serviceAccount, namespace: installNames.namespace },
    ]);
    const grants = rulesOf(find(objects, 'ClusterRole', 'bindery-osb-manager')).flatMap((r) =>
      (r.resources ?? []).map((res) => `${r.apiGroups?.join() ?? ''}/${res}: ${r.verbs.join(',')}`),
    );
    // Secrets: the only writes outside its own group (credential bindings own their Secrets).
    assert.ok(grants.includes('/secrets: get,list,watch,create,update,delete'));
    for (const g of grants)
      assert.match(g, /^(osb\.bindery\.dev|events\.k8s\.io)\/|^\/(secrets|namespaces):/);
    assert.ok(podSpecOf(objects).containers[0]?.args.includes('--osb'));
    const rbac = indexOf(objects, isRBAC);
    assert.ok(Math.max(...rbac) < Math.min(...indexOf(objects, (o) => o.kind === 'Deployment')));
  });

  it('the users of a namespace may ask for instances and bindings (edit), and read every OSB kind (view)', () => {
    const edit = find(objects, 'ClusterRole', 'bindery-osb-edit');
    assert.equal(edit.metadata.labels?.['rbac.authorization.k8s.io/aggregate-to-edit'], 'true');
    assert.deepEqual(rulesOf(edit)[0]?.resources, ['serviceinstances', 'servicecredentialbindings']);
    const view = find(objects, 'ClusterRole', 'bindery-osb-view');
    assert.equal(view.metadata.labels?.['rbac.authorization.k8s.io/aggregate-to-view'], 'true');
    assert.ok(rulesOf(view).every((r) => r.verbs.join() === 'get,list,watch'));
  });

  it('records the requesting user of instances and credential bindings with a mutating webhook (OSBP-3)', () => {
    const config = find(objects, 'MutatingWebhookConfiguration', installNames.osbUserInfoConfiguration);
    const hooks = config['webhooks'] as Array<{
      failurePolicy: string;
      clientConfig: { service: { path: string } };
      rules: Array<{ apiGroups: string[]; resources: string[]; operations: string[] }>;
    }>;
    assert.deepEqual(
      hooks.map((h) => [
        h.clientConfig.service.path,
        h.rules[0]?.resources,
        h.rules[0]?.operations,
        h.failurePolicy,
      ]),
      [
        [
          '/mutate-osb-bindery-dev-v1alpha1-serviceinstance',
          ['serviceinstances'],
          ['CREATE', 'UPDATE'],
          'Fail',
        ],
        [
          '/mutate-osb-bindery-dev-v1alpha1-servicecredentialbinding',
          ['servicecredentialbindings'],
          ['CREATE', 'UPDATE'],
          'Fail',
        ],
      ],
    );
    assert.equal(plain.filter((o) => o.metadata.name === installNames.osbUserInfoConfiguration).length, 0);
    for (const certMode of certModes) {
      const role = find(
        renderInstallBundle({ osb: true, certMode }),
        'ClusterRole',
        installNames.managerClusterRole,
      );
      const mutating = rulesOf(role).find((r) => r.resources?.includes('mutatingwebhookconfigurations'));
      assert.ok(mutating?.resourceNames?.includes(installNames.osbUserInfoConfiguration), certMode);
    }
  });

  it('is refused with secretAccess none', () => {
    assert.throws(() => renderInstallBundle({ osb: true, secretAccess: 'none' }), /osb needs Secrets/);
  });
});

describe('install bundle Deployment', () => {
  for (const certMode of certModes) {
    it(`${certMode}: 2 replicas with leader election, probes on ${installPorts.health}, resources, and a locked-down security context`, () => {
      const objects = renderInstallBundle({ certMode });
      const deployment = find(objects, 'Deployment', installNames.deployment);
      assert.equal((deployment['spec'] as { replicas: number }).replicas, 2);
      const pod = podSpecOf(objects);
      assert.deepEqual(pod.securityContext, {
        runAsNonRoot: true,
        seccompProfile: { type: 'RuntimeDefault' },
      });
      const [c] = pod.containers;
      assert.ok(c);
      assert.equal(pod.containers.length, 1);
      assert.equal(c.image, `ghcr.io/bindery/bindery:${binderyVersion}`);
      assert.equal(c.args[0], 'manager');
      assert.ok(c.args.includes('--leader-elect'));
      assert.ok(c.args.includes(`--leader-election-id=${installNames.lease}`));
      assert.ok(c.args.includes(`--cert-mode=${certMode}`));
      assert.deepEqual(
        c.ports.map((p) => [p.name, p.containerPort]),
        [
          ['webhook-server', 9443],
          ['metrics', 8080],
          ['health', 8081],
        ],
      );
      assert.deepEqual(c.livenessProbe.httpGet, { path: '/healthz', port: 'health' });
      assert.deepEqual(c.readinessProbe.httpGet, { path: '/readyz', port: 'health' });
      assert.ok(c.resources.requests['cpu'] && c.resources.requests['memory']);
      assert.ok(c.resources.limits['cpu'] && c.resources.limits['memory']);
      assert.deepEqual(c.securityContext, {
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        runAsNonRoot: true,
        capabilities: { drop: ['ALL'] },
      });
      const certVolume = pod.volumes.find((v) => v.secret);
      if (certMode === 'cert-manager') {
        assert.equal(certVolume?.secret?.secretName, installNames.webhookCertSecret);
        assert.ok(c.args.includes(`--cert-dir=${certDir}`));
        assert.ok(c.volumeMounts.some((m) => m.mountPath === certDir));
      } else {
        assert.equal(certVolume, undefined, 'self-managed: the manager reads its Secret through the API');
        assert.ok(c.args.includes(`--cert-secret=${installNames.webhookCertSecret}`));
      }
      find(objects, 'PodDisruptionBudget', installNames.podDisruptionBudget);
    });
  }

  it('the webhook Service maps 443 to the webhook port, the metrics Service exposes /metrics', () => {
    const objects = renderInstallBundle();
    const ports = (name: string): unknown =>
      (find(objects, 'Service', name)['spec'] as { ports: unknown[] }).ports;
    assert.deepEqual(ports(installNames.webhookService), [
      { name: 'https', port: 443, protocol: 'TCP', targetPort: 'webhook-server' },
    ]);
    assert.deepEqual(ports(installNames.metricsService), [
      { name: 'metrics', port: 8080, protocol: 'TCP', targetPort: 'metrics' },
    ]);
  });
});

describe('install bundle webhooks and certificates', () => {
  for (const certMode of certModes) {
    it(`${certMode}: interceptor fails closed, trigger is ignored on failure, validation fails closed; the manager fills rules and caBundle`, () => {
      const objects = renderInstallBundle({ certMode });
      const configs = objects.filter(isWebhookConfiguration);
      assert.deepEqual(
        configs.map((c) => [
          c.kind,
          c.metadata.name,
          webhooksOf(c).map((w) => [w.failurePolicy, w.clientConfig.service.path]),
        ]),
        [
          ['MutatingWebhookConfiguration', installNames.interceptorConfiguration, [['Fail', '/interceptor']]],
          ['ValidatingWebhookConfiguration', installNames.triggerConfiguration, [['Ignore', '/trigger']]],
          [
            'ValidatingWebhookConfiguration',
            installNames.validationConfiguration,
            [
              ['Fail', '/validate-servicebinding-io-v1-servicebinding'],
              ['Fail', '/validate-servicebinding-io-v1-clusterworkloadresourcemapping'],
            ],
          ],
        ],
      );
      for (const config of configs) {
        const dynamic = config.metadata.name !== installNames.validationConfiguration;
        assert.equal(
          config.metadata.annotations?.['bindery.dev/managed-rules'],
          dynamic ? 'true' : undefined,
        );
        assert.equal(
          config.metadata.annotations?.['cert-manager.io/inject-ca-from'],
          certMode === 'cert-manager' ? `${installNames.namespace}/${installNames.certificate}` : undefined,
        );
        for (const w of webhooksOf(config)) {
          assert.equal(w.clientConfig.caBundle, undefined, 'caBundle is injected, never applied');
          assert.deepEqual(w.clientConfig.service, {
            name: installNames.webhookService,
            namespace: installNames.namespace,
            path: w.clientConfig.service.path,
            port: 443,
          });
          if (dynamic) {
            assert.equal(w.rules, undefined, 'rules are the manager’s: an applied [] would fight it');
            assert.ok(w.namespaceSelector, 'never its own namespace nor kube-system');
          } else {
            assert.equal(w.rules?.length, 1);
          }
        }
      }
      const kinds = objects.map((o) => `${o.apiVersion ?? ''}/${o.kind ?? ''}`);
      if (certMode === 'cert-manager') {
        assert.ok(kinds.includes('cert-manager.io/v1/Issuer'));
        const cert = find(objects, 'Certificate', installNames.certificate);
        assert.deepEqual((cert['spec'] as { dnsNames: string[] }).dnsNames, [
          'bindery-webhook.bindery-system.svc',
          'bindery-webhook.bindery-system.svc.cluster.local',
        ]);
        assert.ok(!objects.some((o) => o.kind === 'Secret'));
      } else {
        assert.ok(!kinds.some((k) => k.startsWith('cert-manager.io/')));
        const secret = find(objects, 'Secret', installNames.webhookCertSecret);
        assert.equal(secret['data'], undefined, 're-applying the bundle never resets the CA');
      }
    });
  }
});

describe('renderInstallBundle options', () => {
  it('namespace, image and replicas reach every object that names them', () => {
    const objects = renderInstallBundle({
      namespace: 'platform-bindings',
      image: 'registry.example/bindery@sha256:abc',
      replicas: 3,
    });
    const json = JSON.stringify(objects);
    assert.ok(!json.includes('bindery-system'), 'no object keeps the default namespace');
    assert.equal(objects[0]?.metadata.name, 'platform-bindings');
    for (const o of objects) {
      const namespaced =
        ![
          'Namespace',
          'CustomResourceDefinition',
          'ClusterRole',
          'ClusterRoleBinding',
          'ClusterWorkloadResourceMapping',
        ].includes(o.kind ?? '') && !isWebhookConfiguration(o);
      assert.equal(
        o.metadata.namespace,
        namespaced ? 'platform-bindings' : undefined,
        `${o.kind ?? ''} ${o.metadata.name ?? ''}`,
      );
    }
    assert.equal(podSpecOf(objects).containers[0]?.image, 'registry.example/bindery@sha256:abc');
    assert.equal(
      (find(objects, 'Deployment', installNames.deployment)['spec'] as { replicas: number }).replicas,
      3,
    );
  });

  it('secretAccess none: no verb on Secrets cluster-wide (cert-manager: none at all), and the manager is told; so are deniedEnvNames', () => {
    for (const certMode of certModes) {
      const objects = renderInstallBundle({ certMode, secretAccess: 'none' });
      const secretRules = objects
        .filter((o) => o.kind === 'ClusterRole' || o.kind === 'Role')
        .flatMap((role) =>
          rulesOf(role)
            .filter((r) => r.resources?.includes('secrets'))
            .map((r) => `${role.kind}/${role.metadata.name ?? ''}: ${(r.resourceNames ?? []).join()}`),
        );
      assert.deepEqual(
        secretRules,
        certMode === 'self-managed'
          ? [`Role/${installNames.webhookCertRole}: ${installNames.webhookCertSecret}`]
          : [],
      );
      const deployment = find(objects, 'Deployment', installNames.deployment);
      assert.match(JSON.stringify(deployment), /"--secret-access=none"/);
    }
    assert.doesNotMatch(JSON.stringify(renderInstallBundle()), /--secret-access|--deny-env/);
    const denying = find(
      renderInstallBundle({ deniedEnvNames: ['LD_PRELOAD', 'NODE_OPTIONS'] }),
      'Deployment',
      installNames.deployment,
    );
    assert.match(JSON.stringify(denying), /"--deny-env=LD_PRELOAD,NODE_OPTIONS"/);
    assert.throws(() => renderInstallBundle({ deniedEnvNames: ['A,B'] }), /is not a variable name/);
    assert.match(renderInstallYaml({ secretAccess: 'none' }), /^# .*, no access to Secrets\./);
    assert.throws(
      () => renderInstallBundle({ secretAccess: 'data' as 'none' }),
      /secretAccess must be metadata or none/,
    );
  });

  it('one replica: no PodDisruptionBudget, which would only block node drains', () => {
    const objects = renderInstallBundle({ replicas: 1 });
    assert.ok(!objects.some((o) => o.kind === 'PodDisruptionBudget'));
  });

  it('refuses options that would render a broken bundle', () => {
    assert.throws(() => renderInstallBundle({ namespace: 'Bad_Namespace' }), /DNS-1123 label/);
    assert.throws(() => renderInstallBundle({ replicas: 0 }), /positive integer/);
    assert.throws(() => renderInstallBundle({ replicas: 1.5 }), /positive integer/);
    assert.throws(() => renderInstallBundle({ image: '' }), /image/);
    assert.throws(
      () => renderInstallBundle({ certMode: 'vault' as CertMode }),
      /cert-manager or self-managed/,
    );
  });

  it('renderInstallYaml is the bundle as YAML, with a header naming its options', () => {
    const yaml = renderInstallYaml({ certMode: 'self-managed', namespace: 'x' });
    assert.match(yaml, /^# Bindery 0\.1\.0 install bundle: cert mode self-managed, namespace x,/);
    assert.deepEqual(
      parseAllDocuments(yaml).map((d) => d.toJS() as unknown),
      JSON.parse(JSON.stringify(renderInstallBundle({ certMode: 'self-managed', namespace: 'x' }))),
    );
  });
});
