// The `bindery` command line: what each command accepts, its help, and parsing into typed values.
// Pure (no I/O) so the tests can cover every message a user sees; main.ts runs the commands.

import { parseArgs } from 'node:util';
import { certDir, installNames, installPorts } from '../install/names.ts';
import { parseDeniedEnvNames } from '../controllers/env-policy.ts';
import { secretAccessModes } from '../resolver/secret-metadata.ts';
import type { SecretAccess } from '../resolver/secret-metadata.ts';

/** A mistake on the command line: printed with what to do next, exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  /** The command whose help to point at; undefined for the top level. */
  readonly command: CommandName | undefined;
  constructor(message: string, command?: CommandName) {
    super(message);
    this.command = command;
  }
}

interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  /** The value's placeholder in help, e.g. `<path>`. */
  value?: string;
  /** Shown in help; for strings also the parsed default, unless `explicit`. */
  default?: string;
  /** Applied in code, so that the code can tell whether the option was given. */
  explicit?: boolean;
  description: string;
}

interface CommandSpec {
  summary: string;
  description: string;
  options: Record<string, OptionSpec>;
  examples: string[];
}

export const commandNames = ['manager', 'manifests', 'dev', 'broker', 'catalog'] as const;
export type CommandName = (typeof commandNames)[number];

const help: OptionSpec = { type: 'boolean', short: 'h', description: 'Show this help' };
const logLevel: OptionSpec = {
  type: 'string',
  value: '<level>',
  default: 'info',
  description: 'debug, info, warn or error (JSON lines on stderr)',
};
const secretAccess: OptionSpec = {
  type: 'string',
  value: '<mode>',
  default: 'metadata',
  description:
    'metadata: get/list/watch Secrets as metadata only, to mark a binding whose Secret is missing ' +
    'Ready=False and for the rollout opt-in; none: no access to Secrets at all (both features off, ' +
    'bindings still projected by reference). See docs/security.md',
};
const denyEnv: OptionSpec = {
  type: 'string',
  value: '<names>',
  description:
    'Variable names no binding may set in a workload (spec.env), separated by commas; ' +
    '"recommended" stands for LD_PRELOAD, NODE_OPTIONS, JAVA_TOOL_OPTIONS and the like. Such ' +
    'a binding is not projected and reports EnvNameDenied (default: none; see docs/security.md)',
};
const logLevels = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof logLevels)[number];

