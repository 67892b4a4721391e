// Admission requests per second and latency of the webhook server, for a small mutating handler
// (adds an env var to every container of a Deployment-sized object), over HTTPS on loopback.
// The server runs in a child process (its own core on a 2-vCPU machine); this process is the
// client: an undici Pool of 16 kept-alive connections and 16 async loops, like an API server
// fanning out concurrent admissions. Each run: a fresh server, warm-up, then a fixed count.
// Each run also measures a baseline: a bare node:https server that parses the review and answers
// a constant, so what the WebhookServer itself costs can be read apart from TLS and HTTP.
// Run: node bench/webhook.bench.ts [requests] [runs]
import { pino } from 'pino';
import type { KubeObject } from '@bindery/kube';
import { WebhookServer, generateSelfSigned, mutating } from '@bindery/runtime';
import {
  CONCURRENCY,
  baselineServer,
  compareWithBaseline,
  measureRequests,
  serveParent,
  spawnServer,
} from './load.ts';

const PATH = '/mutate-apps-v1-deployment';

interface Container {
  name: string;
  env?: Array<{ name: string; value?: string }>;
}

if (process.argv[2] === '--server') {
  const kind = process.argv[3];
  const certs = await generateSelfSigned({ service: 'bench', namespace: 'bench', extraHosts: ['127.0.0.1'] });
  let port: number;
  let stop: () => Promise<void>;
  if (kind === 'webhook') {
    const server = new WebhookServer({ port: 0, tls: certs.serving, log: pino({ level: 'warn' }) });
    server.register(
      PATH,
      mutating<KubeObject>((deployment) => {
        const spec = deployment['spec'] as { template: { spec: { containers: Container[] } } };
        for (const c of spec.template.spec.containers)
          (c.env ??= []).push({ name: 'BINDERY', value: 'injected' });
      }),
    );
    await server.listen();
    port = server.port;
    stop = () => server.stop();
  } else {
    ({ port, stop } = await baselineServer({
      tls: certs.serving,
      status: 200,
      answer: (review) => ({
        apiVersion: 'admission.k8s.io/v1',
        kind: 'AdmissionReview',
        response: {
          uid: (review as { request: { uid: string } }).request.uid,
          allowed: true,
          patchType: 'JSONPatch',
          patch: 'W10=',
        },
      }),
    }));
  }
  // The parent asks for the server's CPU time around the measured phase: a line in, a line out.
  serveParent({ port, ca: certs.caBundle }, stop);
} else {
  const body = JSON.stringify(admissionReview());
  await compareWithBaseline({
    subject: 'webhook',
    rateLabel: 'admission requests/s',
    baselineLabel: 'bare node:https, parse + constant answer',
    body,
    title: (count) =>
      `webhook server, mutating a Deployment, ${CONCURRENCY} concurrent clients, ${count} requests`,
    measure: async (kind, count) => {
      // BENCH_CPU_PROF=<dir> writes a V8 CPU profile of each server process there.
      const profile = process.env['BENCH_CPU_PROF'];
      const server = await spawnServer<{ port: number; ca: string }>(
        import.meta.filename,
        kind,
        profile ? ['--cpu-prof', `--cpu-prof-dir=${profile}`] : [],
      );
      return measureRequests({
        server,
        origin: `https://127.0.0.1:${server.ready.port}`,
        connect: { ca: server.ready.ca, rejectUnauthorized: true },
        request: () => ({
          path: PATH,
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
        }),
        accept: (status, answer) => {
          const response = (answer as { response?: { allowed?: boolean; patch?: string } }).response;
          return status === 200 && response?.allowed === true && response.patch !== undefined;
        },
        count,
      });
    },
  });
}

