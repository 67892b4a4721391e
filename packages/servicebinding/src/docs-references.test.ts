// The docs name files of this repository (links, and paths in code spans such as
// `node bench/x.bench.ts`); files move, and a doc that points at a file that is gone misleads
// whoever follows it. This reads README.md, docs/*.md and packages/*/README.md and fails naming
// every such path that no file of the checkout has. Paths rooted at a top-level entry of the repo
// must exist as written; other paths with a directory (`controllers/servicebinding.ts`) must be the
// end of some file's path, or name one in a package's sources (`kube/errors.ts`:
// packages/kube/src/errors.ts).
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { it } from 'node:test';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const skipDirs = new Set(['node_modules', '.git', 'dist', 'coverage']);

/** Every file of the checkout, relative to its root, with `/` separators. */
function repoFiles(dir = repo, files: string[] = []): string[] {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (skipDirs.has(entry.name)) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) repoFiles(path, files);
    else files.push(relative(repo, path).split('\\').join('/'));
  }
  return files;
}

/** A path with a directory and a source or doc file's extension; no spaces, globs or placeholders. */
const pathLike = /^(?:\.{1,2}\/)*[\w@.-]+(?:\/[\w@.-]+)+\.(?:[cm]?[jt]s|json|md|ya?ml|go|sh|txt|tgz)$/;
/** A directory of the repository's own layout, named with its top-level folder. */
const repoDirLike = /^(?:packages|bench|config|samples|docs|scripts)(?:\/[\w@.-]+)+\/?$/;

/** The paths a Markdown document names: link targets (resolved) and path-like code tokens. */
function namedPaths(markdown: string, docDir: string): Array<{ path: string; rooted: boolean }> {
  const found: Array<{ path: string; rooted: boolean }> = [];
  for (const [, target = ''] of markdown.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
    if (/^(?:[a-z]+:|#|\/)/i.test(target)) continue;
    const path = normalize(join(docDir, decodeURI(target.split('#')[0] ?? '')))
      .split('\\')
      .join('/');
    if (path) found.push({ path: path.replace(/\/$/, ''), rooted: true });
  }
  const code = [...markdown.matchAll(/```[^\n]*\n([\s\S]*?)```|`([^`\n]+)`/g)].map((m) => m[1] ?? m[2] ?? '');
  for (const span of code) {
    for (const raw of span.split(/[\s'"(),;=]+/)) {
      const token = raw.replace(/[:.]\d*$/, '').replace(/[.:]$/, '');
      if (repoDirLike.test(token)) found.push({ path: token.replace(/\/$/, ''), rooted: true });
      else if (pathLike.test(token))
        found.push({ path: token.replace(/^(?:\.\/)+/, ''), rooted: token.startsWith('.') });
    }
  }
  return found;
}

/** `kube/errors.ts` as the docs shorten packages/kube/src/errors.ts. */
function inPackage(path: string, known: Set<string>): boolean {
  const [pkg, ...rest] = path.split('/');
  return known.has(`packages/${pkg}/src/${rest.join('/')}`);
}

it('the docs name only files that are in the repository', () => {
  const files = repoFiles();
  const known = new Set(files);
  const dirs = new Set(
    files.flatMap((f) =>
      f
        .split('/')
        .slice(0, -1)
        .map((_, i, a) => a.slice(0, i + 1).join('/')),
    ),
  );
  const topLevel = new Set(files.map((f) => f.split('/')[0]));
  const docs = files.filter(
    (f) => f === 'README.md' || /^docs\/[^/]+\.md$/.test(f) || /^packages\/[^/]+\/README\.md$/.test(f),
  );
  assert.ok(docs.length > 10, `found the docs (${docs.length})`);
  const missing: string[] = [];
  let checked = 0;
  for (const doc of docs) {
    const markdown = readFileSync(join(repo, doc), 'utf8');
    for (const { path, rooted } of namedPaths(markdown, dirname(doc))) {
      checked++;
      const exists =
        rooted || topLevel.has(path.split('/')[0] ?? '')
          ? known.has(path) || dirs.has(path)
          : files.some((f) => f.endsWith(`/${path}`)) || inPackage(path, known);
      if (!exists) missing.push(`${doc}: ${path}`);
    }
  }
  assert.ok(checked > 100, `found the paths the docs name (${checked})`);
  assert.deepEqual([...new Set(missing)], [], 'the docs name files that are not in the repository');
});