const specs: Record<CommandName, CommandSpec> = {
  manager: {
    summary: 'Run the ServiceBinding controller and its admission webhooks',
    description: `Runs the controller manager: the ServiceBinding controller (on the leader), the admission webhooks
(/interceptor, /trigger and API validation, on every replica), /metrics, /healthz and /readyz.
It connects with --kubeconfig, else $KUBECONFIG, else the pod's service account, else ~/.kube/config.
SIGTERM or SIGINT stops it gracefully: in-flight reconciles finish and the Lease is released.

Serving certificate (--cert-mode):
  cert-manager   read tls.crt and tls.key from --cert-dir, reloaded when they change (the default)
  self-managed   generate a CA and a serving certificate, and write the CA into the webhook
                 configurations' caBundle; with --cert-secret the CA is kept in that Secret, so
                 every replica and restart serves the same one (--self-signed is a shorthand)`,
    options: {
      kubeconfig: {
        type: 'string',
        value: '<path>',
        description: 'The kubeconfig (default $KUBECONFIG, then in-cluster, then ~/.kube/config)',
      },
      context: { type: 'string', value: '<name>', description: 'The kubeconfig context to use' },
      namespace: {
        type: 'string',
        value: '<ns>',
        description: "The manager's namespace (Lease, CA Secret); default $POD_NAMESPACE",
      },
      'metrics-bind-address': {
        type: 'string',
        value: '<addr>',
        default: `:${installPorts.metrics}`,
        description: '/metrics on host:port or :port; 0 turns it off',
      },
      'health-probe-bind-address': {
        type: 'string',
        value: '<addr>',
        default: `:${installPorts.health}`,
        description: '/healthz and /readyz on host:port or :port; 0 turns it off',
      },
      'webhook-port': {
        type: 'string',
        value: '<port>',
        default: String(installPorts.webhook),
        description: 'The HTTPS port of the admission webhooks',
      },
      'webhook-host': {
        type: 'string',
        value: '<host>',
        default: '0.0.0.0',
        description: 'The address the webhook server listens on',
      },
      'webhook-url': {
        type: 'string',
        value: '<url>',
        description:
          'Out of cluster: the API server calls the webhooks at this URL, and the manager creates ' +
          'the webhook configurations itself (default: program the installed ones, via the Service)',
      },
      'webhook-service': {
        type: 'string',
        value: '<name>',
        default: installNames.webhookService,
        description: "The webhook Service, in --namespace: the self-managed certificate's DNS names",
      },
      'cert-mode': {
        type: 'string',
        value: '<mode>',
        default: 'cert-manager',
        explicit: true,
        description: 'cert-manager or self-managed (see above)',
      },
      'cert-dir': {
        type: 'string',
        value: '<dir>',
        default: certDir,
        description: 'cert-manager mode: the directory with tls.crt and tls.key',
      },
      'cert-secret': {
        type: 'string',
        value: '<name>',
        description: 'self-managed mode: keep the CA in this Secret of --namespace',
      },
      'self-signed': { type: 'boolean', description: 'The same as --cert-mode=self-managed' },
      'leader-elect': {
        type: 'boolean',
        description: 'Elect a leader through a Lease; required to run more than one replica',
      },
      'leader-election-id': {
        type: 'string',
        value: '<name>',
        default: installNames.lease,
        description: "The Lease's name",
      },
      'leader-election-namespace': {
        type: 'string',
        value: '<ns>',
        description: "The Lease's namespace (default --namespace)",
      },
      workers: {
        type: 'string',
        value: '<n>',
        default: '2',
        description: 'ServiceBindings reconciled at once',
      },
      'sync-period': {
        type: 'string',
        value: '<seconds>',
        default: '36000',
        description: 'How often every cached object is reconciled again though nothing changed (0: never)',
      },
      'no-default-mappings': {
        type: 'boolean',
        description: 'Do not create the default cronjobs.batch mapping when missing (you manage mappings)',
      },
      'secret-access': secretAccess,
      'deny-env': denyEnv,
      osb: {
        type: 'boolean',
        description:
          'Also run the OSB platform: broker, class/plan, ServiceInstance and ServiceCredentialBinding ' +
          'controllers (its CRDs must be installed; see docs/osb.md)',
      },
      'log-level': logLevel,
      help,
    },
    examples: [
      'bindery manager --leader-elect --cert-dir /tmp/k8s-webhook-server/serving-certs',
      'bindery manager --kubeconfig ~/.kube/config --self-signed --webhook-host 127.0.0.1 \\\n' +
        '    --webhook-url https://127.0.0.1:9443',
    ],
  },
  manifests: {
    summary: 'Print the install bundle (YAML) to stdout',
    description: `Renders every object a cluster needs to run Bindery — Namespace, CRDs, RBAC, certificates,
Services, Deployment, the default ClusterWorkloadResourceMapping and the webhook configurations —
as one multi-document YAML file. Apply it server-side, as docs/install.md shows.`,
    options: {
      namespace: {
        type: 'string',
        value: '<ns>',
        default: installNames.namespace,
        description: 'Where the controller runs',
      },
      image: { type: 'string', value: '<image>', description: 'The controller image (default the release)' },
      'cert-mode': {
        type: 'string',
        value: '<mode>',
        default: 'cert-manager',
        description: 'cert-manager (needs cert-manager installed) or self-managed',
      },
      replicas: { type: 'string', value: '<n>', default: '2', description: 'Controller replicas' },
      'secret-access': {
        ...secretAccess,
        description: `${secretAccess.description}; none also drops the Secret grant from the RBAC`,
      },
      'deny-env': denyEnv,
      osb: {
        type: 'boolean',
        description:
          'Also install the OSB platform: its CRDs and ClusterRoles, and the manager run with --osb',
      },
      help,
    },
    examples: [
      'bindery manifests | kubectl apply --server-side -f -',
      'bindery manifests --cert-mode self-managed --namespace platform > bindery.yaml',
    ],
  },
  dev: {
    summary: 'Start a local control plane with Bindery running in it, until Ctrl-C',
    description: `Starts a real kube-apiserver and etcd on loopback (built with Go the first time, about 10 minutes;
cached in ~/.cache/bindery), installs the servicebinding.io CRDs and the default
ClusterWorkloadResourceMapping, and runs the manager in this process with its webhooks registered
by URL. Once everything is ready it writes the admin kubeconfig (atomically, so a watcher never
reads half of it) and prints how to point kubectl at it. There is no kubelet: Deployments are
stored and bound, but no pod runs. Ctrl-C (or SIGTERM) stops it all and removes the kubeconfig.`,
    options: {
      'kubeconfig-out': {
        type: 'string',
        value: '<path>',
        default: '.bindery/kubeconfig',
        description: 'Where to write the admin kubeconfig once ready',
      },
      samples: {
        type: 'boolean',
        description:
          'Also apply samples/servicebinding/* to the default namespace, and the OSB path: the sample broker in-process, a ClusterServiceBroker for it, and samples/osb',
      },
      'metrics-bind-address': {
        type: 'string',
        value: '<addr>',
        default: '127.0.0.1:0',
        description: '/metrics (port 0: a free one, printed); 0 turns it off',
      },
      'health-probe-bind-address': {
        type: 'string',
        value: '<addr>',
        default: '127.0.0.1:0',
        description: '/healthz and /readyz (port 0: a free one, printed)',
      },
      verbose: { type: 'boolean', description: "Echo kube-apiserver's and etcd's output" },
      'log-level': { ...logLevel, default: 'warn' },
      help,
    },
    examples: [
      'scripts/npm run dev',
      'bindery dev --samples',
      'bindery dev --kubeconfig-out /tmp/kc & until [ -f /tmp/kc ]; do sleep 1; done',
    ],
  },
  broker: {
    summary: 'Run the sample Open Service Broker against a cluster',
    description: `Serves the sample OSB 2.17 broker of @bindery/osb-broker: two offerings (bindery-database,
bindery-queue) whose instances are Secrets with generated credentials in --namespace, provisioned
asynchronously in --async-delay when the platform accepts it, with credentials derived per binding.
Its state lives in those Secrets, so a restarted broker answers last_operation, GET and repeated
PUTs as before. Out of a cluster it uses --kubeconfig (or $KUBECONFIG); in one, the pod's service
account, which needs Secrets in --namespace and, for --token-review, system:auth-delegator.

Authentication (one is required): HTTP Basic with the user and password of
$BINDERY_BROKER_USERNAME and $BINDERY_BROKER_PASSWORD (never on the command line); Kubernetes
bearer tokens with --token-review (TokenReview, then a SubjectAccessReview on /v2 and /v2/*);
or --insecure-no-auth, for a broker on loopback only.`,
    options: {
      kubeconfig: {
        type: 'string',
        value: '<path>',
        description: 'Out of cluster: the kubeconfig (default $KUBECONFIG, ~/.kube/config, in-cluster)',
      },
      context: { type: 'string', value: '<name>', description: 'The kubeconfig context to use' },
      namespace: {
        type: 'string',
        value: '<ns>',
        default: 'bindery-broker',
        description: 'Where the instances and bindings are kept (created if missing)',
      },
      'bind-address': {
        type: 'string',
        value: '<addr>',
        default: ':8080',
        description: 'The OSB API (and /healthz, /metrics) on host:port or :port',
      },
      'async-delay': {
        type: 'string',
        value: '<ms>',
        default: '5000',
        description: 'How long an asynchronous operation takes, in milliseconds',
      },
      'token-review': { type: 'boolean', description: 'Accept Kubernetes bearer tokens (see above)' },
      'insecure-no-auth': { type: 'boolean', description: 'Let every request in (loopback only)' },
      'tls-cert-file': {
        type: 'string',
        value: '<path>',
        description: 'Serve HTTPS with this certificate (PEM)',
      },
      'tls-key-file': { type: 'string', value: '<path>', description: 'The key of --tls-cert-file (PEM)' },
      'min-api-version': {
        type: 'string',
        value: '<v>',
        default: '2.13',
        description: 'The oldest X-Broker-API-Version accepted (412 below it)',
      },
      'log-level': logLevel,
      help,
    },
    examples: [
      'BINDERY_BROKER_USERNAME=platform BINDERY_BROKER_PASSWORD=... bindery broker --kubeconfig ~/.kube/config',
      'bindery broker --token-review --bind-address :8443 --tls-cert-file tls.crt --tls-key-file tls.key',
    ],
  },
  catalog: {
    summary: 'List the service classes and plans of the cluster (the OSB marketplace)',
    description: `Lists what can be provisioned with a ServiceInstance: every ClusterServiceClass with its plans, and
with --namespace (or --all-namespaces) the ServiceClasses of namespaced ServiceBrokers too, as
\`svcat marketplace\` did. Classes and plans the broker no longer lists are left out. It connects
with --kubeconfig, else $KUBECONFIG, else the pod's service account, else ~/.kube/config.`,
    options: {
      kubeconfig: {
        type: 'string',
        value: '<path>',
        description: 'The kubeconfig (default $KUBECONFIG, then in-cluster, then ~/.kube/config)',
      },
      context: { type: 'string', value: '<name>', description: 'The kubeconfig context to use' },
      namespace: {
        type: 'string',
        short: 'n',
        value: '<ns>',
        description: 'Also list the ServiceClasses of this namespace',
      },
      'all-namespaces': {
        type: 'boolean',
        short: 'A',
        description: 'Also list the ServiceClasses of every namespace',
      },
      output: {
        type: 'string',
        short: 'o',
        value: '<format>',
        default: 'table',
        description: 'table, or json (every field, descriptions in full)',
      },
      help,
    },
    examples: ['bindery catalog', 'bindery catalog -n team-a', 'bindery catalog -A -o json'],
  },
};

