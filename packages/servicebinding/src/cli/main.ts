// Dispatch of `bindery <command>`: parse, run, map the outcome to an exit code. Each command's
// module is imported only when it runs, so `bindery --help` and `bindery manifests` start fast and
// `bindery dev` alone needs @bindery/controlplane (a development dependency).

import { errorMessage } from '@bindery/kube';
import { binderyVersion } from '../install/names.ts';
import { UsageError, helpText, parseCommandLine } from './commands.ts';
// Types only: the module itself is loaded by importDev, for `bindery dev` alone.
import type * as Dev from './dev.ts';

export interface MainIO {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Aborts on SIGINT/SIGTERM: long-running commands stop gracefully. */
  signal: AbortSignal;
}

/** Runs the command line and returns the exit code: 0 ok, 1 failed, 2 usage error, 130 interrupted. */
export async function main(argv: readonly string[], io: MainIO): Promise<number> {
  try {
    const invocation = parseCommandLine(argv);
    switch (invocation.command) {
      case 'help':
        io.stdout(invocation.text);
        return 0;
      case 'version':
        io.stdout(`${binderyVersion}\n`);
        return 0;
      case 'manifests': {
        const { renderManifests } = await import('./manifests.ts');
        io.stdout(renderManifests(invocation.args));
        return 0;
      }
      case 'manager': {
        const { runManager } = await import('./manager.ts');
        return await runManager(invocation.args, io.signal);
      }
      case 'dev': {
        const dev = await importDev();
        return await dev.runDev(invocation.args, io.signal, io);
      }
      case 'broker': {
        const { runBroker } = await import('./broker.ts');
        return await runBroker(invocation.args, io.signal, io);
      }
      case 'catalog': {
        const { runCatalog } = await import('./catalog.ts');
        return await runCatalog(invocation.args, io);
      }
    }
  } catch (err) {
    if (err instanceof UsageError) {
      const next = err.command
        ? `Run 'bindery ${err.command} --help' to see its options.`
        : "Run 'bindery --help' to see the commands.";
      io.stderr(`bindery: ${err.message}\n${next}\n`);
      if (err.command === undefined && argv.length === 0) io.stderr(`\n${helpText()}`);
      return 2;
    }
    io.stderr(`bindery: ${errorMessage(err)}\n`);
    return 1;
  }
}

async function importDev(): Promise<typeof Dev> {
  try {
    return await import('./dev.ts');
  } catch (err) {
    if (
      (err as { code?: string }).code === 'ERR_MODULE_NOT_FOUND' &&
      String(err).includes('@bindery/controlplane')
    ) {
      throw new Error(
        "'bindery dev' needs @bindery/controlplane, a development dependency: run it from a checkout of " +
          'the repository (scripts/npm run dev), or install @bindery/controlplane next to this package',
        { cause: err },
      );
    }
    throw err;
  }
}
