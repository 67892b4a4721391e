import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { it } from 'node:test';
import { productionPackages } from './pack.ts';

it('every package that is packed has the README.md its tarball ships', () => {
  const missing = productionPackages.filter(
    (dir) => !existsSync(new URL(`../../../${dir}/README.md`, import.meta.url)),
  );
  assert.deepEqual(missing, [], 'packages/<dir>/README.md');
});