const programHelp = `Usage: bindery <command> [options]

A Service Binding runtime for Kubernetes (servicebinding.io 1.1).

Commands:
${commandNames.map((name) => `  ${name.padEnd(11)}${specs[name].summary}`).join('\n')}
  help       Show a command's help: bindery help <command>

Options:
  -h, --help     Show this help
  --version      Print the version

Run 'bindery <command> --help' for a command's options.
`;

/** The top-level help, or a command's. */
export function helpText(command?: CommandName): string {
  if (command === undefined) return programHelp;
  const spec = specs[command];
  const rows = Object.entries(spec.options).map(([name, o]) => {
    const flag = `${o.short ? `-${o.short}, ` : '    '}--${name}${o.value ? ` ${o.value}` : ''}`;
    return {
      flag,
      text: o.default === undefined ? o.description : `${o.description} (default ${o.default})`,
    };
  });
  const width = Math.max(...rows.map((r) => r.flag.length)) + 2;
  const indent = ' '.repeat(width + 2);
  const options = rows
    .map((r) => `  ${r.flag.padEnd(width)}${wrap(r.text, HELP_WIDTH - indent.length).join(`\n${indent}`)}`)
    .join('\n');
  return `Usage: bindery ${command} [options]

${spec.summary}.

${spec.description}

Options:
${options}

Examples:
${spec.examples.map((e) => `  ${e}`).join('\n')}
`;
}

