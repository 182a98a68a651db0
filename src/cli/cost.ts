/**
 * `openbatch cost`: what the work cost over a time range, per job, array, queue, share
 * identifier or tag — vCPU-, GiB- and GPU-hours reserved, the cost at the server's price
 * table, and the cost lost to interruptions. `--csv` for spreadsheets, `--json` for scripts.
 */
import type { Command } from 'commander';
import { costCsv, type CostAnswer } from '../model/costCsv.js';
import { CliError, withClient, type ConnectionFlags } from './client.js';
import { fullTime, json, table, wantsJson } from './output.js';


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

const hours = (s: number) => (s / 3600).toFixed(4);
const money = (n: number) => n.toFixed(6);

export function costText(a: CostAnswer): string {
  const cur = a.currency ? ` (${a.currency})` : '';
  const rows = [...a.rows, a.total];
  const out = table(rows, [
    { header: a.groupBy.toUpperCase(), value: (r) => (r === a.total ? 'TOTAL' : r.key) },
    { header: 'NAME', value: (r) => r.name ?? '' },
    { header: 'ATTEMPTS', value: (r) => String(r.attempts), right: true },
    { header: 'VCPU-H', value: (r) => hours(r.vcpuSeconds), right: true },
    { header: 'GIB-H', value: (r) => hours(r.gibSeconds), right: true },
    { header: 'GPU-H', value: (r) => hours(r.gpuSeconds), right: true },
    { header: `COST${cur}`, value: (r) => money(r.cost), right: true },
    { header: 'LOST', value: (r) => (r.lostAttempts ? `${money(r.lostCost)} (${r.lostAttempts})` : '-'), right: true },
  ]);
  const notes = [`from ${fullTime(a.from)} to ${fullTime(a.to)}`];
  if (!a.priced) notes.push('no price table configured (server setting "prices"): costs are 0');
  else if (a.total.unpriced) notes.push(`${a.total.unpriced} attempts had no price (placed before the price table, or no price for their instance)`);
  return out + notes.join('; ') + '\n';
}

export function registerCostCommand(program: Command): void {
  program.command('cost').description('cost of the work over a time range, per job, array, queue, share or tag, with the cost lost to interruptions')
    .option('--by <group>', 'job, array, queue, share or tag:KEY', 'job')
    .option('--since <duration>', 'the range ends now and starts this long ago (30m, 24h, 7d)')
    .option('--from <time>', 'range start: ISO time or epoch ms')
    .option('--to <time>', 'range end: ISO time or epoch ms (default now)')
    .option('--job <jobId>', 'only this job (with its array children or nodes)')
    .option('-q, --queue <name>', 'only jobs of this queue')
    .option('--csv', 'print CSV (one row per group)')
    .option('--json', 'print the answer as JSON')
    .addHelpText('after', '\nExamples:\n  openbatch cost --since 24h --by queue\n  openbatch cost --by tag:project --from 2026-11-01 --csv > november.csv')
    .action((flags: ConnectionFlags & { by: string; since?: string; from?: string; to?: string; job?: string; queue?: string; csv?: boolean; json?: boolean }) =>
      withClient(flags, async (c) => {
        if (flags.since && flags.from) throw new CliError('give --since or --from, not both');
        const to = flags.to ? parseTime('--to', flags.to) : Date.now();
        const from = flags.since ? to - parseDuration('--since', flags.since) : flags.from ? parseTime('--from', flags.from) : undefined;
        const a = await c.openbatch<CostAnswer>('cost', { groupBy: flags.by, from, to: flags.to ? to : undefined, jobId: flags.job, jobQueue: flags.queue });
        process.stdout.write(wantsJson(flags) ? json(a) : flags.csv ? costCsv(a) : costText(a));
      }),
    );
}
