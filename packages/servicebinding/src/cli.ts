#!/usr/bin/env node
// `bindery`: the manager (in or out of a cluster), the install manifests, and dev mode.

import { main } from './cli/main.ts';

// The first SIGINT/SIGTERM stops the command gracefully; a second one exits at once.
const stop = new AbortController();
for (const name of ['SIGINT', 'SIGTERM'] as const) {
  process.on(name, () => {
    if (!stop.signal.aborted) {
      stop.abort(new Error(`received ${name}`));
      return;
    }
    process.stderr.write(`bindery: ${name} again, exiting without cleaning up\n`);
    process.exit(130);
  });
}

const code = await main(process.argv.slice(2), {
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
  signal: stop.signal,
});
process.exitCode = code;
// Whatever a command left behind (a keep-alive socket, a timer) must not hold the exit.
if (code !== 0 || stop.signal.aborted) setTimeout(() => process.exit(code), 2_000).unref();