const HELP_WIDTH = 100;

/** Words into lines of at most `width` characters (a longer word gets its own line). */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  if (line) lines.push(line);
  return lines;
}

/** `host:port` or `:port` (every interface), or false for `0` (off). */
export interface BindAddress {
  host?: string;
  port: number;
}

export interface ManagerArgs {
  kubeconfig?: string;
  context?: string;
  namespace?: string;
  metrics: BindAddress | false;
  health: BindAddress | false;
  webhookPort: number;
  webhookHost: string;
  webhookUrl?: string;
  webhookService: string;
  certMode: 'cert-manager' | 'self-managed';
  certDir: string;
  certSecret?: string;
  leaderElect: boolean;
  leaderElectionId: string;
  leaderElectionNamespace?: string;
  workers: number;
  /** `--sync-period`, in seconds: the manager's `syncPeriodMs`. */
  syncPeriodSeconds: number;
  /** Create the default mappings when missing (not with `--no-default-mappings`). */
  defaultMappings: boolean;
  secretAccess: SecretAccess;
  /** `--deny-env`, expanded; empty when not given. */
  deniedEnvNames: string[];
  /** `--osb`: also the OSB platform's controllers. */
  osb: boolean;
  logLevel: LogLevel;
}

export interface ManifestsArgs {
  namespace: string;
  image?: string;
  certMode: 'cert-manager' | 'self-managed';
  replicas: number;
  secretAccess: SecretAccess;
  /** `--deny-env`, expanded; empty when not given. */
  deniedEnvNames: string[];
  osb: boolean;
}

export interface DevArgs {
  kubeconfigOut: string;
  samples: boolean;
  metrics: BindAddress | false;
  health: BindAddress | false;
  verbose: boolean;
  logLevel: LogLevel;
}

