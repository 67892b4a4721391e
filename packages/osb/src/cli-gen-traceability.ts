// Writes the OSB platform-rule table of docs/osb.md from the rules and the ids in test names.
//   node packages/osb/src/cli-gen-traceability.ts
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { osbDoc, renderOsbDoc, repoRoot, scanTests, untested } from './traceability/traceability.ts';

const covered = scanTests();
await writeFile(resolve(repoRoot, osbDoc), await renderOsbDoc(covered));
console.log(`wrote ${osbDoc}`);
for (const id of untested(covered)) {
  console.error(`${id}: no test names it`);
  process.exitCode = 1;
}