/** A CREATE review of a Deployment the size of a real one (two containers, probes, volumes, ~5 KB). */
function admissionReview(): unknown {
  const container = (name: string, image: string): Record<string, unknown> => ({
    name,
    image,
    imagePullPolicy: 'IfNotPresent',
    args: ['--port=8080', '--log-level=info', `--name=${name}`],
    ports: [
      { name: 'http', containerPort: 8080, protocol: 'TCP' },
      { name: 'metrics', containerPort: 9090, protocol: 'TCP' },
    ],
    env: Array.from({ length: 8 }, (_, i) => ({ name: `SETTING_${i}`, value: `value-${i}-${name}` })).concat([
      {
        name: 'POD_NAME',
        valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.name' } },
      } as never,
    ]),
    envFrom: [{ configMapRef: { name: `${name}-config` } }],
    resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '1', memory: '512Mi' } },
    livenessProbe: {
      httpGet: { path: '/healthz', port: 8080, scheme: 'HTTP' },
      periodSeconds: 10,
      timeoutSeconds: 1,
    },
    readinessProbe: {
      httpGet: { path: '/readyz', port: 8080, scheme: 'HTTP' },
      periodSeconds: 5,
      timeoutSeconds: 1,
    },
    volumeMounts: [
      { name: 'config', mountPath: '/etc/app' },
      { name: 'bindings', mountPath: '/bindings', readOnly: true },
    ],
    securityContext: { allowPrivilegeEscalation: false, runAsNonRoot: true, capabilities: { drop: ['ALL'] } },
    terminationMessagePath: '/dev/termination-log',
    terminationMessagePolicy: 'File',
  });
  const labels = {
    'app.kubernetes.io/name': 'shop',
    'app.kubernetes.io/component': 'api',
    'app.kubernetes.io/part-of': 'store',
  };
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: '0b1c5e4a-8d4f-4a51-9a43-7d8e2f0c9b11',
      kind: { group: 'apps', version: 'v1', kind: 'Deployment' },
      resource: { group: 'apps', version: 'v1', resource: 'deployments' },
      requestKind: { group: 'apps', version: 'v1', kind: 'Deployment' },
      requestResource: { group: 'apps', version: 'v1', resource: 'deployments' },
      name: 'shop-api',
      namespace: 'store',
      operation: 'CREATE',
      userInfo: {
        username: 'system:serviceaccount:argocd:argocd-application-controller',
        groups: ['system:serviceaccounts', 'system:authenticated'],
      },
      object: {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: {
          name: 'shop-api',
          namespace: 'store',
          labels,
          annotations: {
            'deployment.kubernetes.io/revision': '3',
            'argocd.argoproj.io/tracking-id': 'store:apps/Deployment:store/shop-api',
          },
        },
        spec: {
          replicas: 3,
          revisionHistoryLimit: 10,
          progressDeadlineSeconds: 600,
          selector: { matchLabels: labels },
          strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } },
          template: {
            metadata: {
              labels,
              annotations: { 'prometheus.io/scrape': 'true', 'prometheus.io/port': '9090' },
            },
            spec: {
              serviceAccountName: 'shop-api',
              terminationGracePeriodSeconds: 30,
              dnsPolicy: 'ClusterFirst',
              restartPolicy: 'Always',
              schedulerName: 'default-scheduler',
              securityContext: { fsGroup: 2000, seccompProfile: { type: 'RuntimeDefault' } },
              containers: [
                container('api', 'registry.example.com/store/api:1.42.0'),
                container('proxy', 'envoyproxy/envoy:v1.31.0'),
              ],
              volumes: [
                { name: 'config', configMap: { name: 'shop-api-config', defaultMode: 420 } },
                {
                  name: 'bindings',
                  projected: { sources: [{ secret: { name: 'db-binding' } }], defaultMode: 420 },
                },
              ],
              affinity: {
                podAntiAffinity: {
                  preferredDuringSchedulingIgnoredDuringExecution: [
                    {
                      weight: 100,
                      podAffinityTerm: {
                        topologyKey: 'kubernetes.io/hostname',
                        labelSelector: { matchLabels: labels },
                      },
                    },
                  ],
                },
              },
            },
          },
        },
      },
      oldObject: null,
      dryRun: false,
      options: { apiVersion: 'meta.k8s.io/v1', kind: 'CreateOptions', fieldManager: 'argocd-controller' },
    },
  };
}
