// Writes config/crd/*.yaml and the default mappings from packages/servicebinding/src/apis, and the
// install bundles (config/install.yaml, config/install-self-managed.yaml) from src/install.
//   node packages/servicebinding/src/cli-gen-crds.ts           # write
//   node packages/servicebinding/src/cli-gen-crds.ts --check   # exit 1 if a file is stale
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { manifests } from './apis/manifests.ts';
import { installManifests } from './install/index.ts';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const check = process.argv.includes('--check');
let stale = 0;
for (const { path, content } of [...manifests(), ...installManifests()]) {
  const file = join(root, path);
  const current = await readFile(file, 'utf8').catch(() => undefined);
  if (current === content) continue;
  if (check) {
    console.error(`${path} is out of date: run node packages/servicebinding/src/cli-gen-crds.ts`);
    stale++;
  } else {
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, content);
    console.log(`wrote ${path}`);
  }
}
if (stale > 0) process.exitCode = 1;
