import { openbatch, type CostReport } from '../api';
import { hours, money, usedShare } from '../format';
import { useLiveReload } from '../live';
import { ErrorNote, useLoad } from './common';

/**
 * What a job cost (POST /openbatch/v1/cost {jobId}): its attempts' reserved resources ×
 * their rates, over all time; an array's is its children's, a multi-node job's its nodes'.
 */
export function CostSummary({ jobId, status, isArray }: { jobId: string; status: string; isArray: boolean }) {
  const { data, error, reload } = useLoad(() => openbatch<CostReport>('cost', { jobId, groupBy: 'job' }), [jobId, status]);
  // a running job's cost grows; an array's changes with each child: every 5 s at most
  useLiveReload(reload, (c) => c.jobId === jobId || c.jobId.startsWith(`${jobId}:`) || c.jobId.startsWith(`${jobId}#`), 5000);
  if (!data) return <ErrorNote error={error} />;
  const t = data.total;
  if (t.attempts === 0) return <p className="muted">{isArray ? 'No child has been placed yet: nothing reserved, nothing spent.' : 'Not placed yet: nothing reserved, nothing spent.'}</p>;
  const rows: [string, React.ReactNode][] = [
    [
      isArray ? 'Cost of its children' : 'Cost',
      data.priced ? (
        <strong data-testid="cost-total">{money(t.cost, data.currency)}</strong>
      ) : (
        <span className="muted" data-testid="cost-total">
          no price table on this server (setting <span className="mono">prices</span>)
        </span>
      ),
    ],
    ['vCPU-hours', <span data-testid="cost-vcpu-hours">{hours(t.vcpuSeconds)}</span>],
    ['GiB-hours', hours(t.gibSeconds)],
  ];
  if (t.gpuSeconds > 0) rows.push(['GPU-hours', hours(t.gpuSeconds)]);
  if (t.measuredAttempts > 0) {
    rows.push(['CPU used', `${usedShare(t.cpuSecondsUsed, t.vcpuSecondsWhileRunning, t.measuredAttempts)} of the vCPUs it held while running`]);
    rows.push(['Memory used', `${usedShare(t.peakGibSeconds, t.gibSecondsWhileRunning, t.measuredAttempts)} (its peak) of the memory it held`]);
  }
  rows.push(['Attempts', isArray ? `${t.attempts} (children's, retries included)` : t.attempts]);
  if (t.lostAttempts > 0) rows.push(['Lost to interruptions', <span className="warn">{`${money(t.lostCost, data.currency)} (${t.lostAttempts} attempt${t.lostAttempts === 1 ? '' : 's'})`}</span>]);
  if (t.unpriced > 0 && data.priced) rows.push(['Unpriced attempts', t.unpriced]);
  return (
    <table className="table kv" data-testid="cost">
      <tbody>
        {rows.map(([k, v]) => (
          <tr key={k}>
            <th>{k}</th>
            <td>{v}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
