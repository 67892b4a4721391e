// `bindery dev`: a real kube-apiserver and etcd on loopback with Bindery running in this process,
// its webhooks registered by URL with a self-signed CA. Loaded only for this command: it needs
// @bindery/controlplane, a development dependency that the production package does not carry.

import { readdir, readFile, rename, rm, writeFile, mkdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { ControlPlane } from '@bindery/controlplane';
import { KubeClient } from '@bindery/kube';
import type { KubeObject } from '@bindery/kube';
import type { RunningSampleBroker } from '@bindery/osb-broker';
import { deepCopy, generateSelfSigned } from '@bindery/runtime';
import { parseAllDocuments } from 'yaml';
import { defaultMappings } from '../apis/index.ts';
import { applyInstallBundle, binderyVersion, renderInstallBundle } from '../install/index.ts';
import { defaultWebhookConfigurationNames } from '../webhooks/index.ts';
import type { DevArgs } from './commands.ts';
import { startDevBroker } from './dev-osb.ts';
import { cliLogger, serviceBindingManager } from './manager.ts';

export interface DevIO {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

const FIELD_MANAGER = 'bindery-dev';
const ADMISSION = 'admissionregistration.k8s.io/v1';

/** Runs until `signal` aborts, then removes everything it started; the exit code. */
export async function runDev(args: DevArgs, signal: AbortSignal, io: DevIO): Promise<number> {
  const kubeconfigPath = resolve(args.kubeconfigOut);
  const started = Date.now();
  const log = cliLogger(args.logLevel);
  const controlPlane = new ControlPlane({
    verbose: args.verbose,
    log: (line) => io.stderr(`${line}\n`),
  });
  let client: KubeClient | undefined;
  const stopManager = new AbortController();
  let managerDone: Promise<void> | undefined;
  let broker: RunningSampleBroker | undefined;
  let wroteKubeconfig = false;
  try {
    io.stderr('Starting kube-apiserver and etcd (the first run builds them with Go: about 10 minutes)…\n');
    await controlPlane.start(signal);
    io.stderr(`Control plane up at ${controlPlane.server}; installing the CRDs and default mappings…\n`);

    client = new KubeClient({
      kubeConfig: controlPlane.kubeConfig(),
      userAgent: `bindery-dev/${binderyVersion}`,
    });
    // The CRDs (the OSB platform's too) and the default ClusterWorkloadResourceMapping (before any webhook is registered; the
    // controller finds it and leaves it). Not the bundle's RBAC, Deployment nor Service: the manager
    // runs here, as admin, and has its webhooks registered by URL.
    const install = [
      ...renderInstallBundle({ osb: true }).filter((o) => o.kind === 'CustomResourceDefinition'),
      ...defaultMappings.map((m): KubeObject => deepCopy(m)),
    ];
    await applyInstallBundle(client, install, { fieldManager: FIELD_MANAGER, force: true, signal });

    const certs = await generateSelfSigned({
      service: 'bindery-webhook',
      namespace: 'default',
      extraHosts: ['127.0.0.1'],
    });
    const { manager, server, webhooks } = await serviceBindingManager({
      client,
      log,
      metrics: args.metrics,
      health: args.health,
      leaderElection: false,
      osb: true,
      webhookServer: { port: 0, host: '127.0.0.1', tls: certs.serving },
      clientConfig: (url) => ({ endpoint: { url }, caBundle: certs.caBundle }),
    });
    managerDone = manager.start(stopManager.signal);
    // A manager that stops by itself (a failed runnable, a lost watch) ends dev mode too.
    const managerStopped = managerDone.then(
      () => new Error('the manager stopped'),
      (err: unknown) => (err instanceof Error ? err : new Error(String(err))),
    );

    io.stderr('Starting the manager and registering its webhooks…\n');
    await untilReady(client, () => server.ready() && webhooks.index.hasSynced(), managerStopped, signal);
    if (args.samples) {
      await applySamples(client, serviceBindingSamplesDir(), 'samples/servicebinding', signal, io);
      // The OSB path: the sample broker here, a ClusterServiceBroker for it, then samples/osb.
      broker = await startDevBroker({ client, fieldManager: FIELD_MANAGER, log, signal });
      io.stderr(`Sample OSB broker at ${broker.url} (ClusterServiceBroker sample, catalog listed)\n`);
      await applySampleDir(client, samplesRoot('osb'), 'samples/osb', signal, io);
    }

    await writeAtomically(kubeconfigPath, controlPlane.kubeconfig());
    wroteKubeconfig = true;
    const metrics = manager.metricsAddress;
    const health = manager.healthAddress;
    io.stdout(
      `Bindery ${binderyVersion} is running on a local control plane (ready in ${((Date.now() - started) / 1000).toFixed(1)} s).\n\n` +
        `  export KUBECONFIG=${kubeconfigPath}\n` +
        '  kubectl get servicebindings,clusterworkloadresourcemappings -A\n' +
        (broker
          ? '  kubectl get clusterservicebrokers,serviceinstances,servicecredentialbindings -A\n\n'
          : '\n') +
        `API server  ${controlPlane.server}\n` +
        `Webhooks    ${server.url('')}\n` +
        (broker ? `OSB broker  ${broker.url}\n` : '') +
        (metrics ? `Metrics     http://${metrics.host}:${metrics.port}/metrics\n` : '') +
        (health ? `Readiness   http://${health.host}:${health.port}/readyz\n` : '') +
        '\nThere is no kubelet: workloads are stored and bound, no pod runs. Ctrl-C stops everything.\n',
    );

    const stopped = await Promise.race([
      new Promise<undefined>((resolve) => {
        if (signal.aborted) resolve(undefined);
        signal.addEventListener('abort', () => resolve(undefined), { once: true });
      }),
      managerStopped,
    ]);
    if (stopped) {
      io.stderr(`bindery dev: ${stopped.message}; stopping\n`);
      return 1;
    }
    io.stderr('\nStopping…\n');
    return 0;
  } catch (err) {
    if (signal.aborted) {
      io.stderr('\nStopped before it was ready.\n');
      return 130;
    }
    throw err;
  } finally {
    stopManager.abort();
    await managerDone?.catch(() => undefined);
    await broker?.stop();
    await client?.close();
    await controlPlane.stop();
    // It names a server that is gone: a kubectl using it would only time out.
    if (wroteKubeconfig) await rm(kubeconfigPath, { force: true });
  }
}

/**
 * Ready: the manager's own checks pass (bindings indexed, webhook server serving) and the API server
 * calls the webhooks — a dry-run ServiceBinding create goes through the validating webhook, which
 * fails closed, so it succeeds only once the configuration is registered and the server answers.
 */
async function untilReady(
  client: KubeClient,
  managerReady: () => boolean,
  managerStopped: Promise<Error>,
  signal: AbortSignal,
): Promise<void> {
  const deadline = Date.now() + 60_000;
  let stopped: Error | undefined;
  void managerStopped.then((err) => (stopped = err));
  let last: unknown;
  for (;;) {
    signal.throwIfAborted();
    if (stopped) throw stopped;
    try {
      if (managerReady() && (await webhooksServing(client, signal))) return;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `the manager and its webhooks were not ready within 60 s${last instanceof Error ? `: ${last.message}` : ''}`,
      );
    }
    await sleep(200, undefined, { signal });
  }
}

async function webhooksServing(client: KubeClient, signal: AbortSignal): Promise<boolean> {
  const names = defaultWebhookConfigurationNames;
  await client.get(
    { apiVersion: ADMISSION, kind: 'MutatingWebhookConfiguration', name: names.interceptor },
    { signal },
  );
  await client.get(
    { apiVersion: ADMISSION, kind: 'ValidatingWebhookConfiguration', name: names.trigger },
    { signal },
  );
  await client.get(
    { apiVersion: ADMISSION, kind: 'ValidatingWebhookConfiguration', name: names.validation },
    { signal },
  );
  await client.create(
    {
      apiVersion: 'servicebinding.io/v1',
      kind: 'ServiceBinding',
      metadata: { name: 'bindery-dev-readiness', namespace: 'default' },
      spec: {
        service: { apiVersion: 'v1', kind: 'Secret', name: 'readiness' },
        workload: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'readiness' },
      },
    },
    { dryRun: true, signal },
  );
  return true;
}

