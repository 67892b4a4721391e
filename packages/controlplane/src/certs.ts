import { webcrypto } from 'node:crypto';
import { isIP } from 'node:net';
// @peculiar/x509 resolves its algorithms through tsyringe, which needs the Reflect metadata API and
// throws at import time without it. This import must stay before the x509 one.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

x509.cryptoProvider.set(webcrypto);

const ALGORITHM: webcrypto.EcKeyGenParams & webcrypto.EcdsaParams = {
  name: 'ECDSA',
  namedCurve: 'P-256',
  hash: 'SHA-256',
};
const DAY_MS = 24 * 60 * 60 * 1000;

/** A PEM certificate and its PEM (PKCS#8) private key. */
export interface KeyPair {
  cert: string;
  key: string;
}

export interface ServingCertOptions {
  /** DNS names and IP addresses the certificate is valid for. */
  hosts: string[];
  commonName?: string;
  /** Defaults to one year. */
  validDays?: number;
}

export interface ClientCertOptions {
  /** The Kubernetes user name (the subject CN). */
  name: string;
  /** The Kubernetes groups (one subject O each). */
  groups?: string[];
  validDays?: number;
}

/**
 * A throwaway certificate authority for one control plane: it signs serving certificates (the API
 * server's, a test's webhook server's) and client certificates (the admin, minted test users).
 */
export class CertificateAuthority {
  readonly cert: string;
  readonly #keys: CryptoKeyPair;
  readonly #certificate: x509.X509Certificate;

  private constructor(certificate: x509.X509Certificate, keys: CryptoKeyPair) {
    this.#certificate = certificate;
    this.#keys = keys;
    this.cert = certificate.toString('pem');
  }

  static async create(commonName: string, validDays = 365): Promise<CertificateAuthority> {
    const keys = await generateKeys();
    const certificate = await x509.X509CertificateGenerator.createSelfSigned({
      name: [{ CN: [commonName] }],
      keys,
      signingAlgorithm: ALGORITHM,
      ...validity(validDays),
      extensions: [
        new x509.BasicConstraintsExtension(true, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      ],
    });
    return new CertificateAuthority(certificate, keys);
  }

  /** The CA's private key, PEM (PKCS#8). */
  async key(): Promise<string> {
    return exportPrivateKey(this.#keys.privateKey);
  }

  async issueServing(options: ServingCertOptions): Promise<KeyPair> {
    const names = options.hosts.map((host) => ({
      type: isIP(host) ? ('ip' as const) : ('dns' as const),
      value: host,
    }));
    return this.#issue(
      [{ CN: [options.commonName ?? options.hosts[0] ?? 'localhost'] }],
      x509.ExtendedKeyUsage.serverAuth,
      options.validDays,
      [new x509.SubjectAlternativeNameExtension(names)],
    );
  }

  async issueClient(options: ClientCertOptions): Promise<KeyPair> {
    const subject = [{ CN: [options.name] }, ...(options.groups ?? []).map((group) => ({ O: [group] }))];
    return this.#issue(subject, x509.ExtendedKeyUsage.clientAuth, options.validDays);
  }

  async #issue(
    subject: x509.JsonName,
    usage: x509.ExtendedKeyUsage,
    validDays = 365,
    extra: x509.Extension[] = [],
  ): Promise<KeyPair> {
    const keys = await generateKeys();
    const certificate = await x509.X509CertificateGenerator.create({
      subject,
      issuer: this.#certificate.subject,
      publicKey: keys.publicKey,
      signingKey: this.#keys.privateKey,
      signingAlgorithm: ALGORITHM,
      ...validity(validDays),
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([usage]),
        await x509.AuthorityKeyIdentifierExtension.create(this.#keys.publicKey),
        ...extra,
      ],
    });
    return { cert: certificate.toString('pem'), key: await exportPrivateKey(keys.privateKey) };
  }
}

/** The key pair the API server signs service account tokens with (`--service-account-*-key-file`). */
export async function generateSigningKey(): Promise<{ publicKey: string; privateKey: string }> {
  const keys = await generateKeys();
  const spki = await webcrypto.subtle.exportKey('spki', keys.publicKey);
  return { publicKey: pem('PUBLIC KEY', spki), privateKey: await exportPrivateKey(keys.privateKey) };
}

async function generateKeys(): Promise<CryptoKeyPair> {
  return webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify']);
}

async function exportPrivateKey(key: CryptoKey): Promise<string> {
  return pem('PRIVATE KEY', await webcrypto.subtle.exportKey('pkcs8', key));
}

function pem(label: string, der: ArrayBuffer): string {
  return x509.PemConverter.encode(der, label) + '\n';
}

// Backdated an hour: clocks of the test machine and of whatever verifies may disagree a little.
function validity(days: number): { notBefore: Date; notAfter: Date } {
  const now = Date.now();
  return { notBefore: new Date(now - 60 * 60 * 1000), notAfter: new Date(now + days * DAY_MS) };
}
