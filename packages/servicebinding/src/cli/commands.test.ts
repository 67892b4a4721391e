import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { certDir, installNames, installPorts, managerArgs } from '../install/index.ts';
import { UsageError, commandNames, helpText, parseBindAddress, parseCommandLine } from './commands.ts';
import type { Invocation } from './commands.ts';
import { main } from './main.ts';

async function runMain(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, {
    stdout: (t) => void (stdout += t),
    stderr: (t) => void (stderr += t),
    signal: new AbortController().signal,
  });
  return { code, stdout, stderr };
}

function usageError(argv: string[]): UsageError {
  try {
    parseCommandLine(argv);
  } catch (err) {
    assert.ok(err instanceof UsageError, String(err));
    return err;
  }
  assert.fail(`accepted: ${argv.join(' ')}`);
}

function args<C extends Invocation['command']>(
  argv: string[],
  command: C,
): Extract<Invocation, { command: C }> {
  const invocation = parseCommandLine(argv);
  assert.equal(invocation.command, command);
  return invocation as Extract<Invocation, { command: C }>;
}

describe('bindery command line', () => {
  it('has help for the program and for every command, with every option listed', () => {
    assert.match(helpText(), /^Usage: bindery <command>/);
    for (const name of commandNames) {
      assert.match(helpText(), new RegExp(`\\n  ${name} `));
      const text = helpText(name);
      assert.match(text, new RegExp(`^Usage: bindery ${name} \\[options\\]`));
      assert.match(text, /-h, --help/);
      assert.equal(args([name, '--help'], 'help').text, text);
      assert.equal(args([name, '-h'], 'help').text, text);
      assert.equal(args(['help', name], 'help').text, text);
      // Lines fit a terminal.
      for (const line of text.split('\n')) assert.ok(line.length <= 110, `too long: ${line}`);
    }
    assert.equal(args(['--help'], 'help').text, helpText());
    assert.equal(args(['help'], 'help').text, helpText());
  });

  it('--help wins over a mistake on the same line', () => {
    assert.equal(args(['manager', '--no-such-flag', '--help'], 'help').text, helpText('manager'));
  });

  it("parses the install bundle's manager command line, in both certificate modes", () => {
    for (const mode of ['cert-manager', 'self-managed'] as const) {
      const [command, ...flags] = managerArgs(mode);
      assert.equal(command, 'manager');
      const { args: a } = args(['manager', ...flags], 'manager');
      assert.equal(a.leaderElect, true);
      assert.equal(a.leaderElectionId, installNames.lease);
      assert.deepEqual(a.metrics, { port: installPorts.metrics });
      assert.deepEqual(a.health, { port: installPorts.health });
      assert.equal(a.webhookPort, installPorts.webhook);
      assert.equal(a.certMode, mode);
      if (mode === 'self-managed') assert.equal(a.certSecret, installNames.webhookCertSecret);
      else assert.equal(a.certDir, certDir);
      assert.equal(a.secretAccess, 'metadata');
      const [, ...restricted] = managerArgs(mode, { secretAccess: 'none', deniedEnvNames: ['A', 'B'] });
      const parsed = args(['manager', ...restricted], 'manager').args;
      assert.equal(parsed.secretAccess, 'none');
      assert.deepEqual(parsed.deniedEnvNames, ['A', 'B']);
    }
  });

  it('--secret-access: metadata by default, none on request, anything else named', () => {
    assert.equal(args(['manifests'], 'manifests').args.secretAccess, 'metadata');
    assert.equal(args(['manifests', '--secret-access=none'], 'manifests').args.secretAccess, 'none');
    assert.equal(args(['manager', '--secret-access', 'none'], 'manager').args.secretAccess, 'none');
    assert.throws(
      () => parseCommandLine(['manager', '--secret-access=read']),
      (e: unknown) =>
        e instanceof UsageError && e.message === "--secret-access: expected metadata, none, got 'read'",
    );
  });

  it('--deny-env: none by default; names separated by commas, "recommended" expanded; a bad name refused', () => {
    assert.deepEqual(args(['manager'], 'manager').args.deniedEnvNames, []);
    assert.deepEqual(
      args(['manager', '--deny-env', 'LD_PRELOAD, MY_HOOK,LD_PRELOAD'], 'manager').args.deniedEnvNames,
      ['LD_PRELOAD', 'MY_HOOK'],
    );
    const recommended = args(['manager', '--deny-env=recommended,MY_HOOK'], 'manager').args.deniedEnvNames;
    for (const name of ['LD_PRELOAD', 'NODE_OPTIONS', 'JAVA_TOOL_OPTIONS', 'MY_HOOK']) {
      assert.ok(recommended.includes(name), name);
    }
    assert.throws(
      () => parseCommandLine(['manager', '--deny-env=A,,B']),
      (e: unknown) => e instanceof UsageError && /^--deny-env: "" is not a variable name/.test(e.message),
    );
    assert.throws(() => parseCommandLine(['manager', '--deny-env=A=1']), UsageError);
  });

  it('has defaults a cluster deployment works with', () => {
    const { args: a } = args(['manager'], 'manager');
    assert.equal(a.certMode, 'cert-manager');
    assert.equal(a.certDir, '/tmp/k8s-webhook-server/serving-certs');
    assert.equal(a.leaderElect, false);
    assert.equal(a.webhookHost, '0.0.0.0');
    assert.equal(a.logLevel, 'info');
    assert.equal(a.kubeconfig, undefined);
    assert.equal(args(['manager', '--self-signed'], 'manager').args.certMode, 'self-managed');
    assert.equal(a.defaultMappings, true);
    // controller-runtime's SyncPeriod: 10 h.
    assert.equal(a.syncPeriodSeconds, 36_000);
    assert.equal(args(['manager', '--sync-period', '600'], 'manager').args.syncPeriodSeconds, 600);
    assert.throws(
      () => parseCommandLine(['manager', '--sync-period=-1']),
      /--sync-period: expected an integer from 0/,
    );
    assert.equal(args(['manager', '--no-default-mappings'], 'manager').args.defaultMappings, false);
  });

  it('parses bind addresses', () => {
    assert.deepEqual(parseBindAddress('x', '127.0.0.1:0', 'dev'), { host: '127.0.0.1', port: 0 });
    assert.deepEqual(parseBindAddress('x', '[::1]:8080', 'dev'), { host: '::1', port: 8080 });
    assert.deepEqual(parseBindAddress('x', ':8080', 'dev'), { port: 8080 });
    assert.equal(parseBindAddress('x', '0', 'dev'), false);
    for (const bad of ['8080', 'host:', ':70000', ':-1', 'a:b']) {
      assert.throws(() => parseBindAddress('x', bad, 'dev'), UsageError, bad);
    }
  });

  it('parses dev and manifests', () => {
    const dev = args(['dev', '--kubeconfig-out', '/tmp/kc', '--samples'], 'dev').args;
    assert.equal(dev.kubeconfigOut, '/tmp/kc');
    assert.equal(dev.samples, true);
    assert.equal(args(['dev'], 'dev').args.kubeconfigOut, '.bindery/kubeconfig');
    const m = args(
      ['manifests', '--namespace', 'platform', '--cert-mode', 'self-managed', '--replicas', '1'],
      'manifests',
    );
    assert.deepEqual(m.args, {
      namespace: 'platform',
      certMode: 'self-managed',
      replicas: 1,
      secretAccess: 'metadata',
      deniedEnvNames: [],
      osb: false,
    });
    assert.deepEqual(args(['manifests', '--deny-env=LD_PRELOAD'], 'manifests').args.deniedEnvNames, [
      'LD_PRELOAD',
    ]);
    assert.equal(args(['manifests', '--osb'], 'manifests').args.osb, true);
    assert.equal(args(['manager', '--osb'], 'manager').args.osb, true);
    assert.equal(args(['manager'], 'manager').args.osb, false);
  });

  it('parses broker', () => {
    const b = args(['broker'], 'broker').args;
    assert.deepEqual(b, {
      namespace: 'bindery-broker',
      bindAddress: { port: 8080 },
      asyncDelayMs: 5000,
      tokenReview: false,
      insecureNoAuth: false,
      minApiVersion: '2.13',
      logLevel: 'info',
    });
    const tls = args(
      ['broker', '--tls-cert-file', 'c', '--tls-key-file', 'k', '--token-review', '--async-delay', '0'],
      'broker',
    ).args;
    assert.equal(tls.tlsCertFile, 'c');
    assert.equal(tls.tokenReview, true);
    assert.equal(tls.asyncDelayMs, 0);
  });

  it('parses catalog', () => {
    assert.deepEqual(args(['catalog'], 'catalog').args, { allNamespaces: false, output: 'table' });
    assert.deepEqual(args(['catalog', '-n', 'team-a', '-o', 'json'], 'catalog').args, {
      namespace: 'team-a',
      allNamespaces: false,
      output: 'json',
    });
    assert.equal(args(['catalog', '-A'], 'catalog').args.allNamespaces, true);
  });

  it('refuses mistakes with a message that names the mistake and the command', () => {
    const cases: Array<[string[], RegExp, string | undefined]> = [
      [[], /a command is required/, undefined],
      [['manger'], /unknown command 'manger' \(did you mean 'manager'\?\)/, undefined],
      [['--kubeconfig', 'x'], /must follow a command/, undefined],
      [['help', 'nope'], /unknown command 'nope'/, undefined],
      [
        ['manager', '--leader-elec'],
        /unknown option '--leader-elec' \(did you mean '--leader-elect'\?\)/,
        'manager',
      ],
      [['manager', '--workers'], /option '--workers' needs a value/, 'manager'],
      [['manager', '--workers', '0'], /--workers: expected an integer from 1/, 'manager'],
      [['manager', '--leader-elect=yes'], /option '--leader-elect' takes no value/, 'manager'],
      [['manager', '--cert-mode', 'vault'], /--cert-mode: expected cert-manager, self-managed/, 'manager'],
      [['manager', '--cert-secret', 's'], /--cert-secret needs --cert-mode=self-managed/, 'manager'],
      [['manager', '--self-signed', '--cert-mode', 'cert-manager'], /contradict/, 'manager'],
      [['manager', '--webhook-url', 'http://x'], /over https/, 'manager'],
      [['manager', '--log-level', 'loud'], /--log-level: expected trace, debug/, 'manager'],
      [['manager', 'extra'], /takes no arguments, got 'extra'/, 'manager'],
      [['manifests', '--namespace', 'Bad_NS'], /not a valid namespace name/, 'manifests'],
      [['manifests', '--webhook-port', '1'], /unknown option '--webhook-port'/, 'manifests'],
      [['dev', '--metrics-bind-address', 'nope'], /--metrics-bind-address: expected host:port/, 'dev'],
      [['broker', '--bind-address', '0'], /cannot be turned off/, 'broker'],
      [['catalog', '-n', 'a', '-A'], /--namespace and --all-namespaces exclude each other/, 'catalog'],
      [['manager', '--osb', '--secret-access=none'], /--osb needs Secrets/, 'manager'],
      [['manifests', '--osb', '--secret-access', 'none'], /--osb needs Secrets/, 'manifests'],
      [['catalog', '-o', 'yaml'], /--output: expected table, json, got 'yaml'/, 'catalog'],
      [['broker', '--tls-cert-file', 'c'], /go together/, 'broker'],
      [['broker', '--min-api-version', '3'], /--min-api-version: expected 2.MINOR/, 'broker'],
      [['broker', '--async-delay', 'soon'], /--async-delay: expected an integer/, 'broker'],
    ];
    for (const [argv, message, command] of cases) {
      const err = usageError(argv);
      assert.match(err.message, message, argv.join(' '));
      assert.equal(err.command, command, argv.join(' '));
    }
  });
});

