// A mutating webhook that answers from a binding index which has not seen the binding's Secret yet
// undoes the controller's patch of the workload: the API server answers with the object as admitted,
// unprojected. The controller must see that in the answer and try again, never report the workload
// projected. Found by CI in `bindery dev --samples`, where the interceptor's index lagged behind the
// controller: the binding was Ready while its Deployment carried no projection, and nothing retried.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eventually, skipE2E } from '@bindery/controlplane';
import type { KubeClient, KubeObject, TypeRef } from '@bindery/kube';
import { WebhookServer } from '@bindery/runtime';
import type { AdmissionHandler } from '@bindery/runtime';
import { pino } from 'pino';
import type { ServiceBinding } from '../apis/index.ts';
import { ServiceBindingIndex } from '../webhooks/binding-index.ts';
import { interceptor } from '../webhooks/interceptor.ts';
import { startControllerEnvironment, workloadDeployment } from './e2e-helpers.ts';
import type { ControllerEnvironment } from './e2e-helpers.ts';
import { serviceBindingType } from './servicebinding.ts';

const ns = 'stale-admission-e2e';
const ADMISSION = 'admissionregistration.k8s.io/v1';
const configuration = 'bindery-e2e-stale-interceptor';
const selector = { matchLabels: { 'stale-admission': 'true' } };
const deploymentType: TypeRef = { apiVersion: 'apps/v1', kind: 'Deployment' };

interface Template {
  spec: { volumes?: Array<{ projected?: { sources: Array<{ secret?: { name: string } }> } }> };
}

describe(
  'a workload patch undone by a stale mutating webhook, on a real API server',
  { skip: skipE2E },
  () => {
    let env: ControllerEnvironment | undefined;
    let admin: KubeClient;
    let server: WebhookServer | undefined;
    /** The interceptor answers from this index, fed by hand: it sees what the test lets it see. */
    const index = new ServiceBindingIndex();
    /** UPDATEs of Deployment `web` the webhook was asked to admit: the controller's patches. */
    let updates = 0;
    /** Names of the objects the webhook was asked to admit. */
    const seen = new Set<string>();

    before(
      async () => {
        env = await startControllerEnvironment({ name: 'stale-admission', namespace: ns });
        admin = env.admin;
        const serving = await env.cp.certificateAuthority.issueServing({ hosts: ['127.0.0.1'] });
        server = new WebhookServer({ port: 0, tls: serving, log: pino({ level: 'silent' }) });
        const intercept = interceptor({ index, mapping: () => Promise.resolve(undefined) });
        const counting: AdmissionHandler = {
          type: intercept.type,
          handle: (ctx) => {
            seen.add(ctx.request.name ?? '');
            if (ctx.request.operation === 'UPDATE' && ctx.request.name === 'web') updates++;
            return intercept.handle(ctx);
          },
        };
        server.register('/interceptor', counting);
        await server.listen();
        await env.cp.registerWebhook({
          kind: 'Mutating',
          name: configuration,
          url: server.url('/interceptor'),
          caBundle: env.cp.caCert,
          rules: [
            {
              operations: ['CREATE', 'UPDATE'],
              apiGroups: ['apps'],
              apiVersions: ['v1'],
              resources: ['deployments'],
            },
          ],
          objectSelector: selector,
          reinvocationPolicy: 'IfNeeded',
        });
        // The API server picks a new configuration up moments later: wait until it calls the webhook.
        await eventually(async () => {
          await admin.create(labelled('probe'));
          await admin.delete({ ...deploymentType, namespace: ns, name: 'probe' });
          assert.ok(seen.has('probe'), 'the webhook was called');
        });
      },
      { timeout: 30 * 60_000 },
    );

    after(async () => {
      await admin
        ?.delete({ apiVersion: ADMISSION, kind: 'MutatingWebhookConfiguration', name: configuration })
        .catch(() => undefined);
      await server?.stop();
      await env?.stop();
    });

    it('is retried once the webhook has caught up; the binding is not Ready while it is undone', async () => {
      await admin.create({
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { namespace: ns, name: 'db' },
        stringData: { type: 'postgresql', password: 'not-logged' },
      });
      const created = await admin.create<ServiceBinding>({
        ...serviceBindingType,
        metadata: { namespace: ns, name: 'web-db' },
        spec: {
          service: { apiVersion: 'v1', kind: 'Secret', name: 'db' },
          workload: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' },
        },
      });
      // The webhook knows the binding but not its Secret (no status yet): it projects nothing, and
      // takes out a projection of this binding that a write brings.
      index.upsert(created);
      const stale = await eventually(async () => {
        const b = await admin.get<ServiceBinding>({ ...serviceBindingType, namespace: ns, name: 'web-db' });
        assert.equal(b.status?.binding?.name, 'db', JSON.stringify(b.status));
        return b;
      });
      assert.notEqual(stale.status?.conditions?.find((c) => c.type === 'Ready')?.status, 'True');

      await admin.create(labelled('web'));
      // The controller patches `web`; the webhook undoes it. It must try again (with backoff)...
      await eventually(
        () => assert.ok(updates >= 2, `the controller patched web ${updates} time(s)`),
        20_000,
      );
      const meanwhile = await admin.get<ServiceBinding>({
        ...serviceBindingType,
        namespace: ns,
        name: 'web-db',
      });
      assert.deepEqual(await projectedSecrets('web'), [], 'the webhook undid the projection');
      assert.notEqual(
        meanwhile.status?.conditions?.find((c) => c.type === 'Ready')?.status,
        'True',
        `Ready while the Deployment is not projected: ${JSON.stringify(meanwhile.status)}`,
      );

      // ...and succeed once the webhook's index has the binding's status.
      index.upsert(meanwhile);
      await eventually(async () => {
        assert.deepEqual(await projectedSecrets('web'), ['db']);
        const b = await admin.get<ServiceBinding>({ ...serviceBindingType, namespace: ns, name: 'web-db' });
        assert.equal(
          b.status?.conditions?.find((c) => c.type === 'Ready')?.status,
          'True',
          JSON.stringify(b.status),
        );
      }, 20_000);
    });

    /** The names of the Secrets the Deployment's projected volumes carry. */
    async function projectedSecrets(name: string): Promise<string[]> {
      const d = await admin.get({ ...deploymentType, namespace: ns, name });
      const template = (d['spec'] as { template: Template }).template;
      return (template.spec.volumes ?? []).flatMap((v) =>
        (v.projected?.sources ?? []).flatMap((s) => (s.secret ? [s.secret.name] : [])),
      );
    }
  },
);

function labelled(name: string): KubeObject {
  const d = workloadDeployment(ns, name);
  return { ...d, metadata: { ...d.metadata, labels: { 'stale-admission': 'true' } } };
}
