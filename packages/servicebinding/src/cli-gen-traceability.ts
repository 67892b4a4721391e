// Writes docs/spec-traceability.md from the spec checklist items and the ids in test names.
//   node packages/servicebinding/src/cli-gen-traceability.ts   # write, and list untraced items
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import {
  problems,
  renderTraceability,
  repoRoot,
  scanTests,
  traceabilityDoc,
} from './traceability/traceability.ts';

const covered = scanTests();
await writeFile(resolve(repoRoot, traceabilityDoc), await renderTraceability(covered));
console.log(`wrote ${traceabilityDoc}`);
for (const { id, problem } of problems(covered)) {
  console.error(`${id}: ${problem}`);
  process.exitCode = 1;
}
