// Metric families on a prom-client Registry the caller passes in, created once per registry: a second
// component (another controller, another server) on the same registry gets the family already there
// instead of an error. A family of that name but another type is a mistake, and says so.

import { Counter, Gauge, Histogram } from 'prom-client';
import type { CounterConfiguration, GaugeConfiguration, HistogramConfiguration, Registry } from 'prom-client';

type Config<C> = Omit<C, 'registers'>;

export function counterOn<L extends string>(
  registry: Registry,
  config: Config<CounterConfiguration<L>>,
): Counter<L> {
  const found = registered(registry, config.name, Counter) as Counter<L> | undefined;
  return found ?? new Counter<L>({ ...config, registers: [registry] });
}

export function gaugeOn<L extends string>(
  registry: Registry,
  config: Config<GaugeConfiguration<L>>,
): Gauge<L> {
  const found = registered(registry, config.name, Gauge) as Gauge<L> | undefined;
  return found ?? new Gauge<L>({ ...config, registers: [registry] });
}

export function histogramOn<L extends string>(
  registry: Registry,
  config: Config<HistogramConfiguration<L>>,
): Histogram<L> {
  const found = registered(registry, config.name, Histogram) as Histogram<L> | undefined;
  return found ?? new Histogram<L>({ ...config, registers: [registry] });
}

/** The metric of that name already on the registry, if any; it must be of the same type. */
function registered<M>(
  registry: Registry,
  name: string,
  type: abstract new (...args: never[]) => M,
): M | undefined {
  const metric = registry.getSingleMetric(name);
  if (metric === undefined || metric instanceof type) return metric;
  throw new Error(`metric ${name} is already registered on this registry, and is not a ${type.name}`);
}
