import { useEffect, useRef } from 'react';
import { openbatch, type WhyReport } from '../api';
import { ago, duration, time } from '../format';
import { useLiveReload } from '../live';
import { ErrorNote, useLoad } from './common';

/** Codes that say the job can never start as it is: shown as a problem, not as a wait. */
const STUCK = new Set(['NEVER_FITS', 'NO_ENABLED_CE']);
/**
 * While a job waits, jobs ahead of it start and end without a change of its own: ask again
 * every 5 s, or less often when the answer is slow to make (far back in a queue of a million
 * jobs, counting the jobs ahead takes a while): the page keeps the server under 5% busy with it.
 */
const REFRESH_MS = 5000;
const MAX_SHARE = 0.05;

/**
 * Why a job is not running (POST /openbatch/v1/why): its reason code and the sentence that
 * goes with it, its place in the queue and, where one applies, when it should start.
 */
export function WhyPanel({ jobId, status }: { jobId: string; status: string }) {
  const took = useRef(0);
  const { data: why, error, reload } = useLoad(async () => {
    const t0 = performance.now();
    const r = await openbatch<WhyReport>('why', { jobId });
    took.current = performance.now() - t0;
    return r;
  }, [jobId, status]);
  useLiveReload(reload, (c) => c.jobId === jobId || why?.dependencies?.some((d) => d.jobId === c.jobId) === true);
  useEffect(() => {
    let timer: number;
    const next = () => {
      timer = window.setTimeout(() => {
        reload();
        next();
      }, Math.max(REFRESH_MS, took.current / MAX_SHARE));
    };
    next();
    return () => clearTimeout(timer);
  }, [reload]);
  if (!why) return <ErrorNote error={error} />;
  if (['RUNNING', 'SUCCEEDED', 'FAILED'].includes(why.code)) return null;
  const rows: [string, React.ReactNode][] = [];
  if (why.position !== undefined) {
    rows.push([
      'Position',
      <span data-testid="why-position">
        {why.position} in queue <a href={`#/jobs?queue=${encodeURIComponent(why.queue)}&status=RUNNABLE`}>{why.queue}</a>
        <span className="muted"> ({why.jobsAhead === 1 ? '1 job' : `${why.jobsAhead ?? 0} jobs`} ahead)</span>
      </span>,
    ]);
  }
  if (why.eta) {
    rows.push([
      'Estimated start',
      <span data-testid="why-eta">
        {why.eta.at > Date.now() ? `in about ${duration(why.eta.at - Date.now())}` : 'any moment now'} <span className="muted">(at {time(why.eta.at)})</span>
        <div className="muted small">{why.eta.detail} — advice, not a promise</div>
      </span>,
    ]);
  } else if (why.noEta) {
    rows.push(['Estimated start', <span data-testid="why-eta" className="muted">{why.noEta}</span>]);
  }
  if (why.hint) rows.push(['What to do', <span data-testid="why-hint">{why.hint}</span>]);
  if (why.dependencies?.length) {
    rows.push([
      'Waits on',
      <ul className="plain">
        {why.dependencies.map((d) => (
          <li key={d.jobId}>
            <a href={`#/jobs/${d.jobId}`}>{d.jobId}</a> <span className="muted small">{d.status ?? 'gone'}</span>
          </li>
        ))}
      </ul>,
    ]);
  }
  if (why.consumables?.length) {
    rows.push(['Consumables', why.consumables.map((c) => `${c.name}: needs ${c.needed}, ${c.available} free`).join(' · ')]);
  }
  if (why.need) rows.push(['Needs', `${why.need.vcpus} vCPU, ${why.need.memoryMiB} MiB${why.need.gpus ? `, ${why.need.gpus} GPU` : ''}${why.need.nodes ? ` on ${why.need.nodes} nodes` : ''}`]);
  return (
    <div className={`why ${STUCK.has(why.code) ? 'stuck' : ''}`} data-testid="why">
      <p>
        <span className="pill code" data-testid="why-code" title="the reason code (docs/why-pending.md)">
          {why.code}
        </span>{' '}
        <span data-testid="why-summary">{why.summary}</span>
        {why.since && <span className="muted small"> · since {ago(why.since)}</span>}
      </p>
      {rows.length > 0 && (
        <table className="table kv">
          <tbody>
            {rows.map(([k, v]) => (
              <tr key={k}>
                <th>{k}</th>
                <td>{v}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
