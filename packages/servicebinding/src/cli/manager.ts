// `bindery manager`, and the assembly of a manager that `bindery dev` shares with it: the
// ServiceBinding controller plus its webhooks on one WebhookServer.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { KubeClient } from '@bindery/kube';
import { addOsbControllers, registerUserInfoWebhooks } from '@bindery/osb';
import { CertificateRenewer, Manager, WebhookServer, generateSelfSigned } from '@bindery/runtime';
import type { Controller, LeaderElectionOptions } from '@bindery/runtime';
import { pino } from 'pino';
import type { Logger } from 'pino';
import { addServiceBindingController } from '../controllers/servicebinding.ts';
import { binderyVersion, installNames } from '../install/names.ts';
import type { SecretAccess } from '../resolver/index.ts';
import { addServiceBindingWebhooks } from '../webhooks/index.ts';
import type {
  ServiceBindingWebhooks,
  WebhookClientConfigOptions,
  WebhookConfigurationNamesOptions,
} from '../webhooks/index.ts';
import { CABundleInjector, secretCertificates } from './certs.ts';
import type { ServingCertificates } from './certs.ts';
import { UsageError } from './commands.ts';
import type { BindAddress, LogLevel, ManagerArgs } from './commands.ts';

export interface ServiceBindingManagerOptions {
  client: KubeClient;
  log: Logger;
  metrics: BindAddress | false;
  health: BindAddress | false;
  leaderElection: LeaderElectionOptions | false;
  /** Where the webhooks listen; its certificate comes with it. */
  webhookServer: { port: number; host: string } & (
    { certDir: string } | { tls: ServingCertificates['serving'] }
  );
  /**
   * Given: the webhook configurations are created whole, calling this endpoint (dev, out of cluster).
   * A function gets the listening server's URL (port 0 picks a free port).
   */
  clientConfig?: WebhookClientConfigOptions | ((serverUrl: string) => WebhookClientConfigOptions);
  /** Of the webhook configurations; default the webhooks package's. */
  names?: WebhookConfigurationNamesOptions;
  workers?: number;
  /** How often every cached object is reconciled again (`Manager.syncPeriodMs`). Default the manager's. */
  syncPeriodMs?: number;
  /** Create the default mappings when missing. Default true. */
  defaultMappings?: boolean;
  /** What the controller may do with Secrets. Default `metadata`. */
  secretAccess?: SecretAccess;
  /** Variables no binding may set (controller and interceptor). Default none. */
  deniedEnvNames?: readonly string[];
  /** Also the OSB platform's controllers (@bindery/osb). Default false. */
  osb?: boolean;
}

export interface ServiceBindingManager {
  manager: Manager;
  controller: Controller;
  server: WebhookServer;
  webhooks: ServiceBindingWebhooks;
}

/**
 * A manager with the ServiceBinding controller and webhooks, not started; its webhook server is
 * already listening, so a missing certificate or a taken port fails here, not in a log line.
 */
export async function serviceBindingManager(
  options: ServiceBindingManagerOptions,
): Promise<ServiceBindingManager> {
  const manager = new Manager({
    client: options.client,
    name: 'bindery',
    log: options.log,
    metrics: options.metrics,
    health: options.health,
    leaderElection: options.leaderElection,
    ...(options.syncPeriodMs !== undefined && { syncPeriodMs: options.syncPeriodMs }),
  });
  const server = new WebhookServer({
    ...options.webhookServer,
    log: options.log.child({ component: 'webhook-server' }),
    registry: manager.registry,
  });
  await server.listen();
  const clientConfig =
    typeof options.clientConfig === 'function' ? options.clientConfig(server.url('')) : options.clientConfig;
  const controller = addServiceBindingController(manager, {
    workers: options.workers ?? 2,
    ensureDefaultMappings: options.defaultMappings ?? true,
    ...(options.secretAccess !== undefined && { secretAccess: options.secretAccess }),
    ...(options.deniedEnvNames !== undefined && { deniedEnvNames: options.deniedEnvNames }),
  });
  const webhooks = addServiceBindingWebhooks(manager, {
    server,
    controller,
    ...(clientConfig && { clientConfig }),
    ...(options.names && { names: options.names }),
    ...(options.deniedEnvNames !== undefined && { deniedEnvNames: options.deniedEnvNames }),
  });
  if (options.osb === true) {
    addOsbControllers(manager);
    registerUserInfoWebhooks(server);
  }
  return { manager, controller, server, webhooks };
}

/** JSON lines on stderr, so stdout stays for what a command prints. */
export function cliLogger(level: LogLevel): Logger {
  return pino({ name: 'bindery', level }, pino.destination({ fd: 2, sync: true }));
}

/** The namespace this process runs in: the flag, `POD_NAMESPACE`, or the service account's. */
function ownNamespace(flag: string | undefined): string | undefined {
  if (flag !== undefined) return flag;
  const env = process.env['POD_NAMESPACE'];
  if (env) return env;
  const file = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';
  return existsSync(file) ? readFileSync(file, 'utf8').trim() || undefined : undefined;
}

/** The install bundle's configuration names: the manager programs those (see install/names.ts). */
const installedConfigurations: Required<WebhookConfigurationNamesOptions> = {
  interceptor: installNames.interceptorConfiguration,
  trigger: installNames.triggerConfiguration,
  validation: installNames.validationConfiguration,
};

