import { useEffect } from 'react';
import { allComputeEnvironments, allQueues, dash, openbatch, STATUSES, type CostReport } from '../api';
import { ErrorNote, Section, StateBar, useLoad } from '../components/common';
import { hours, money } from '../format';
import { useLiveReload } from '../live';

const DAY_MS = 24 * 60 * 60 * 1000;
/** The cost report reads every attempt of the day: once a minute is enough for a day's total. */
const COST_REFRESH_MS = 60_000;

/** Each queue's cost over the last 24 hours (POST /openbatch/v1/cost, by queue). */
function useQueueCosts() {
  const cost = useLoad(() => openbatch<CostReport>('cost', { groupBy: 'queue', from: Date.now() - DAY_MS }), []);
  useEffect(() => {
    const t = window.setInterval(cost.reload, COST_REFRESH_MS);
    return () => clearInterval(t);
  }, [cost.reload]);
  return cost.data;
}

function QueueCost({ report, queue }: { report: CostReport | undefined; queue: string }) {
  if (!report) return <span className="muted">…</span>;
  const row = report.rows.find((r) => r.key === queue);
  if (!row) return <span className="muted">{report.priced ? money(0, report.currency) : '—'}</span>;
  const detail = `${hours(row.vcpuSeconds)} vCPU-h, ${hours(row.gibSeconds)} GiB-h over ${row.attempts} attempts${row.lostAttempts ? `; ${money(row.lostCost, report.currency)} lost to interruptions` : ''}`;
  return (
    <span title={detail} data-testid="queue-cost">
      {report.priced ? money(row.cost, report.currency) : `${hours(row.vcpuSeconds)} vCPU-h`}
      {row.lostAttempts > 0 && <span className="warn small"> ({row.lostAttempts} lost)</span>}
    </span>
  );
}

interface OverviewData {
  now: number;
  queues: Record<string, Record<string, number>>;
  throughput: { since: number; perMinute: { queue: string; status: string; minute: number; count: number }[] };
  failures: { since: number; byReason: { queue: string; reason: string | null; exitCode: number | null; count: number }[] };
  computeEnvironments: Record<string, { vcpusInUse: number; instances: Record<string, number>; instanceVcpus: number }>;
}

/** Jobs ended per minute over the last hour, succeeded above failed, as 60 thin bars. */
function Throughput({ data, queue }: { data: OverviewData; queue: string }) {
  const first = Math.floor(data.throughput.since / 60000) + 1;
  const ok = new Array<number>(60).fill(0);
  const bad = new Array<number>(60).fill(0);
  for (const p of data.throughput.perMinute) {
    if (p.queue !== queue) continue;
    const i = p.minute - first;
    if (i < 0 || i >= 60) continue;
    (p.status === 'SUCCEEDED' ? ok : bad)[i] += p.count;
  }
  const max = Math.max(1, ...ok.map((v, i) => v + bad[i]));
  const total = ok.reduce((a, b) => a + b, 0) + bad.reduce((a, b) => a + b, 0);
  const title = `${total} jobs ended in the last hour (${bad.reduce((a, b) => a + b, 0)} failed)`;
  return (
    <span className="spark" title={title} role="img" aria-label={title}>
      <svg width={120} height={22} viewBox="0 0 120 22">
        {ok.map((v, i) => {
          const hOk = (20 * v) / max;
          const hBad = (20 * bad[i]) / max;
          return (
            <g key={i}>
              {v > 0 && <rect x={i * 2} y={22 - hOk} width={1.6} height={hOk} className="fill-SUCCEEDED" />}
              {bad[i] > 0 && <rect x={i * 2} y={22 - hOk - hBad} width={1.6} height={hBad} className="fill-FAILED" />}
            </g>
          );
        })}
      </svg>
      <span className="num">{total}/h</span>
    </span>
  );
}

