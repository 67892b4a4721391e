#!/usr/bin/env node
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { errorMessage } from '@bindery/kube';
import { locateBinaries } from './build.ts';
import { ControlPlane } from './controlplane.ts';
import { ETCD_VERSION, KUBERNETES_VERSION } from './versions.ts';

const HELP = `Usage: bindery-controlplane <command> [options]

A real kube-apiserver ${KUBERNETES_VERSION} and etcd ${ETCD_VERSION} on loopback (envtest for Node.js).

Commands:
  build    Locate the binaries, or build them once with Go; print their paths.
  start    Start a control plane, write its admin kubeconfig, and run until Ctrl-C.

Options:
  --kubeconfig <path>  Where start writes the admin kubeconfig (default: .bindery/kubeconfig)
  --verbose            Echo kube-apiserver's and etcd's output
  -h, --help           Show this help

Binaries come from TEST_ASSET_KUBE_APISERVER, TEST_ASSET_ETCD or KUBEBUILDER_ASSETS when set,
otherwise from the cache (BINDERY_CACHE, default ~/.cache/bindery), built there with Go if missing.
`;

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      kubeconfig: { type: 'string', default: '.bindery/kubeconfig' },
      verbose: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const [command] = positionals;
  if (values.help || command === undefined || command === 'help') {
    process.stdout.write(HELP);
    return command === undefined && !values.help ? 2 : 0;
  }
  switch (command) {
    case 'build': {
      const binaries = await locateBinaries();
      process.stdout.write(`kube-apiserver: ${binaries.kubeApiserver}\netcd: ${binaries.etcd}\n`);
      return 0;
    }
    case 'start':
      return start(resolve(values.kubeconfig), values.verbose);
    default:
      process.stderr.write(`unknown command: ${command}\n\n${HELP}`);
      return 2;
  }
}

async function start(kubeconfigPath: string, verbose: boolean): Promise<number> {
  const stopping = new AbortController();
  const onSignal = (): void => stopping.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const controlPlane = new ControlPlane({ verbose });
  const started = Date.now();
  try {
    await controlPlane.start(stopping.signal);
  } catch (err) {
    await controlPlane.stop();
    if (stopping.signal.aborted) return 130;
    throw err;
  }
  await controlPlane.writeKubeconfig(kubeconfigPath);
  process.stdout.write(
    `Control plane ready in ${((Date.now() - started) / 1000).toFixed(1)} s at ${controlPlane.server}\n\n` +
      `  export KUBECONFIG=${kubeconfigPath}\n  kubectl get ns\n\nCtrl-C stops it.\n`,
  );
  // Signal listeners do not keep Node alive by themselves, and the child processes are unref'd.
  const keepAlive = setInterval(() => undefined, 1 << 30);
  await new Promise((resolve) => stopping.signal.addEventListener('abort', resolve, { once: true }));
  clearInterval(keepAlive);
  process.stdout.write('\nStopping…\n');
  await controlPlane.stop();
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (err: unknown) => {
    process.stderr.write(`${errorMessage(err)}\n`);
    process.exitCode = 1;
  },
);