describe('bindery main', () => {
  it('prints help on stdout with exit 0', async () => {
    const result = await runMain(['manager', '--help']);
    assert.equal(result.code, 0);
    assert.equal(result.stdout, helpText('manager'));
    assert.equal(result.stderr, '');
  });

  it('exits 2 on a usage error, saying what to run next', async () => {
    const result = await runMain(['manager', '--nope']);
    assert.equal(result.code, 2);
    assert.equal(result.stdout, '');
    assert.equal(
      result.stderr,
      "bindery: unknown option '--nope'\nRun 'bindery manager --help' to see its options.\n",
    );
    const none = await runMain([]);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /Run 'bindery --help' to see the commands\.\n\nUsage: bindery <command>/);
  });

  it('refuses a broker nobody has to authenticate to, unless told so', async () => {
    const saved = [process.env['BINDERY_BROKER_USERNAME'], process.env['BINDERY_BROKER_PASSWORD']];
    delete process.env['BINDERY_BROKER_USERNAME'];
    process.env['BINDERY_BROKER_PASSWORD'] = 'only-a-password';
    try {
      const half = await runMain(['broker', '--kubeconfig', '/nonexistent']);
      assert.equal(half.code, 2);
      assert.match(half.stderr, /set both BINDERY_BROKER_USERNAME and BINDERY_BROKER_PASSWORD/);
      delete process.env['BINDERY_BROKER_PASSWORD'];
      const none = await runMain(['broker', '--kubeconfig', '/nonexistent']);
      assert.equal(none.code, 2);
      assert.match(none.stderr, /choose how platforms authenticate/);
      assert.ok(!none.stderr.includes('only-a-password'));
    } finally {
      if (saved[0] !== undefined) process.env['BINDERY_BROKER_USERNAME'] = saved[0];
      if (saved[1] !== undefined) process.env['BINDERY_BROKER_PASSWORD'] = saved[1];
      else delete process.env['BINDERY_BROKER_PASSWORD'];
    }
  });

  it('prints the install bundle', async () => {
    const result = await runMain(['manifests', '--cert-mode', 'self-managed', '--namespace', 'platform']);
    assert.equal(result.code, 0);
    assert.match(result.stdout, /^# Bindery .* install bundle: cert mode self-managed, namespace platform/);
    assert.match(result.stdout, /kind: CustomResourceDefinition/);
    assert.match(result.stdout, /- --cert-mode=self-managed/);
  });

  it('refuses leader election without a Lease namespace before contacting any cluster', async () => {
    const saved = process.env['POD_NAMESPACE'];
    delete process.env['POD_NAMESPACE'];
    try {
      const result = await runMain(['manager', '--leader-elect', '--kubeconfig', '/nonexistent']);
      assert.equal(result.code, 2);
      assert.match(result.stderr, /--leader-elect needs the Lease's namespace/);
    } finally {
      if (saved !== undefined) process.env['POD_NAMESPACE'] = saved;
    }
  });
});
