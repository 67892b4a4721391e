// The `bindery` command line: the commands, their help, and parsing into typed values. Each
// command's options and their parsing live in commands/<command>.ts; what they share in
// commands/options.ts. Pure (no I/O) so the tests can cover every message a user sees; main.ts runs
// the commands.

import { parseArgs } from 'node:util';
import * as broker from './commands/broker.ts';
import type { BrokerArgs } from './commands/broker.ts';
import * as catalog from './commands/catalog.ts';
import type { CatalogArgs } from './commands/catalog.ts';
import * as dev from './commands/dev.ts';
import type { DevArgs } from './commands/dev.ts';
import * as manager from './commands/manager.ts';
import type { ManagerArgs } from './commands/manager.ts';
import * as manifests from './commands/manifests.ts';
import type { ManifestsArgs } from './commands/manifests.ts';
import { UsageError, commandNames } from './commands/options.ts';
import type { CommandName, CommandSpec, Values } from './commands/options.ts';

export { UsageError, commandNames, parseBindAddress } from './commands/options.ts';
export type { BindAddress, CommandName, LogLevel } from './commands/options.ts';
export type { BrokerArgs, CatalogArgs, DevArgs, ManagerArgs, ManifestsArgs };

const specs: Record<CommandName, CommandSpec> = {
  manager: manager.spec,
  manifests: manifests.spec,
  dev: dev.spec,
  broker: broker.spec,
  catalog: catalog.spec,
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
      return { command: 'manager', args: manager.parseArgs(values) };
    case 'manifests':
      return { command: 'manifests', args: manifests.parseArgs(values) };
    case 'dev':
      return { command: 'dev', args: dev.parseArgs(values) };
    case 'broker':
      return { command: 'broker', args: broker.parseArgs(values) };
    case 'catalog':
      return { command: 'catalog', args: catalog.parseArgs(values) };
  }
}

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
