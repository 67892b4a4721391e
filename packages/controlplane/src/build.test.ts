import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { binariesFromEnv, cacheDir, etcdGoMod, kubeApiserverGoMod, locateBinaries } from './build.ts';

const SAMPLE_GO_MOD = `// This is a generated file. Do not edit directly.

module k8s.io/kubernetes

go 1.26.0

godebug default=go1.26

require (
	github.com/spf13/cobra v1.10.0
	k8s.io/api v0.0.0
	k8s.io/apiserver v0.0.0
)

replace (
	k8s.io/api => ./staging/src/k8s.io/api
	k8s.io/apiserver => ./staging/src/k8s.io/apiserver
	k8s.io/client-go => ./staging/src/k8s.io/client-go
)

replace k8s.io/kms => ./staging/src/k8s.io/kms

replace github.com/example/fork => github.com/example/fork v1.2.3
`;

describe('binariesFromEnv (the envtest contract)', () => {
  it('finds both binaries in KUBEBUILDER_ASSETS', () => {
    assert.deepEqual(binariesFromEnv({ KUBEBUILDER_ASSETS: '/assets' }), {
      kubeApiserver: '/assets/kube-apiserver',
      etcd: '/assets/etcd',
    });
  });

  it('lets TEST_ASSET_* override KUBEBUILDER_ASSETS per binary', () => {
    assert.deepEqual(binariesFromEnv({ KUBEBUILDER_ASSETS: '/assets', TEST_ASSET_ETCD: '/opt/etcd' }), {
      kubeApiserver: '/assets/kube-apiserver',
      etcd: '/opt/etcd',
    });
    assert.deepEqual(binariesFromEnv({ TEST_ASSET_KUBE_APISERVER: '/opt/kas' }), {
      kubeApiserver: '/opt/kas',
    });
  });

  it('ignores unset and empty variables', () => {
    assert.deepEqual(binariesFromEnv({}), {});
    assert.deepEqual(binariesFromEnv({ KUBEBUILDER_ASSETS: '', TEST_ASSET_ETCD: '' }), {});
  });
});

describe('cacheDir', () => {
  const leaf = join('controlplane', 'k8s-v1.36.3-etcd-v3.6.16');
  it('prefers BINDERY_CACHE, then XDG_CACHE_HOME, then ~/.cache', () => {
    assert.equal(cacheDir({ BINDERY_CACHE: '/c', XDG_CACHE_HOME: '/x', HOME: '/h' }), join('/c', leaf));
    assert.equal(cacheDir({ XDG_CACHE_HOME: '/x', HOME: '/h' }), join('/x/bindery', leaf));
    assert.equal(cacheDir({ HOME: '/h' }), join('/h/.cache/bindery', leaf));
  });
});

describe('kubeApiserverGoMod', () => {
  const goMod = kubeApiserverGoMod(SAMPLE_GO_MOD, 'v1.36.3');

  it('replaces every staging module with its published v0 release', () => {
    assert.match(goMod, /^module bindery\.dev\/controlplane-build$/m);
    assert.match(goMod, /^require k8s\.io\/kubernetes v1\.36\.3$/m);
    for (const name of ['api', 'apiserver', 'client-go', 'kms']) {
      assert.match(goMod, new RegExp(`^\\tk8s\\.io/${name} => k8s\\.io/${name} v0\\.36\\.3$`, 'm'));
    }
    assert.doesNotMatch(goMod, /staging|example\/fork|cobra/);
  });

  it('keeps the go and godebug lines of the release', () => {
    assert.match(goMod, /^go 1\.26\.0$/m);
    assert.match(goMod, /^godebug default=go1\.26$/m);
  });

  it('fails on a go.mod without staging replaces', () => {
    assert.throws(() => kubeApiserverGoMod('module k8s.io/kubernetes\n'), /no \.\/staging replace/);
  });
});

describe('etcdGoMod', () => {
  it('requires the server module only', () => {
    assert.equal(
      etcdGoMod('v3.6.16', '1.26.0'),
      'module bindery.dev/controlplane-build\n\ngo 1.26.0\n\nrequire go.etcd.io/etcd/server/v3 v3.6.16\n',
    );
  });
});

