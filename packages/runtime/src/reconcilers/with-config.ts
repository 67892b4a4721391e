import type { KubeObject } from '@bindery/kube';
import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import type { ReconcileContext, SetupContext, SubReconciler } from '../reconciler.ts';
import type { Result } from '../result.ts';

export interface WithConfigOptions<T extends KubeObject> {
  name?: string;
  /** The config for the nested reconciler; called at setup and on each reconcile. */
  config: (ctx: { config: Config; log: Logger }) => Config | Promise<Config>;
  reconciler: SubReconciler<T>;
}

/**
 * Runs a reconciler with another Config (another cluster, another identity).
 * `ctx.originalConfig` keeps the one the reconcile started with, which still
 * owns the reconciled resource: its finalizers, events and status.
 */
export class WithConfig<T extends KubeObject> implements SubReconciler<T> {
  readonly name: string;
  readonly #options: WithConfigOptions<T>;

  constructor(options: WithConfigOptions<T>) {
    this.name = options.name ?? 'WithConfig';
    this.#options = options;
  }

  async setup(ctx: SetupContext): Promise<void> {
    const config = await this.#options.config(ctx);
    await this.#options.reconciler.setup?.({ ...ctx, config });
  }

  async reconcile(ctx: ReconcileContext, resource: T): Promise<Result> {
    const config = await this.#options.config(ctx);
    return (await this.#options.reconciler.reconcile({ ...ctx, config }, resource)) ?? {};
  }
}
