// A complete Open Service Broker in one file: API keys for a made-up "greeting" service. Each
// instance is a tenant; each binding gets its own API key. docs/osb-broker.md walks through it.

import { createHmac, randomBytes } from 'node:crypto';
import { BrokerError, compareProvision } from '@bindery/osb-broker';
import type {
  BindRequest,
  BindResponse,
  Broker,
  Catalog,
  DeprovisionRequest,
  DeprovisionResponse,
  LastOperationRequest,
  LastOperationResponse,
  ProvisionBody,
  ProvisionRequest,
  ProvisionResponse,
  UnbindRequest,
  UnbindResponse,
  UpdateRequest,
  UpdateResponse,
} from '@bindery/osb-broker';

export const catalog: Catalog = {
  services: [
    {
      id: '8d0c5a3e-4f7b-4e0a-9d2c-1b6e3f9a7c01',
      name: 'greeting',
      description: 'Greetings as a service, with one API key per binding',
      bindable: true,
      plans: [
        {
          id: '8d0c5a3e-4f7b-4e0a-9d2c-1b6e3f9a7c02',
          name: 'free',
          description: 'Ten greetings a minute',
          schemas: {
            service_instance: {
              create: {
                parameters: {
                  $schema: 'http://json-schema.org/draft-04/schema#',
                  type: 'object',
                  properties: { language: { type: 'string', enum: ['en', 'fr', 'de'] } },
                  additionalProperties: false,
                },
              },
            },
          },
        },
      ],
    },
  ],
};

interface Tenant {
  request: ProvisionBody;
  secret: string;
  bindings: Set<string>;
}

export class GreetingBroker implements Broker {
  readonly #tenants = new Map<string, Tenant>();

  catalog(): Catalog {
    return catalog;
  }

  provision(req: ProvisionRequest): Promise<ProvisionResponse> {
    const existing = this.#tenants.get(req.instanceId);
    switch (compareProvision(existing?.request, req.body)) {
      case 'same':
        return Promise.resolve({ status: 200 });
      case 'different':
        throw BrokerError.conflict();
      case 'new':
        this.#tenants.set(req.instanceId, {
          request: req.body,
          secret: randomBytes(32).toString('hex'),
          bindings: new Set(),
        });
        return Promise.resolve({ status: 201, dashboard_url: `https://greeting.example/${req.instanceId}` });
    }
  }

  update(_req: UpdateRequest): Promise<UpdateResponse> {
    throw BrokerError.unprocessable('Tenants cannot be changed; create a new one.');
  }

  deprovision(req: DeprovisionRequest): Promise<DeprovisionResponse> {
    // An unknown instance: the server answers 410 Gone, as the spec wants for a DELETE.
    if (!this.#tenants.delete(req.instanceId)) throw BrokerError.notFound();
    return Promise.resolve({ status: 200 });
  }

  lastOperation(req: LastOperationRequest): Promise<LastOperationResponse> {
    // Every operation here is synchronous: whatever the platform asks about is done, or gone (410).
    if (!this.#tenants.has(req.instanceId)) throw BrokerError.notFound();
    return Promise.resolve({ state: 'succeeded' });
  }

  bind(req: BindRequest): Promise<BindResponse> {
    const tenant = this.#tenants.get(req.instanceId);
    if (!tenant) throw BrokerError.badRequest('The service instance does not exist.');
    // The same binding id always derives the same key, so a repeated PUT answers the same credentials.
    const apiKey = createHmac('sha256', tenant.secret).update(req.bindingId).digest('base64url');
    const status = tenant.bindings.has(req.bindingId) ? 200 : 201;
    tenant.bindings.add(req.bindingId);
    return Promise.resolve({
      status,
      credentials: { uri: 'https://greeting.example/api', apiKey, language: languageOf(tenant) },
    });
  }

  unbind(req: UnbindRequest): Promise<UnbindResponse> {
    if (!this.#tenants.get(req.instanceId)?.bindings.delete(req.bindingId)) throw BrokerError.notFound();
    return Promise.resolve({ status: 200 });
  }
}

function languageOf(tenant: Tenant): string {
  const language = tenant.request.parameters?.['language'];
  return typeof language === 'string' ? language : 'en';
}
