import { useState } from 'react';
import { openbatch, type CostReport, type CostRow } from '../api';
import { ErrorNote, Section, useLoad } from '../components/common';
import { hours, money, time, usedShare } from '../format';
import { navigate, type Route } from '../route';

const GROUPS = ['job', 'array', 'queue', 'share', 'tag'] as const;
const RANGES: Record<string, number> = { '1h': 3_600_000, '24h': 86_400_000, '7d': 7 * 86_400_000, '30d': 30 * 86_400_000 };

/**
 * The cost report (POST /openbatch/v1/cost) over a time range, grouped by job, array, queue,
 * share identifier or tag, as `openbatch cost` shows it; "Download CSV" saves the same rows
 * in the CLI's `--csv` format. The choice lives in the URL (#/cost?by=tag&tag=project&since=7d).
 */
export function Cost({ route }: { route: Route }) {
  const by = (GROUPS as readonly string[]).includes(route.params.by) ? route.params.by : 'queue';
  const since = route.params.since in RANGES || route.params.since === 'all' ? route.params.since : '24h';
  const [tagKey, setTagKey] = useState(route.params.tag ?? '');
  const groupBy = by === 'tag' ? `tag:${route.params.tag ?? ''}` : by;
  const ready = by !== 'tag' || !!route.params.tag;
  const input = () => ({ groupBy, ...(since === 'all' ? {} : { from: Date.now() - RANGES[since] }) });
  const { data, error } = useLoad(async () => (ready ? openbatch<CostReport>('cost', input()) : undefined), [groupBy, since, ready]);
  const [downloadError, setDownloadError] = useState<unknown>();
  const go = (p: Record<string, string | undefined>) => navigate('cost', { by, since, tag: by === 'tag' ? route.params.tag : undefined, ...p });

  async function download() {
    setDownloadError(undefined);
    try {
      const r = await openbatch<CostReport & { csv: string }>('cost', { ...input(), format: 'csv' });
      const a = document.createElement('a');
      a.href = URL.createObjectURL(new Blob([r.csv], { type: 'text/csv' }));
      a.download = `openbatch-cost-${groupBy.replace(/[^\w-]+/g, '-')}-${since}.csv`;
      a.click();
      URL.revokeObjectURL(a.href);
    } catch (e) {
      setDownloadError(e);
    }
  }

  const key = (r: CostRow) => (by === 'job' || (by === 'array' && r.key !== '(not an array)') ? <a href={`#/jobs/${encodeURIComponent(r.key)}`}>{r.key}</a> : r.key);
  return (
    <>
      <form
        className="filters"
        onSubmit={(e) => {
          e.preventDefault();
          go({ tag: tagKey.trim() || undefined });
        }}
      >
        <label>
          Group by{' '}
          <select value={by} onChange={(e) => go({ by: e.target.value, tag: e.target.value === 'tag' ? tagKey.trim() || undefined : undefined })} data-testid="cost-by">
            {GROUPS.map((g) => (
              <option key={g} value={g}>
                {g === 'share' ? 'share identifier' : g}
              </option>
            ))}
          </select>
        </label>
        {by === 'tag' && (
          <label>
            Tag key <input value={tagKey} onChange={(e) => setTagKey(e.target.value)} placeholder="project" data-testid="cost-tag" />
          </label>
        )}
        <label>
          Over{' '}
          <select value={since} onChange={(e) => go({ since: e.target.value })} data-testid="cost-since">
            {Object.keys(RANGES).map((r) => (
              <option key={r} value={r}>
                the last {r}
              </option>
            ))}
            <option value="all">all time</option>
          </select>
        </label>
        {by === 'tag' && <button type="submit">Show</button>}
        <button type="button" onClick={() => void download()} disabled={!ready} data-testid="cost-csv">
          Download CSV
        </button>
      </form>
      <ErrorNote error={error ?? downloadError} />
      {!ready && <p className="muted">Name the tag key whose values to group by (a job's tags, e.g. project).</p>}
      {data && (
        <Section title={`Cost by ${by === 'tag' ? `tag ${route.params.tag}` : by === 'share' ? 'share identifier' : by}`} right={<span className="muted small">{`from ${time(data.from)} to ${time(data.to)}`}</span>}>
          {!data.priced && (
            <p className="muted">
              No price table on this server (setting <span className="mono">prices</span>): only the resources reserved mean anything.
            </p>
          )}
          <table className="table" data-testid="cost-report">
            <thead>
              <tr>
                <th>{by === 'share' ? 'share identifier' : by}</th>
                <th>name</th>
                <th className="num">attempts</th>
                <th className="num">vCPU-h</th>
                <th className="num">GiB-h</th>
                <th className="num">GPU-h</th>
                <th className="num" title="CPU time used, as a share of the vCPU-hours held while running (measured attempts)">CPU used</th>
                <th className="num" title="peak memory, as a share of the memory held while running (measured attempts)">memory used</th>
                <th className="num">cost</th>
                <th className="num">lost to interruptions</th>
              </tr>
            </thead>
            <tbody>
              {[...data.rows, data.total].map((r) => (
                <tr key={r === data.total ? '\0total' : r.key} data-key={r === data.total ? undefined : r.key} data-testid={r === data.total ? 'cost-total-row' : 'cost-row'}>
                  <td>{r === data.total ? <strong>Total</strong> : key(r)}</td>
                  <td>{r.name ?? ''}</td>
                  <td className="num">{r.attempts}</td>
                  <td className="num">{hours(r.vcpuSeconds)}</td>
                  <td className="num">{hours(r.gibSeconds)}</td>
                  <td className="num">{r.gpuSeconds ? hours(r.gpuSeconds) : '-'}</td>
                  <td className="num">{usedShare(r.cpuSecondsUsed, r.vcpuSecondsWhileRunning, r.measuredAttempts)}</td>
                  <td className="num">{usedShare(r.peakGibSeconds, r.gibSecondsWhileRunning, r.measuredAttempts)}</td>
                  <td className="num" data-testid="cost-amount">
                    {money(r.cost, data.currency)}
                  </td>
                  <td className="num">{r.lostAttempts ? `${money(r.lostCost, data.currency)} (${r.lostAttempts})` : '-'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </Section>
      )}
    </>
  );
}
