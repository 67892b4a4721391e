// Shared by the benchmark programs: medians and a machine line to paste into docs/benchmarks.md.
import { cpus, totalmem } from 'node:os';

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** The `p` quantile (0..1) of `values`, nearest rank below; NaN for none. */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? Number.NaN;
}

export function machine(): string {
  return `${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`;
}

/** Prints the figures as a Markdown table, ready for docs/benchmarks.md. */
export function report(title: string, rows: Array<[string, number]>): void {
  console.log(`\n${title} — median of the runs above; ${machine()}\n`);
  console.log('| measure | median |\n|---|---|');
  for (const [name, value] of rows)
    console.log(`| ${name} | ${Number.isInteger(value) ? value : value.toFixed(1)} |`);
}