export interface BrokerArgs {
  kubeconfig?: string;
  context?: string;
  namespace: string;
  bindAddress: BindAddress;
  asyncDelayMs: number;
  tokenReview: boolean;
  insecureNoAuth: boolean;
  tlsCertFile?: string;
  tlsKeyFile?: string;
  minApiVersion: string;
  logLevel: LogLevel;
}

export interface CatalogArgs {
  kubeconfig?: string;
  context?: string;
  namespace?: string;
  allNamespaces: boolean;
  output: 'table' | 'json';
}

export type Invocation =
  | { command: 'help'; text: string }
  | { command: 'version' }
  | { command: 'manager'; args: ManagerArgs }
  | { command: 'manifests'; args: ManifestsArgs }
  | { command: 'dev'; args: DevArgs }
  | { command: 'broker'; args: BrokerArgs }
  | { command: 'catalog'; args: CatalogArgs };

function isCommand(name: string): name is CommandName {
  return (commandNames as readonly string[]).includes(name);
}

/** Parses `argv` (without `node` and the script); throws UsageError on any mistake. */
export function parseCommandLine(argv: readonly string[]): Invocation {
  const [first, ...rest] = argv;
  if (first === undefined) {
    throw new UsageError('a command is required: manager, manifests, dev, broker or catalog');
  }
  if (first === '-h' || first === '--help') return { command: 'help', text: helpText() };
  if (first === '--version') return { command: 'version' };
  if (first === 'help') {
    const [topic, ...extra] = rest;
    if (topic === undefined) return { command: 'help', text: helpText() };
    if (!isCommand(topic)) throw new UsageError(`unknown command '${topic}'`);
    if (extra.length > 0) throw new UsageError(`'bindery help' takes one command, got ${rest.join(' ')}`);
    return { command: 'help', text: helpText(topic) };
  }
  if (first.startsWith('-')) {
    throw new UsageError(`option '${first}' must follow a command: bindery <command> ${first}`);
  }
  if (!isCommand(first)) {
    const hint = closest(first, commandNames);
    throw new UsageError(`unknown command '${first}'${hint ? ` (did you mean '${hint}'?)` : ''}`);
  }
  const values = parseOptions(first, rest);
  if (values['help'] === true) return { command: 'help', text: helpText(first) };
  switch (first) {
    case 'manager':
      return { command: 'manager', args: managerArgs(values) };
    case 'manifests':
      return { command: 'manifests', args: manifestsArgs(values) };
    case 'dev':
      return { command: 'dev', args: devArgs(values) };
    case 'broker':
      return { command: 'broker', args: brokerArgs(values) };
    case 'catalog':
      return { command: 'catalog', args: catalogArgs(values) };
  }
}

type Values = Record<string, string | boolean | undefined>;

function parseOptions(command: CommandName, args: string[]): Values {
  const spec = specs[command];
  const options = Object.fromEntries(
    Object.entries(spec.options).map(([name, o]) => [
      name,
      {
        type: o.type,
        ...(o.short !== undefined && { short: o.short }),
        ...(o.type === 'string' && o.default !== undefined && !o.explicit && { default: o.default }),
      },
    ]),
  );
  // --help wins over any other mistake on the line: it is how a user finds the right spelling.
  if (args.includes('--help') || args.includes('-h')) return { help: true };
  let parsed: { values: Values; positionals: string[] };
  try {
    const result = parseArgs({ args, options, strict: true, allowPositionals: true });
    parsed = { values: result.values, positionals: result.positionals };
  } catch (err) {
    throw new UsageError(parseArgsMessage(err, Object.keys(spec.options)), command);
  }
  if (parsed.positionals.length > 0) {
    throw new UsageError(
      `'bindery ${command}' takes no arguments, got '${parsed.positionals.join(' ')}'`,
      command,
    );
  }
  return parsed.values;
}

/** parseArgs' errors, reworded: which option, and the spelling we know if it looks like a typo. */
function parseArgsMessage(err: unknown, known: string[]): string {
  const message = err instanceof Error ? err.message : String(err);
  const code = (err as { code?: string }).code;
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const option = /Unknown option '([^']+)'/.exec(message)?.[1] ?? message;
    const hint = closest(option.replace(/^-+/, '').split('=')[0] ?? '', known);
    return `unknown option '${option}'${hint ? ` (did you mean '--${hint}'?)` : ''}`;
  }
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    const option = /Option '(?:-\w, )?(--[\w-]+)/.exec(message)?.[1];
    if (option && message.includes('argument missing')) return `option '${option}' needs a value`;
    if (option) return `option '${option}' takes no value`;
  }
  return message;
}

