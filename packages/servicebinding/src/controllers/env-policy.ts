// The opt-in deny list of variable names a binding may not inject: a guard against a confused deputy.
// The spec lets anyone who may create a ServiceBinding in a namespace set any variable in the
// targeted workloads' containers, with a value from a Secret they control: `LD_PRELOAD`,
// `NODE_OPTIONS` or `JAVA_TOOL_OPTIONS` run their code in a workload someone else owns, with its
// service account and mounts. The controller (cluster-wide update on workloads) is the deputy. An
// operator who does not want that names the variables here (`bindery manager --deny-env`); a
// binding that would set one is then not projected, and says why. See docs/security.md.

import type { ServiceBinding } from '../apis/index.ts';
import { ProjectionError } from '../projector/index.ts';

/**
 * Variables that make a process load or run other code, for the common runtimes: the dynamic
 * linker, Node.js, the JVM, Python, Perl, Ruby, shells, .NET. `--deny-env=recommended` denies these.
 */
export const recommendedDeniedEnvNames: readonly string[] = [
  'LD_PRELOAD',
  'LD_LIBRARY_PATH',
  'LD_AUDIT',
  'GCONV_PATH',
  'NODE_OPTIONS',
  'NODE_PATH',
  'JAVA_TOOL_OPTIONS',
  'JDK_JAVA_OPTIONS',
  '_JAVA_OPTIONS',
  'CLASSPATH',
  'PYTHONPATH',
  'PYTHONSTARTUP',
  'PYTHONHOME',
  'PERL5OPT',
  'PERL5LIB',
  'RUBYOPT',
  'RUBYLIB',
  'BASH_ENV',
  'ENV',
  'PROMPT_COMMAND',
  'DOTNET_STARTUP_HOOKS',
  'CORECLR_PROFILER_PATH',
];

/** The reason on `WorkloadProjected` (and the ProjectionError code) when a denied name is asked for. */
export const envNameDenied = 'EnvNameDenied';

/**
 * `--deny-env`'s value: names separated by commas; `recommended` stands for
 * `recommendedDeniedEnvNames`. Throws on an empty name or one holding `=` (no variable can).
 */
export function parseDeniedEnvNames(value: string): string[] {
  const names = new Set<string>();
  for (const raw of value.split(',')) {
    const name = raw.trim();
    if (name === 'recommended') {
      for (const n of recommendedDeniedEnvNames) names.add(n);
    } else if (name === '' || name.includes('=')) {
      throw new Error(
        `${JSON.stringify(name)} is not a variable name (names separated by commas, or "recommended")`,
      );
    } else {
      names.add(name);
    }
  }
  return [...names];
}

/**
 * Throws a ProjectionError (`EnvNameDenied`) naming the first `spec.env[i].name` on the deny list.
 * Exact, case-sensitive match, as the kernel and runtimes read variable names.
 */
export function checkDeniedEnv(binding: ServiceBinding, denied: ReadonlySet<string>): void {
  if (denied.size === 0) return;
  const env: unknown = binding.spec.env;
  if (!Array.isArray(env)) return;
  for (const [i, entry] of env.entries()) {
    const name: unknown = (entry as { name?: unknown } | null)?.name;
    if (typeof name === 'string' && denied.has(name)) {
      throw new ProjectionError(
        envNameDenied,
        `${JSON.stringify(name)} is on the manager's deny list of variable names (--deny-env): the binding is not projected`,
        `spec.env[${i}].name`,
      );
    }
  }
}
