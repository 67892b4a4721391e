import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildCredentialSecret, typeFromOffering } from './secret.ts';
import type { CredentialSecretInput } from './secret.ts';

const owner = {
  apiVersion: 'osb.bindery.dev/v1alpha1',
  kind: 'ServiceCredentialBinding',
  name: 'db',
  uid: 'u-1',
};

function input(overrides: Partial<CredentialSecretInput> = {}): CredentialSecretInput {
  return {
    name: 'db',
    namespace: 'apps',
    owner,
    credentials: { username: 'app', password: 's3cret' },
    offering: {
      name: 'Cloud SQL',
      tags: ['relational', 'PostgreSQL'],
      metadata: { providerDisplayName: 'Acme' },
    },
    brokerName: 'acme-broker',
    ...overrides,
  };
}

function decoded(result: ReturnType<typeof buildCredentialSecret>): Record<string, string> {
  assert.ok('secret' in result, JSON.stringify(result));
  return Object.fromEntries(
    Object.entries(result.secret.data).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]),
  );
}

describe('credential Secret', () => {
  it('is a servicebinding.io Secret owned by the binding, typed from the class tags', () => {
    const result = buildCredentialSecret(input());
    assert.ok('secret' in result);
    assert.equal(result.secret.type, 'servicebinding.io/postgresql');
    assert.deepEqual(result.secret.metadata.ownerReferences, [
      { ...owner, controller: true, blockOwnerDeletion: true },
    ]);
    assert.deepEqual(decoded(result), {
      username: 'app',
      password: 's3cret',
      type: 'postgresql',
      provider: 'Acme',
    });
  });

  it('writes values as strings and nested values as JSON', () => {
    const data = decoded(
      buildCredentialSecret(
        input({ credentials: { port: 5432, tls: true, hosts: ['a', 'b'], nested: { k: 'v' }, empty: null } }),
      ),
    );
    assert.equal(data['port'], '5432');
    assert.equal(data['tls'], 'true');
    assert.equal(data['hosts'], '["a","b"]');
    assert.equal(data['nested'], '{"k":"v"}');
    assert.equal('empty' in data, false, 'a null value has no entry');
  });

  it('takes type and provider from the spec over everything else', () => {
    const result = buildCredentialSecret(
      input({ type: 'MySQL', provider: 'ops team', credentials: { type: 'other', provider: 'broker' } }),
    );
    assert.ok('secret' in result);
    assert.equal(result.secret.type, 'servicebinding.io/mysql');
    assert.equal(decoded(result)['type'], 'mysql');
    assert.equal(decoded(result)['provider'], 'ops team');
  });

  it("keeps the broker's own type and provider entries when the spec sets none", () => {
    const data = decoded(
      buildCredentialSecret(input({ credentials: { type: 'redis', provider: 'broker' } })),
    );
    assert.equal(data['type'], 'redis');
    assert.equal(data['provider'], 'broker');
  });

  it("falls back to the offering's name and the broker's name", () => {
    const result = buildCredentialSecret(input({ offering: { name: 'My Service_1' } }));
    assert.ok('secret' in result);
    assert.equal(result.type, 'my-service-1');
    assert.equal(result.provider, 'acme-broker');
    assert.equal(typeFromOffering({ name: '***' }), 'osb');
  });

  it('refuses credentials that are not an object, naming the binding and not the value', () => {
    for (const credentials of ['s3cret', ['s3cret'], null, 42]) {
      const result = buildCredentialSecret(input({ credentials }));
      assert.ok('error' in result);
      assert.equal(result.error.reason, 'CredentialsNotAnObject');
      assert.match(result.error.message, /ServiceCredentialBinding apps\/db/);
      assert.doesNotMatch(result.error.message, /s3cret/);
    }
  });

  it('refuses a key a Secret cannot hold', () => {
    const result = buildCredentialSecret(input({ credentials: { 'jdbc url': 's3cret' } }));
    assert.ok('error' in result);
    assert.equal(result.error.reason, 'InvalidCredentialKey');
    assert.match(result.error.message, /"jdbc url"/);
    assert.doesNotMatch(result.error.message, /s3cret/);
  });

  it('refuses credentials larger than a Secret', () => {
    const result = buildCredentialSecret(input({ credentials: { blob: 'x'.repeat(1024 * 1024) } }));
    assert.ok('error' in result);
    assert.equal(result.error.reason, 'CredentialsTooLarge');
  });
});
