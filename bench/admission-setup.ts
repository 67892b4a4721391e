// The admission bench's cluster side: the bindings it seeds, the Deployments it creates, and the
// webhook configurations it deletes and waits for.
import { setTimeout as sleep } from 'node:timers/promises';
import { isNotFound } from '@bindery/kube';
import type { KubeClient, KubeObject } from '@bindery/kube';
import { defaultWebhookConfigurationNames, serviceBindingType } from '@bindery/servicebinding';
import type { ServiceBinding } from '@bindery/servicebinding';
import { benchDeployment } from './fixtures.ts';

export const ns = 'bench-admission';
/** Create loops over one client. */
export const CONCURRENCY = 16;
/** Label groups the selecting bindings are spread over. */
export const GROUPS = 10;
const ADMISSION = 'admissionregistration.k8s.io/v1';

/** Binding i: by selector (group i % 10) for one in ten, else by the name of a Deployment never created. */
function binding(i: number): KubeObject {
  const workload =
    i % 10 === 0
      ? { selector: { matchLabels: { 'bench.bindery.dev/group': `g-${(i / 10) % GROUPS}` } } }
      : { name: `other-${i}` };
  return {
    ...serviceBindingType,
    metadata: { name: `binding-${i}`, namespace: ns },
    spec: {
      service: { apiVersion: 'v1', kind: 'Secret', name: `db-${i}` },
      workload: { apiVersion: 'apps/v1', kind: 'Deployment', ...workload },
    },
  };
}

function deployment(name: string, batch: string, group: string): KubeObject {
  const labels = { app: name, 'bench.bindery.dev/batch': batch, 'bench.bindery.dev/group': group };
  return benchDeployment(name, ns, labels, { app: name });
}

function volumesOf(d: KubeObject): number {
  return ((d['spec'] as { template: { spec: { volumes?: unknown[] } } }).template.spec.volumes ?? []).length;
}

/** `count` bindings, 32 creates in flight, each with the status the interceptor reads (PUT /status). */
export async function seed(client: KubeClient, count: number): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < count; i = next++) {
      const created = await client.create<ServiceBinding>(binding(i) as ServiceBinding);
      const now = new Date().toISOString();
      await client.update(
        {
          ...created,
          status: {
            binding: { name: `db-${i}` },
            observedGeneration: created.metadata.generation ?? 1,
            conditions: ['Ready', 'ServiceAvailable', 'WorkloadProjected'].map((type) => ({
              type,
              status: 'True',
              reason: type === 'Ready' ? 'Ready' : type,
              message: '',
              lastTransitionTime: now,
            })),
          },
        },
        { subresource: 'status' },
      );
    }
  };
  await Promise.all(Array.from({ length: 32 }, worker));
}

export const configurations: Array<{ kind: string; name: string }> = [
  { kind: 'MutatingWebhookConfiguration', name: defaultWebhookConfigurationNames.interceptor },
  { kind: 'ValidatingWebhookConfiguration', name: defaultWebhookConfigurationNames.trigger },
  { kind: 'ValidatingWebhookConfiguration', name: defaultWebhookConfigurationNames.validation },
];

export async function deleteConfiguration(
  client: KubeClient,
  c: { kind: string; name: string },
): Promise<void> {
  await client.delete({ apiVersion: ADMISSION, ...c }).catch((err: unknown) => {
    if (!isNotFound(err)) throw err;
  });
}

/** The trigger's configuration, once the webhook process has created it. */
export async function configured(client: KubeClient): Promise<{ kind: string; name: string }> {
  const trigger = configurations[1] as { kind: string; name: string };
  for (let attempt = 0; ; attempt++) {
    try {
      await client.get({ apiVersion: ADMISSION, ...trigger });
      return trigger;
    } catch (err) {
      if (!isNotFound(err) || attempt > 300) throw err;
    }
    await sleep(100);
  }
}

/**
 * Until the API server calls the interceptor (`mutated`) or does not: a dry-run create of a
 * Deployment of group g-0 comes back with (or without) the bindings' volumes.
 */
export async function untilAdmission(client: KubeClient, mutated: boolean): Promise<void> {
  const deadline = performance.now() + 30_000;
  for (;;) {
    try {
      const d = await client.create(deployment('probe', 'probe', 'g-0'), { dryRun: true });
      if (volumesOf(d) > 1 === mutated) return;
    } catch (err) {
      if (performance.now() > deadline) throw err;
    }
    if (performance.now() > deadline) throw new Error(`the interceptor is still ${mutated ? 'off' : 'on'}`);
    await sleep(100);
  }
}

/** `count` creates from CONCURRENCY loops; latencies in ms, and the volumes each created object got. */
export async function createMany(
  client: KubeClient,
  count: number,
  batch: string,
  group: string,
): Promise<{ ms: number; latencies: number[]; volumes: Map<number, number> }> {
  const latencies: number[] = [];
  const volumes = new Map<number, number>();
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      for (let i = next++; i < count; i = next++) {
        const t = performance.now();
        const d = await client.create(deployment(`${batch}-${i}`, batch, group));
        latencies.push(performance.now() - t);
        const v = volumesOf(d);
        volumes.set(v, (volumes.get(v) ?? 0) + 1);
      }
    }),
  );
  return { ms: performance.now() - started, latencies, volumes };
}
