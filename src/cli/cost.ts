/**
 * `openbatch cost`: what the work cost over a time range (by default the last 24 hours), per
 * job, array, queue, share identifier or tag — vCPU-, GiB- and GPU-hours reserved, the cost at
 * the server's price table, and the cost lost to interruptions. Per job, an array's children
 * count for the array (`--job ARRAY` lists them one by one). A server without a price table
 * gets the resource-hours alone, not columns of zeros. Where attempts' use was measured, what
 * they used against what they asked: the CPU time used as a share of the vCPU-hours they held
 * while running, their peak memory's share of the memory they held (model/usage.ts).
 * `--csv` for spreadsheets, `--json` for scripts.
 */
import type { Command } from 'commander';
import { costCsv, type CostAnswer } from '../model/costCsv.js';
import type { CostRow } from '../model/cost.js';
import { usedShare } from '../model/usage.js';
import { CliError, withClient, type ConnectionFlags } from './client.js';
import { fullTime, json, table, wantsJson, type Column } from './output.js';


const UNITS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** `90m`, `24h`, `7d` → ms. */
export function parseDuration(flag: string, v: string): number {
  const m = /^(\d+(?:\.\d+)?)([smhdw])$/.exec(v);
  if (!m) throw new CliError(`${flag} takes a duration such as 30m, 24h or 7d (got '${v}')`);
  return Number(m[1]) * UNITS[m[2]];
}

/** An ISO time or epoch milliseconds → ms. */
export function parseTime(flag: string, v: string): number {
  const n = /^\d+$/.test(v) ? Number(v) : Date.parse(v);
  if (!Number.isFinite(n)) throw new CliError(`${flag} takes a time such as 2026-11-25T09:00:00Z or epoch milliseconds (got '${v}')`);
  return n;
}

const SIGNIFICANT = new Intl.NumberFormat('en-US', { maximumSignificantDigits: 3, useGrouping: false });
/** Resource-seconds as hours, with the precision a short job needs (`0.00139`, `2.5`, `130.2`), as the dashboard shows them. */
const hours = (s: number) => (s / 3600 >= 10 ? (s / 3600).toFixed(1) : SIGNIFICANT.format(s / 3600));
const money = (n: number) => n.toFixed(6);


/** The default range: the last day, as a person asking "what did it cost" means. */
export const DEFAULT_SINCE = '24h';

export function costText(a: CostAnswer): string {
  const cur = a.currency ? ` (${a.currency})` : '';
  const rows = [...a.rows, a.total];
  const columns: Column<CostRow>[] = [
    { header: a.groupBy.toUpperCase(), value: (r) => (r === a.total ? 'TOTAL' : r.key) },
    { header: 'NAME', value: (r) => r.name ?? '' },
    { header: 'ATTEMPTS', value: (r) => String(r.attempts), right: true },
    { header: 'VCPU-H', value: (r) => hours(r.vcpuSeconds), right: true },
    { header: 'GIB-H', value: (r) => hours(r.gibSeconds), right: true },
  ];
  if (a.total.gpuSeconds > 0) columns.push({ header: 'GPU-H', value: (r) => hours(r.gpuSeconds), right: true });
  if (a.total.measuredAttempts > 0) {
    columns.push({ header: 'CPU USED', value: (r) => usedShare(r.cpuSecondsUsed, r.vcpuSecondsWhileRunning, r.measuredAttempts), right: true });
    columns.push({ header: 'MEM USED', value: (r) => usedShare(r.peakGibSeconds, r.gibSecondsWhileRunning, r.measuredAttempts), right: true });
  }
  if (a.priced) {
    columns.push({ header: `COST${cur}`, value: (r) => money(r.cost), right: true });
    columns.push({ header: 'LOST', value: (r) => (r.lostAttempts ? `${money(r.lostCost)} (${r.lostAttempts})` : '-'), right: true });
  } else columns.push({ header: 'LOST', value: (r) => (r.lostAttempts ? `${r.lostAttempts} attempts` : '-'), right: true });
  const out = table(rows, columns);
  const notes = [`from ${fullTime(a.from)} to ${fullTime(a.to)}`];
  if (!a.priced) notes.push('resources reserved: no price table is configured (server setting "prices", docs/cost.md)');
  else if (a.total.unpriced) notes.push(`${a.total.unpriced} attempts had no price (placed before the price table, or no price for their instance)`);
  if (a.total.measuredAttempts > 0) {
    notes.push(`used: CPU time and peak memory as a share of what ${a.total.measuredAttempts === a.total.attempts ? 'the' : `the ${a.total.measuredAttempts} measured`} attempts reserved while they ran (openbatch usage <definition> says what would do)`);
  }
  return out + notes.join('; ') + '\n';
}

export function registerCostCommand(program: Command): void {
  program.command('cost').description('cost of the work over a time range, per job, array, queue, share or tag, with the cost lost to interruptions')
    .option('--by <group>', 'job, array, queue, share or tag:KEY', 'job')
    .option('--since <duration>', `the range ends now and starts this long ago (30m, 24h, 7d; default ${DEFAULT_SINCE})`)
    .option('--from <time>', 'range start: ISO time or epoch ms ("0": all time)')
    .option('--to <time>', 'range end: ISO time or epoch ms (default now)')
    .option('--job <jobId>', 'only this job (an array: each of its children)')
    .option('-q, --queue <name>', 'only jobs of this queue')
    .option('--csv', 'print CSV (one row per group)')
    .option('--json', 'print the answer as JSON')
    .addHelpText('after', '\nExamples:\n  openbatch cost                                      # the last 24 hours, per job (arrays as one)\n  openbatch cost --since 7d --by queue\n  openbatch cost --job 5b1d5b8e-0b7a-4c39-9d0e-3b0a1c2f4e6d   # an array, child by child\n  openbatch cost --by tag:project --from 2026-11-01 --csv > november.csv')
    .action((flags: ConnectionFlags & { by: string; since?: string; from?: string; to?: string; job?: string; queue?: string; csv?: boolean; json?: boolean }) =>
      withClient(flags, async (c) => {
        if (flags.since && flags.from) throw new CliError('give --since or --from, not both');
        const to = flags.to ? parseTime('--to', flags.to) : Date.now();
        const from = flags.from ? parseTime('--from', flags.from) : to - parseDuration('--since', flags.since ?? DEFAULT_SINCE);
        const a = await c.openbatch<CostAnswer>('cost', { groupBy: flags.by, from, to: flags.to ? to : undefined, jobId: flags.job, jobQueue: flags.queue });
        process.stdout.write(wantsJson(flags) ? json(a) : flags.csv ? costCsv(a) : costText(a));
      }),
    );
}