/** The known name within edit distance 2 (a typo), if one is. */
function closest(word: string, known: readonly string[]): string | undefined {
  let best: { name: string; distance: number } | undefined;
  for (const name of known) {
    const distance = editDistance(word, name);
    if (distance <= 2 && (!best || distance < best.distance)) best = { name, distance };
  }
  return best?.name;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + cost);
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

function str(values: Values, name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}

function required(values: Values, name: string): string {
  const v = str(values, name);
  if (v === undefined) throw new Error(`bug: option --${name} has no default`);
  return v;
}

/** `host:port`, `:port` (every interface) or `0` (off). */
export function parseBindAddress(flag: string, value: string, command: CommandName): BindAddress | false {
  if (value === '0') return false;
  const colon = value.lastIndexOf(':');
  const port = colon < 0 ? NaN : Number(value.slice(colon + 1));
  if (colon < 0 || value.slice(colon + 1) === '' || !Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new UsageError(`--${flag}: expected host:port, :port or 0, got '${value}'`, command);
  }
  const host = value.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
  return host ? { host, port } : { port };
}

function integer(flag: string, value: string, command: CommandName, min: number, max: number): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < min || n > max) {
    throw new UsageError(`--${flag}: expected an integer from ${min} to ${max}, got '${value}'`, command);
  }
  return n;
}

function oneOf<T extends string>(
  flag: string,
  value: string,
  allowed: readonly T[],
  command: CommandName,
): T {
  if (!(allowed as readonly string[]).includes(value)) {
    throw new UsageError(`--${flag}: expected ${allowed.join(', ')}, got '${value}'`, command);
  }
  return value as T;
}

const certModes = ['cert-manager', 'self-managed'] as const;

function managerArgs(values: Values): ManagerArgs {
  const c = 'manager';
  const givenMode = str(values, 'cert-mode');
  let certMode = oneOf('cert-mode', givenMode ?? 'cert-manager', certModes, c);
  if (values['self-signed'] === true) {
    if (givenMode === 'cert-manager') {
      throw new UsageError('--self-signed and --cert-mode=cert-manager contradict each other', c);
    }
    certMode = 'self-managed';
  }
  const certSecret = str(values, 'cert-secret');
  if (certSecret !== undefined && certMode !== 'self-managed') {
    throw new UsageError('--cert-secret needs --cert-mode=self-managed (or --self-signed)', c);
  }
  const webhookUrl = str(values, 'webhook-url');
  if (webhookUrl !== undefined) {
    let url: URL;
    try {
      url = new URL(webhookUrl);
    } catch {
      throw new UsageError(`--webhook-url: '${webhookUrl}' is not a URL`, c);
    }
    if (url.protocol !== 'https:')
      throw new UsageError('--webhook-url: the API server calls webhooks over https', c);
  }
  const workers = integer('workers', required(values, 'workers'), c, 1, 1000);
  return {
    ...optional('kubeconfig', str(values, 'kubeconfig')),
    ...optional('context', str(values, 'context')),
    ...optional('namespace', str(values, 'namespace')),
    metrics: parseBindAddress('metrics-bind-address', required(values, 'metrics-bind-address'), c),
    health: parseBindAddress('health-probe-bind-address', required(values, 'health-probe-bind-address'), c),
    webhookPort: integer('webhook-port', required(values, 'webhook-port'), c, 0, 65_535),
    webhookHost: required(values, 'webhook-host'),
    ...optional('webhookUrl', webhookUrl),
    webhookService: required(values, 'webhook-service'),
    certMode,
    certDir: required(values, 'cert-dir'),
    ...optional('certSecret', certSecret),
    leaderElect: values['leader-elect'] === true,
    leaderElectionId: required(values, 'leader-election-id'),
    ...optional('leaderElectionNamespace', str(values, 'leader-election-namespace')),
    workers,
    syncPeriodSeconds: integer('sync-period', required(values, 'sync-period'), c, 0, 7 * 24 * 3600),
    defaultMappings: values['no-default-mappings'] !== true,
    secretAccess: oneOf('secret-access', required(values, 'secret-access'), secretAccessModes, c),
    deniedEnvNames: deniedEnv(str(values, 'deny-env'), c),
    osb: osbFlag(values, c),
    logLevel: oneOf('log-level', required(values, 'log-level'), logLevels, c),
  };
}

