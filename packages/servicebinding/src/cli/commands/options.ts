// What every command's options share: the option table, the UsageError, and the parsers that turn
// a flag's value into a typed one (with a message naming the flag).

import { parseDeniedEnvNames } from '../../controllers/env-policy.ts';

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

export interface OptionSpec {
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

export interface CommandSpec {
  summary: string;
  description: string;
  options: Record<string, OptionSpec>;
  examples: string[];
}

export const commandNames = ['manager', 'manifests', 'dev', 'broker', 'catalog'] as const;
export type CommandName = (typeof commandNames)[number];

/** The parsed options of one command line, by long name. */
export type Values = Record<string, string | boolean | undefined>;

export const help: OptionSpec = { type: 'boolean', short: 'h', description: 'Show this help' };
export const logLevel: OptionSpec = {
  type: 'string',
  value: '<level>',
  default: 'info',
  description: 'debug, info, warn or error (JSON lines on stderr)',
};
export const secretAccess: OptionSpec = {
  type: 'string',
  value: '<mode>',
  default: 'metadata',
  description:
    'metadata: get/list/watch Secrets as metadata only, to mark a binding whose Secret is missing ' +
    'Ready=False and for the rollout opt-in; none: no access to Secrets at all (both features off, ' +
    'bindings still projected by reference). See docs/security.md',
};
export const denyEnv: OptionSpec = {
  type: 'string',
  value: '<names>',
  description:
    'Variable names no binding may set in a workload (spec.env), separated by commas; ' +
    '"recommended" stands for LD_PRELOAD, NODE_OPTIONS, JAVA_TOOL_OPTIONS and the like. Such ' +
    'a binding is not projected and reports EnvNameDenied (default: none; see docs/security.md)',
};
export const logLevels = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof logLevels)[number];

/** `--kubeconfig` and `--context`, for the commands that connect to a cluster. */
export const connectionOptions: Record<'kubeconfig' | 'context', OptionSpec> = {
  kubeconfig: {
    type: 'string',
    value: '<path>',
    description: 'The kubeconfig (default $KUBECONFIG, then in-cluster, then ~/.kube/config)',
  },
  context: { type: 'string', value: '<name>', description: 'The kubeconfig context to use' },
};

/** `host:port` or `:port` (every interface), or false for `0` (off). */
export interface BindAddress {
  host?: string;
  port: number;
}

export const certModes = ['cert-manager', 'self-managed'] as const;

export function str(values: Values, name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}

export function required(values: Values, name: string): string {
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

export function integer(flag: string, value: string, command: CommandName, min: number, max: number): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < min || n > max) {
    throw new UsageError(`--${flag}: expected an integer from ${min} to ${max}, got '${value}'`, command);
  }
  return n;
}

export function oneOf<T extends string>(
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

/** `--osb`; the OSB platform reads and writes Secrets, so not with `--secret-access=none`. */
export function osbFlag(values: Values, command: CommandName): boolean {
  const osb = values['osb'] === true;
  if (osb && values['secret-access'] === 'none') {
    throw new UsageError(
      '--osb needs Secrets (broker credentials, credential bindings): not with --secret-access=none',
      command,
    );
  }
  return osb;
}

export function deniedEnv(value: string | undefined, command: CommandName): string[] {
  if (value === undefined) return [];
  try {
    return parseDeniedEnvNames(value);
  } catch (err) {
    throw new UsageError(`--deny-env: ${err instanceof Error ? err.message : String(err)}`, command);
  }
}

/** `{ key: value }` when value is set: exactOptionalPropertyTypes forbids `key: undefined`. */
export function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}
