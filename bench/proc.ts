// Shared by the benchmark programs that run a control plane: what /proc says about the machine's
// load and about the CPU the API server and etcd used.
import { readFile, readdir } from 'node:fs/promises';

/**
 * CPU seconds (user + system) used so far by the processes of group `pgid` named `comm` (the
 * control plane runs each binary under a watchdog shell that leads its group), from /proc.
 */
export async function cpuSeconds(pgid: number, comm: string): Promise<number> {
  let ticks = 0;
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // After the name: state, ppid, pgrp, …, utime (index 11), stime (12), in 10 ms ticks.
    if (name === comm && Number(fields[2]) === pgid) ticks += Number(fields[11]) + Number(fields[12]);
  }
  return ticks / 100;
}

/** The 1, 5 and 15 minute load averages, to print next to a figure. */
export async function loadavg(): Promise<string> {
  return (await readFile('/proc/loadavg', 'utf8')).split(' ').slice(0, 3).join(' ');
}
