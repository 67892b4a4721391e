// Shared by the install e2e suites: what a cluster would do for them that the test control plane
// does not (the clusterrole-aggregation controller), acting as the bundle's ServiceAccount, and the
// bundle installed with the manager the CLI builds running as that ServiceAccount.

import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ControlPlane, eventually } from '@bindery/controlplane';
import { KubeClient } from '@bindery/kube';
import type { KubeObject, TypeRef } from '@bindery/kube';
import { generateSelfSigned } from '@bindery/runtime';
import { pino } from 'pino';
import { parse, stringify } from 'yaml';
import { serviceBindingManager } from '../cli/manager.ts';
import type { ServiceBindingManager, ServiceBindingManagerOptions } from '../cli/manager.ts';
import { applyInstallBundle } from './apply.ts';
import { renderInstallBundle } from './bundle.ts';
import { installNames } from './names.ts';
import type { InstallOptions } from './options.ts';

export const clusterRoleType: TypeRef = { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole' };

export interface PolicyRule {
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  verbs: string[];
}

interface ClusterRole extends KubeObject {
  aggregationRule?: { clusterRoleSelectors?: Array<{ matchLabels?: Record<string, string> }> };
  rules?: PolicyRule[];
}

/** What kube-controller-manager's clusterrole-aggregation controller does, for our aggregated role. */
export async function aggregate(admin: KubeClient): Promise<PolicyRule[]> {
  const ref = { ...clusterRoleType, name: installNames.aggregateClusterRole };
  const role = await admin.get<ClusterRole>(ref);
  const rules: PolicyRule[] = [];
  for (const selector of role.aggregationRule?.clusterRoleSelectors ?? []) {
    const labelSelector = Object.entries(selector.matchLabels ?? {})
      .map(([k, v]) => `${k}=${v}`)
      .join(',');
    const matched = await admin.list<ClusterRole>(clusterRoleType, { labelSelector });
    for (const r of matched.items.sort((a, b) =>
      (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''),
    )) {
      for (const rule of r.rules ?? []) {
        if (!rules.some((have) => JSON.stringify(have) === JSON.stringify(rule))) rules.push(rule);
      }
    }
  }
  await admin.patch(ref, { rules }, { type: 'merge' });
  return rules;
}

/**
 * The admin's credentials acting as `user` (kubeconfig `as:`, sent as `Impersonate-User`). The API
 * server gives an impersonated ServiceAccount its groups, as it would for the real token.
 */
export async function impersonating(cp: ControlPlane, dir: string, user: string): Promise<KubeClient> {
  const config = parse(cp.kubeconfig()) as { users: Array<{ user: Record<string, unknown> }> };
  for (const u of config.users) u.user['as'] = user;
  const kubeconfig = join(dir, 'impersonating.kubeconfig');
  await writeFile(kubeconfig, stringify(config), { mode: 0o600 });
  return KubeClient.fromKubeConfig({ kubeconfig });
}

export interface ResourceAttributes {
  namespace?: string;
  verb: string;
  group?: string;
  resource: string;
  subresource?: string;
  name?: string;
}

/** Whether the bundle's ServiceAccount may, as the API server's authorizer answers (a SubjectAccessReview). */
export async function serviceAccountCan(
  admin: KubeClient,
  systemNamespace: string,
  attributes: ResourceAttributes,
): Promise<boolean> {
  const review = await admin.create<KubeObject & { status?: { allowed?: boolean } }>({
    apiVersion: 'authorization.k8s.io/v1',
    kind: 'SubjectAccessReview',
    metadata: {},
    spec: {
      user: `system:serviceaccount:${systemNamespace}:${installNames.serviceAccount}`,
      groups: ['system:serviceaccounts', `system:serviceaccounts:${systemNamespace}`, 'system:authenticated'],
      resourceAttributes: attributes,
    },
  });
  return review.status?.allowed === true;
}

export interface InstalledManagerOptions {
  /** The bundle's options (cert-manager mode: its cert-manager objects are left out). */
  install: Omit<InstallOptions, 'certMode'>;
  /** The manager's, as `bindery manager` would set them from the same flags. */
  manager: Pick<ServiceBindingManagerOptions, 'secretAccess' | 'osb'>;
  /** Created once the bundle is applied, for the suite's objects. */
  namespace: string;
  /** A grant of the bundle to wait for: RBAC reaches the authorizer a moment after it is written. */
  granted: ResourceAttributes;
}

export interface InstalledManager {
  cp: ControlPlane;
  /** Acts as cluster admin. */
  admin: KubeClient;
  /** Acts as the bundle's ServiceAccount (impersonated). */
  controller: KubeClient;
  built: ServiceBindingManager;
  /** The manager's log lines (JSON). */
  logs: string[];
  /** Starts the manager; returns once it leads and its webhooks' index has synced. */
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A control plane with the bundle applied and aggregated, its webhook configurations pointed by URL
 * at the manager's webhook server (there is no Service to reach), and the manager the CLI builds,
 * not started yet, running as the bundle's ServiceAccount.
 */
export async function installWithManager(options: InstalledManagerOptions): Promise<InstalledManager> {
  const system = options.install.namespace ?? installNames.namespace;
  const dir = await mkdtemp(join(tmpdir(), 'bindery-install-e2e-'));
  const cp = new ControlPlane();
  const logs: string[] = [];
  const stopping = new AbortController();
  let running: Promise<void> | undefined;
  let controller: KubeClient | undefined;
  const stop = async (): Promise<void> => {
    stopping.abort();
    await running?.catch(() => undefined);
    await controller?.close();
    await cp.stop();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await cp.start();
    const admin = cp.client();
    controller = await impersonating(
      cp,
      dir,
      `system:serviceaccount:${system}:${installNames.serviceAccount}`,
    );
    const certs = await generateSelfSigned({
      service: installNames.webhookService,
      namespace: system,
      extraHosts: ['127.0.0.1'],
    });
    const built = await serviceBindingManager({
      client: controller,
      log: pino({ level: 'info' }, { write: (line: string) => void logs.push(line) }),
      metrics: false,
      health: false,
      leaderElection: { namespace: system, name: installNames.lease },
      webhookServer: { port: 0, host: '127.0.0.1', tls: certs.serving },
      // As in a cluster: the manager programs the rules of the installed configurations only.
      names: {
        interceptor: installNames.interceptorConfiguration,
        trigger: installNames.triggerConfiguration,
        validation: installNames.validationConfiguration,
      },
      ...options.manager,
    });
    const caBundle = Buffer.from(certs.caBundle).toString('base64');
    const bundle = renderInstallBundle({ ...options.install, certMode: 'cert-manager' })
      .filter((o) => !(o.apiVersion?.startsWith('cert-manager.io/') ?? false))
      .map((o) => {
        if (!o.kind?.endsWith('WebhookConfiguration')) return o;
        const c = structuredClone(o) as Configuration;
        for (const w of c.webhooks) {
          w.clientConfig = { url: built.server.url(w.clientConfig.service?.path ?? ''), caBundle };
        }
        return c;
      });
    await applyInstallBundle(admin, bundle);
    await aggregate(admin);
    await admin.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: options.namespace } });
    await eventually(async () => assert.ok(await serviceAccountCan(admin, system, options.granted)));
    return {
      cp,
      admin,
      controller,
      built,
      logs,
      start: async () => {
        running = built.manager.start(stopping.signal);
        await eventually(() => assert.ok(built.manager.leading && built.webhooks.index.hasSynced()));
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

interface WebhookEntry {
  clientConfig: { service?: { path?: string }; url?: string; caBundle?: string };
}
type Configuration = KubeObject & { webhooks: WebhookEntry[] };