export function Overview() {
  const { data, error, reload } = useLoad(async () => {
    const [overview, queues, ces] = await Promise.all([dash<OverviewData>('overview'), allQueues(), allComputeEnvironments()]);
    return { overview, queues, ces };
  }, []);
  // the overview's counts read the whole jobs table: every 3 s at most under a stream of changes
  useLiveReload(reload, undefined, 3000);
  const costs = useQueueCosts();
  if (!data) return error ? <ErrorNote error={error} /> : <p className="muted">Loading…</p>;
  const { overview, queues, ces } = data;
  return (
    <>
      <ErrorNote error={error} />
      <Section title="Job queues">
        {queues.length === 0 ? (
          <p className="muted">No job queues yet. Create a compute environment and a job queue with the AWS CLI or `openbatch init`.</p>
        ) : (
          <table className="table" data-testid="queues">
            <thead>
              <tr>
                <th>Queue</th>
                <th>State</th>
                <th>Jobs by state</th>
                {STATUSES.map((s) => (
                  <th key={s} className="num">
                    <span className={`dot bg-${s}`} /> {s.slice(0, 1) + s.slice(1).toLowerCase()}
                  </th>
                ))}
                <th>Last hour</th>
                <th className="num" title={costs && !costs.priced ? 'no price table on this server: vCPU-hours reserved' : 'reserved resources × prices, attempts of the last 24 hours'}>
                  Cost (24 h)
                </th>
              </tr>
            </thead>
            <tbody>
              {queues.map((q) => {
                const counts = overview.queues[q.jobQueueName] ?? {};
                return (
                  <tr key={q.jobQueueName} data-queue={q.jobQueueName}>
                    <td>
                      <a href={`#/jobs?queue=${encodeURIComponent(q.jobQueueName)}`}>{q.jobQueueName}</a>
                      <div className="muted small">priority {q.priority} · {q.computeEnvironmentOrder.map((c) => c.computeEnvironment.split('/').pop()).join(', ')}</div>
                    </td>
                    <td>
                      {q.state}
                      {q.status !== 'VALID' && <span className="muted"> · {q.status}</span>}
                    </td>
                    <td>
                      <StateBar counts={counts} />
                    </td>
                    {STATUSES.map((s) => (
                      <td key={s} className="num">
                        {counts[s] ? (
                          <a href={`#/jobs?queue=${encodeURIComponent(q.jobQueueName)}&status=${s}`} data-count={s}>
                            {counts[s]}
                          </a>
                        ) : (
                          <span className="muted">0</span>
                        )}
                      </td>
                    ))}
                    <td>
                      <Throughput data={overview} queue={q.jobQueueName} />
                    </td>
                    <td className="num">
                      <QueueCost report={costs} queue={q.jobQueueName} />
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        )}
      </Section>
      <div className="cols">
        <Section title="Compute environments">
          {ces.length === 0 ? (
            <p className="muted">No compute environments.</p>
          ) : (
            <table className="table">
              <thead>
                <tr>
                  <th>Name</th>
                  <th>State</th>
                  <th>vCPUs used / desired / max</th>
                  <th>Instances</th>
                </tr>
              </thead>
              <tbody>
                {ces.map((ce) => {
                  const u = overview.computeEnvironments[ce.computeEnvironmentName] ?? { vcpusInUse: 0, instances: {}, instanceVcpus: 0 };
                  const max = ce.computeResources?.maxvCpus ?? 0;
                  const desired = ce.computeResources?.desiredvCpus ?? 0;
                  return (
                    <tr key={ce.computeEnvironmentName}>
                      <td>
                        <a href={`#/compute?ce=${encodeURIComponent(ce.computeEnvironmentName)}`}>{ce.computeEnvironmentName}</a>
                        <div className="muted small">{ce.computeResources?.type ?? ce.type}</div>
                      </td>
                      <td>
                        {ce.state} · <span className={ce.status === 'VALID' ? '' : 'warn'}>{ce.status}</span>
                      </td>
                      <td>
                        <div className="meter" title={`${u.vcpusInUse} used, ${desired} desired, ${max} max`}>
                          {max > 0 && <span className="used" style={{ width: `${Math.min(100, (100 * u.vcpusInUse) / max)}%` }} />}
                          {max > 0 && <span className="desired" style={{ left: `${Math.min(100, (100 * desired) / max)}%` }} />}
                        </div>
                        <span className="small">
                          {u.vcpusInUse} / {desired} / {max || '—'}
                        </span>
                      </td>
                      <td>
                        {Object.entries(u.instances)
                          .map(([s, n]) => `${n} ${s.toLowerCase()}`)
                          .join(', ') || <span className="muted">none</span>}
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          )}
        </Section>
        <Section title="Failures by reason (last hour)">
          {overview.failures.byReason.length === 0 ? (
            <p className="muted">No failures.</p>
          ) : (
            <table className="table" data-testid="failures">
              <thead>
                <tr>
                  <th>Queue</th>
                  <th>Reason</th>
                  <th className="num">Jobs</th>
                </tr>
              </thead>
              <tbody>
                {overview.failures.byReason.map((f, i) => (
                  <tr key={i}>
                    <td>{f.queue}</td>
                    <td>
                      <a href={`#/jobs?queue=${encodeURIComponent(f.queue)}&status=FAILED`}>
                        {f.reason ?? 'no reason given'}
                        {f.exitCode !== null && ` (exit code ${f.exitCode})`}
                      </a>
                    </td>
                    <td className="num">{f.count}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </Section>
      </div>
    </>
  );
}