/** Runs `bindery manager` until `signal` aborts; the exit code. */
export async function runManager(args: ManagerArgs, signal: AbortSignal): Promise<number> {
  const log = cliLogger(args.logLevel);
  const namespace = ownNamespace(args.namespace);
  const leaseNamespace = args.leaderElectionNamespace ?? namespace;
  if (args.leaderElect && leaseNamespace === undefined) {
    throw new UsageError(
      "--leader-elect needs the Lease's namespace: set --leader-election-namespace, --namespace or POD_NAMESPACE",
      'manager',
    );
  }
  if (args.certSecret !== undefined && namespace === undefined) {
    throw new UsageError(
      '--cert-secret needs the namespace of the Secret: set --namespace or POD_NAMESPACE',
      'manager',
    );
  }

  const client = KubeClient.fromKubeConfig({
    ...(args.kubeconfig !== undefined && { kubeconfig: args.kubeconfig }),
    ...(args.context !== undefined && { context: args.context }),
    userAgent: `bindery-manager/${binderyVersion}`,
  });
  try {
    const urlHost =
      args.webhookUrl === undefined ? [] : [new URL(args.webhookUrl).hostname.replace(/^\[|\]$/g, '')];
    let certificates: ServingCertificates | undefined;
    /** Issues the next serving certificate from the same CA, for renewal while running. */
    let issue: ((signal: AbortSignal) => Promise<ServingCertificates>) | undefined;
    if (args.certMode === 'self-managed') {
      const service = args.webhookService;
      if (args.certSecret !== undefined && namespace !== undefined) {
        const secret = args.certSecret;
        issue = (s) =>
          secretCertificates({ client, namespace, secret, service, extraHosts: urlHost, log, signal: s });
      } else {
        const generated = await generateSelfSigned({
          service,
          namespace: namespace ?? 'default',
          extraHosts: urlHost,
        });
        issue = () =>
          generateSelfSigned({
            service,
            namespace: namespace ?? 'default',
            extraHosts: urlHost,
            ca: generated.ca,
          });
        certificates = generated;
      }
      certificates ??= await issue(signal);
    }
    let caBundle = certificates?.caBundle;
    // cert-manager's Secret carries its CA as ca.crt: with --webhook-url it becomes the caBundle.
    const caFile = join(args.certDir, 'ca.crt');
    if (caBundle === undefined && args.webhookUrl !== undefined && existsSync(caFile)) {
      caBundle = readFileSync(caFile, 'utf8');
    }
    const clientConfig: WebhookClientConfigOptions | undefined =
      args.webhookUrl === undefined
        ? undefined
        : { endpoint: { url: args.webhookUrl }, ...(caBundle !== undefined && { caBundle }) };

    let built: ServiceBindingManager;
    try {
      built = await serviceBindingManager({
        client,
        log,
        metrics: args.metrics,
        health: args.health,
        leaderElection: args.leaderElect
          ? {
              namespace: leaseNamespace ?? 'default',
              name: args.leaderElectionId,
              ...(process.env['POD_NAME'] && { identity: `${process.env['POD_NAME']}_${randomSuffix()}` }),
            }
          : false,
        webhookServer: {
          port: args.webhookPort,
          host: args.webhookHost,
          ...(certificates ? { tls: certificates.serving } : { certDir: args.certDir }),
        },
        ...(clientConfig && { clientConfig }),
        names: installedConfigurations,
        workers: args.workers,
        syncPeriodMs: args.syncPeriodSeconds * 1000,
        defaultMappings: args.defaultMappings,
        secretAccess: args.secretAccess,
        deniedEnvNames: args.deniedEnvNames,
        osb: args.osb,
      });
    } catch (err) {
      log.error({ err }, 'the webhook server cannot start');
      return 1;
    }
    const { manager } = built;
    if (issue) {
      const next = issue;
      manager.addRunnable(
        new CertificateRenewer({
          server: built.server,
          renew: async (s) => (await next(s)).serving,
          log,
        }),
      );
    }
    if (certificates && clientConfig === undefined) {
      // The installed configurations leave caBundle to us (no cert-manager to inject it).
      manager.addRunnable(
        new CABundleInjector({
          client,
          names: {
            mutating: [
              installedConfigurations.interceptor,
              ...(args.osb ? [installNames.osbUserInfoConfiguration] : []),
            ],
            validating: [installedConfigurations.trigger, installedConfigurations.validation],
          },
          caBundle: certificates.caBundle,
          log,
        }),
      );
    }
    log.info(
      {
        version: binderyVersion,
        certMode: args.certMode,
        leaderElection: args.leaderElect,
        webhookPort: args.webhookPort,
        webhookUrl: args.webhookUrl,
        secretAccess: args.secretAccess,
        deniedEnvNames: args.deniedEnvNames,
      },
      'starting the manager',
    );
    try {
      await manager.start(signal);
    } catch (err) {
      log.error({ err }, 'the manager stopped with an error');
      return 1;
    }
    return 0;
  } finally {
    await client.close();
  }
}

function randomSuffix(): string {
  return Math.random().toString(36).slice(2, 8);
}
