import { stringify } from 'yaml';

export interface KubeconfigOptions {
  server: string;
  /** PEM of the CA that signed the server's certificate. */
  caCert: string;
  /** PEM client certificate and key. */
  clientCert: string;
  clientKey: string;
  /** Names the cluster, user and context entries. */
  name?: string;
  user?: string;
}

/** A self-contained kubeconfig (certificates embedded as base64), as YAML. */
export function buildKubeconfig(options: KubeconfigOptions): string {
  const cluster = options.name ?? 'bindery';
  const user = options.user ?? 'admin';
  const context = `${user}@${cluster}`;
  const b64 = (pem: string): string => Buffer.from(pem).toString('base64');
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name: cluster,
        cluster: { server: options.server, 'certificate-authority-data': b64(options.caCert) },
      },
    ],
    users: [
      {
        name: user,
        user: {
          'client-certificate-data': b64(options.clientCert),
          'client-key-data': b64(options.clientKey),
        },
      },
    ],
    contexts: [{ name: context, context: { cluster, user } }],
    'current-context': context,
    preferences: {},
  });
}
