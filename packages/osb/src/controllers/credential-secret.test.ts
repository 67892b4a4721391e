import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { rotatedSecretName } from './credential-secret.ts';

describe('rotatedSecretName', () => {
  it('keeps the name for generation 0 and suffixes each rotation', () => {
    assert.equal(rotatedSecretName('db', 0), 'db');
    assert.equal(rotatedSecretName('db', 1), 'db-r1');
    assert.equal(rotatedSecretName('db', 12), 'db-r12');
  });

  it('cuts a long name to 253 characters without leaving "-" or "." before the suffix', () => {
    const long = `${'a'.repeat(249)}.bcdef`;
    const name = rotatedSecretName(long, 7);
    assert.equal(name.length <= 253, true);
    assert.match(name, /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/);
    assert.equal(name, `${'a'.repeat(249)}-r7`);
  });
});