describe('locateBinaries', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bindery-build-test-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function script(path: string, text = '#!/bin/sh\nexit 0\n'): Promise<void> {
    await writeFile(path, text);
    await chmod(path, 0o755);
  }

  it('returns configured binaries without building', async () => {
    const assets = join(dir, 'assets');
    await mkdir(assets);
    await script(join(assets, 'kube-apiserver'));
    await script(join(assets, 'etcd'));
    const env = { KUBEBUILDER_ASSETS: assets, PATH: '', BINDERY_CACHE: join(dir, 'unused') };
    assert.deepEqual(await locateBinaries({ env }), {
      kubeApiserver: join(assets, 'kube-apiserver'),
      etcd: join(assets, 'etcd'),
    });
  });

  it('says which variable points at a missing binary', async () => {
    const env = { TEST_ASSET_ETCD: join(dir, 'nope'), PATH: '' };
    await assert.rejects(locateBinaries({ env }), /etcd not found at .*nope \(from TEST_ASSET_ETCD\)/);
  });

  it('says what to install or set when there is no Go and nothing is configured', async () => {
    const env = { PATH: join(dir, 'empty'), BINDERY_CACHE: join(dir, 'empty-cache') };
    await assert.rejects(locateBinaries({ env, log: () => {} }), (err: Error) => {
      assert.match(err.message, /install Go/);
      assert.match(err.message, /KUBEBUILDER_ASSETS/);
      assert.match(err.message, /TEST_ASSET_KUBE_APISERVER and TEST_ASSET_ETCD/);
      return true;
    });
  });

  it('builds each missing binary once, even for concurrent callers', async () => {
    // A stand-in for the go command that records what it is asked and "compiles" a shell script.
    const bin = join(dir, 'fake-go');
    await mkdir(bin);
    const calls = join(dir, 'go-calls.log');
    const upstream = join(dir, 'upstream.mod');
    await writeFile(upstream, SAMPLE_GO_MOD);
    await script(
      join(bin, 'go'),
      `#!/bin/sh
echo "go $*" >> "${calls}"
case "$1 $2" in
  "mod download") printf '{"Path":"x","GoMod":"%s"}\\n' "${upstream}" ;;
  "mod tidy") cat go.mod >> "${calls}"; echo "go: downloading example.com/dep v1.0.0" >&2 ;;
  "build -v") echo "k8s.io/api/core/v1" >&2; sleep 0.3; printf '#!/bin/sh\\n' > "$4"; chmod +x "$4" ;;
  *) echo "unexpected: $*" >&2; exit 1 ;;
esac
`,
    );
    const cache = join(dir, 'cache');
    const env = { PATH: `${bin}:/usr/bin:/bin`, BINDERY_CACHE: cache };
    const lines: string[] = [];
    const log = (line: string): void => void lines.push(line);
    const [a, b] = await Promise.all([locateBinaries({ env, log }), locateBinaries({ env, log })]);
    assert.deepEqual(a, b);
    assert.equal(a.kubeApiserver, join(cacheDir(env), 'kube-apiserver'));

    const goCalls = await readFile(calls, 'utf8');
    assert.equal(goCalls.match(/^go build/gm)?.length, 2, goCalls);
    assert.match(
      goCalls,
      /^go build -v -o \S+kube-apiserver\.tmp-\d+ -ldflags .*gitVersion=v1\.36\.3.* k8s\.io\/kubernetes\/cmd\/kube-apiserver$/m,
    );
    assert.match(goCalls, /^\tk8s\.io\/apiserver => k8s\.io\/apiserver v0\.36\.3$/m);
    assert.match(goCalls, /^require go\.etcd\.io\/etcd\/server\/v3 v3\.6\.16$/m);
    assert.ok(lines.some((l) => l.includes('building kube-apiserver')));
    assert.ok(
      lines.some((l) => l.includes('go: downloading example.com/dep')),
      'go output is passed through',
    );
    assert.ok(!lines.some((l) => l.trim() === 'k8s.io/api/core/v1'), 'package names only feed the heartbeat');

    // Cached now: no further go calls.
    await locateBinaries({ env, log });
    assert.equal((await readFile(calls, 'utf8')).length, goCalls.length);
  });
});