/** Writes through a temporary file and a rename: a watcher of `path` never reads half of it. */
async function writeAtomically(path: string, content: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, content, { mode: 0o600 });
  await rename(temporary, path);
}

/** samples/<name> in the repository (dev mode runs from a checkout). */
function samplesRoot(name: string): string {
  return fileURLToPath(new URL(`../../../../samples/${name}`, import.meta.url));
}

function serviceBindingSamplesDir(): string {
  return samplesRoot('servicebinding');
}

/** Applies every sample directory under `root` (each as `applySampleDir` does). */
async function applySamples(
  client: KubeClient,
  root: string,
  label: string,
  signal: AbortSignal,
  io: DevIO,
): Promise<void> {
  const entries = await readdir(root, { withFileTypes: true });
  for (const dir of entries
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort()) {
    await applySampleDir(client, join(root, dir), `${label}/${dir}`, signal, io);
  }
}

/**
 * Applies one sample directory to `default`, as its README section does: CRDs first (and waited
 * for), then the objects in file order, and `*-status.yaml` files to the status subresource last.
 */
async function applySampleDir(
  client: KubeClient,
  dir: string,
  label: string,
  signal: AbortSignal,
  io: DevIO,
): Promise<void> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.yaml')).sort();
  const load = async (file: string): Promise<KubeObject[]> =>
    parseAllDocuments(await readFile(join(dir, file), 'utf8'))
      .map((d) => d.toJSON() as KubeObject | null)
      .filter((o): o is KubeObject => o !== null);
  const statusFiles = files.filter((f) => f.endsWith('-status.yaml'));
  const objects = (await Promise.all(files.filter((f) => !statusFiles.includes(f)).map(load))).flat();
  const crds = objects.filter((o) => o.kind === 'CustomResourceDefinition');
  if (crds.length > 0) await applyInstallBundle(client, crds, { fieldManager: FIELD_MANAGER, signal });
  const rest = objects.filter((o) => o.kind !== 'CustomResourceDefinition');
  for (const obj of await inNamespace(client, rest, crds.length > 0, signal)) {
    await client.apply(obj, { fieldManager: FIELD_MANAGER, force: true, signal });
  }
  for (const obj of await inNamespace(
    client,
    (await Promise.all(statusFiles.map(load))).flat(),
    false,
    signal,
  )) {
    await client.apply(obj, { fieldManager: FIELD_MANAGER, force: true, subresource: 'status', signal });
  }
  io.stderr(`Applied ${label}\n`);
}

/** Puts namespaced objects without a namespace into `default`, as kubectl does. */
async function inNamespace(
  client: KubeClient,
  objects: KubeObject[],
  waitForKinds: boolean,
  signal: AbortSignal,
): Promise<KubeObject[]> {
  const result: KubeObject[] = [];
  for (const obj of objects) {
    const type = { apiVersion: obj.apiVersion ?? '', kind: obj.kind ?? '' };
    let namespaced: boolean | undefined;
    // A CRD just Established may take a moment to appear in discovery.
    for (let attempt = 0; namespaced === undefined; attempt++) {
      try {
        namespaced = (await client.discovery.resourceFor(type)).namespaced;
      } catch (err) {
        if (!waitForKinds || attempt >= 50) throw err;
        await sleep(200, undefined, { signal });
      }
    }
    result.push(
      namespaced && !obj.metadata.namespace
        ? { ...obj, metadata: { ...obj.metadata, namespace: 'default' } }
        : obj,
    );
  }
  return result;
}
