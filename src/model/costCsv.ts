/**
 * The cost report as CSV, one row per group: the one format that `openbatch cost --csv` prints
 * and the dashboard's cost page downloads (POST /openbatch/v1/cost with `format: "csv"`).
 */
import type { CostRow } from './cost.js';

/** The answer of the cost operation (api/costOperation.ts). */
export interface CostAnswer {
  currency: string | null;
  priced: boolean;
  from: number;
  to: number;
  groupBy: string;
  rows: CostRow[];
  total: CostRow;
}

function csvField(v: string): string {
  return /[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

export function costCsv(a: CostAnswer): string {
  // Columns added later go at the end, so that scripts reading by position keep working.
  const head = ['group', 'key', 'name', 'attempts', 'vcpu_seconds', 'gib_seconds', 'gpu_seconds', 'cost', 'lost_cost', 'lost_attempts', 'unpriced_attempts', 'currency',
    'measured_attempts', 'cpu_seconds_used', 'vcpu_seconds_while_running', 'peak_gib_seconds', 'gib_seconds_while_running'];
  const line = (r: CostRow) =>
    [a.groupBy, r.key, r.name ?? '', r.attempts, r.vcpuSeconds.toFixed(3), r.gibSeconds.toFixed(3), r.gpuSeconds.toFixed(3), r.cost.toFixed(6), r.lostCost.toFixed(6), r.lostAttempts, r.unpriced, a.currency ?? '',
      r.measuredAttempts, r.cpuSecondsUsed.toFixed(3), r.vcpuSecondsWhileRunning.toFixed(3), r.peakGibSeconds.toFixed(3), r.gibSecondsWhileRunning.toFixed(3)]
      .map((v) => csvField(String(v)))
      .join(',');
  return [head.join(','), ...a.rows.map(line)].join('\n') + '\n';
}