/** `--osb`; the OSB platform reads and writes Secrets, so not with `--secret-access=none`. */
function osbFlag(values: Values, command: CommandName): boolean {
  const osb = values['osb'] === true;
  if (osb && values['secret-access'] === 'none') {
    throw new UsageError(
      '--osb needs Secrets (broker credentials, credential bindings): not with --secret-access=none',
      command,
    );
  }
  return osb;
}

function deniedEnv(value: string | undefined, command: CommandName): string[] {
  if (value === undefined) return [];
  try {
    return parseDeniedEnvNames(value);
  } catch (err) {
    throw new UsageError(`--deny-env: ${err instanceof Error ? err.message : String(err)}`, command);
  }
}

function manifestsArgs(values: Values): ManifestsArgs {
  const c = 'manifests';
  const namespace = required(values, 'namespace');
  if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(namespace)) {
    throw new UsageError(`--namespace: '${namespace}' is not a valid namespace name (a DNS-1123 label)`, c);
  }
  return {
    namespace,
    ...optional('image', str(values, 'image')),
    certMode: oneOf('cert-mode', required(values, 'cert-mode'), certModes, c),
    replicas: integer('replicas', required(values, 'replicas'), c, 1, 100),
    secretAccess: oneOf('secret-access', required(values, 'secret-access'), secretAccessModes, c),
    deniedEnvNames: deniedEnv(str(values, 'deny-env'), c),
    osb: osbFlag(values, c),
  };
}

function devArgs(values: Values): DevArgs {
  const c = 'dev';
  return {
    kubeconfigOut: required(values, 'kubeconfig-out'),
    samples: values['samples'] === true,
    metrics: parseBindAddress('metrics-bind-address', required(values, 'metrics-bind-address'), c),
    health: parseBindAddress('health-probe-bind-address', required(values, 'health-probe-bind-address'), c),
    verbose: values['verbose'] === true,
    logLevel: oneOf('log-level', required(values, 'log-level'), logLevels, c),
  };
}

function brokerArgs(values: Values): BrokerArgs {
  const c = 'broker';
  const bindAddress = parseBindAddress('bind-address', required(values, 'bind-address'), c);
  if (bindAddress === false) throw new UsageError('--bind-address: the broker cannot be turned off', c);
  const tlsCertFile = str(values, 'tls-cert-file');
  const tlsKeyFile = str(values, 'tls-key-file');
  if ((tlsCertFile === undefined) !== (tlsKeyFile === undefined)) {
    throw new UsageError('--tls-cert-file and --tls-key-file go together', c);
  }
  const minApiVersion = required(values, 'min-api-version');
  if (!/^2\.\d{1,2}$/.test(minApiVersion)) {
    throw new UsageError(`--min-api-version: expected 2.MINOR, got '${minApiVersion}'`, c);
  }
  return {
    ...optional('kubeconfig', str(values, 'kubeconfig')),
    ...optional('context', str(values, 'context')),
    namespace: required(values, 'namespace'),
    bindAddress,
    asyncDelayMs: integer('async-delay', required(values, 'async-delay'), c, 0, 3_600_000),
    tokenReview: values['token-review'] === true,
    insecureNoAuth: values['insecure-no-auth'] === true,
    ...optional('tlsCertFile', tlsCertFile),
    ...optional('tlsKeyFile', tlsKeyFile),
    minApiVersion,
    logLevel: oneOf('log-level', required(values, 'log-level'), logLevels, c),
  };
}

function catalogArgs(values: Values): CatalogArgs {
  const c = 'catalog';
  const namespace = str(values, 'namespace');
  const allNamespaces = values['all-namespaces'] === true;
  if (namespace !== undefined && allNamespaces) {
    throw new UsageError('--namespace and --all-namespaces exclude each other', c);
  }
  return {
    ...optional('kubeconfig', str(values, 'kubeconfig')),
    ...optional('context', str(values, 'context')),
    ...optional('namespace', namespace),
    allNamespaces,
    output: oneOf('output', required(values, 'output'), ['table', 'json'] as const, c),
  };
}

/** `{ key: value }` when value is set: exactOptionalPropertyTypes forbids `key: undefined`. */
function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}
