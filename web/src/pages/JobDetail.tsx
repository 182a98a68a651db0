import { useEffect, useState } from 'react';
import { dash, describeJob, type KeyValue } from '../api';
import { ArrayGrid } from '../components/ArrayGrid';
import { CostSummary } from '../components/CostSummary';
import { DepGraph, type Graph } from '../components/DepGraph';
import { JobActions } from '../components/JobActions';
import { LogView } from '../components/LogView';
import { RerunFailed } from '../components/RerunFailed';
import { Timeline } from '../components/Timeline';
import { UsagePanel } from '../components/Usage';
import { WhyPanel } from '../components/WhyPanel';
import { ErrorNote, Progress, Section, StateBadge, useLoad } from '../components/common';
import { arnName, duration, time } from '../format';
import { useLiveReload } from '../live';

const FINAL = ['SUCCEEDED', 'FAILED'];
/** Environment values whose names say they are secret are shown masked. */
const SECRET_NAME = /secret|password|passwd|token|credential|private|api[_-]?key|access[_-]?key/i;

function Env({ vars }: { vars: KeyValue[] }) {
  const [shown, setShown] = useState<Set<string>>(new Set());
  return (
    <table className="table kv">
      <tbody>
        {vars.map((v) => {
          const secret = SECRET_NAME.test(v.name ?? '');
          return (
            <tr key={v.name}>
              <th className="mono">{v.name}</th>
              <td className="mono">
                {secret && !shown.has(v.name!) ? (
                  <>
                    <span className="muted">••••••••</span>{' '}
                    <button type="button" className="link" onClick={() => setShown(new Set([...shown, v.name!]))}>
                      show
                    </button>
                  </>
                ) : (
                  v.value
                )}
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

function KV({ rows }: { rows: [string, React.ReactNode][] }) {
  return (
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
  );
}

export function JobDetail({ jobId }: { jobId: string }) {
  const parentId = jobId.includes(':') ? jobId.slice(0, jobId.lastIndexOf(':')) : null;
  const { data: job, error, reload } = useLoad(() => describeJob(jobId).then((j) => j ?? null), [jobId]);
  const isArray = !!job?.arrayProperties?.size;
  const array = useLoad(async () => (isArray ? dash<{ size: number; states: string }>(`jobs/${encodeURIComponent(jobId)}/array`) : undefined), [jobId, isArray]);
  const graph = useLoad(() => dash<Graph>(`jobs/${encodeURIComponent(jobId)}/graph`).catch(() => undefined), [jobId, job?.status]);
  const waiting = !!job && ['SUBMITTED', 'PENDING', 'RUNNABLE', 'STARTING'].includes(job.status);
  useLiveReload(
    () => {
      reload();
      graph.reload();
      if (isArray) array.reload();
    },
    (c) => c.jobId === jobId || c.jobId.startsWith(jobId + ':') || (parentId !== null && c.jobId === parentId) || graph.data?.nodes.some((n) => n.id === c.jobId) === true,
  );
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    if (!job || FINAL.includes(job.status)) return;
    const t = window.setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, [job?.status]);

  const attempts = job?.attempts ?? [];
  const running = job && (job.status === 'RUNNING' || job.status === 'STARTING');
  const streams: { label: string; stream: string; live: boolean }[] = attempts
    .map((a, i) => ({ label: `attempt ${i + 1}`, stream: a.container?.logStreamName ?? '', live: false }))
    .filter((s) => s.stream);
  if (running && job?.container?.logStreamName && !streams.some((s) => s.stream === job.container!.logStreamName)) {
    streams.push({ label: `attempt ${attempts.length + 1} (running)`, stream: job.container.logStreamName, live: true });
  }
  const [chosen, setChosen] = useState<string>();
  useEffect(() => setChosen(undefined), [jobId]);
  const selected = streams.find((s) => s.stream === chosen) ?? streams[streams.length - 1];

  if (job === undefined) return error ? <ErrorNote error={error} /> : <p className="muted">Loading…</p>;
  if (job === null)
    return (
      <Section title={`Job ${jobId}`}>
        {parentId ? (
          <p>
            This child has not been created yet: it waits with its <a href={`#/jobs/${parentId}`}>array job</a>, in the state its cell shows.
          </p>
        ) : (
          <p className="error">No job with id {jobId}.</p>
        )}
      </Section>
    );
  const res = job.container?.resourceRequirements ?? [];
  const resOf = (t: string) => res.find((r) => r.type === t)?.value;
  const group = job.container?.logConfiguration?.options?.['awslogs-group'] ?? '/aws/batch/job';
  const summary = job.arrayProperties?.statusSummary ?? {};
  const size = job.arrayProperties?.size ?? 0;
  const upstream = (graph.data?.edges ?? []).filter((e) => e.to === jobId).map((e) => e.from);
  const downstream = (graph.data?.edges ?? []).filter((e) => e.from === jobId).map((e) => e.to);
  const nameOf = (id: string) => graph.data?.nodes.find((n) => n.id === id);

  return (
    <>
      <section className="card head">
        <div className="title">
          <h1 data-testid="job-name">{job.jobName}</h1>
          <StateBadge status={job.status} />
          {job.isCancelled && <span className="pill">cancelled</span>}
          {job.isTerminated && <span className="pill">terminated</span>}
        </div>
        {job.statusReason && (
          <p className="reason" data-testid="status-reason">
            {job.statusReason}
          </p>
        )}
        {waiting && <WhyPanel jobId={job.jobId} status={job.status} />}
        <p className="muted small mono">
          {job.jobId} · queue <a href={`#/jobs?queue=${encodeURIComponent(arnName(job.jobQueue))}`}>{arnName(job.jobQueue)}</a> · {arnName(job.jobDefinition)}
          {parentId && (
            <>
              {' '}
              · child {job.arrayProperties?.index} of <a href={`#/jobs/${parentId}`}>{parentId}</a>
            </>
          )}
        </p>
        <Timeline job={job} now={job.stoppedAt ? job.stoppedAt : now} />
        {!parentId && (isArray || job.tags?.['openbatch:rerun-of']) && <RerunFailed job={job} failed={summary.FAILED ?? 0} />}
        <JobActions job={job} onDone={reload} />
      </section>

      {isArray && (
        <Section
          title="Array children"
          right={
            <span className="small" data-testid="array-progress">
              {(summary.SUCCEEDED ?? 0) + (summary.FAILED ?? 0)} of {size} finished · {summary.SUCCEEDED ?? 0} succeeded · {summary.FAILED ?? 0} failed · {summary.RUNNING ?? 0} running
            </span>
          }
        >
          <Progress summary={summary} size={size} />
          {array.data && <ArrayGrid parentId={job.jobId} states={array.data.states} />}
          <h3>Cost</h3>
          <CostSummary jobId={job.jobId} status={job.status} isArray />
        </Section>
      )}

      <div className="cols">
        <Section title="Attempts">
          {attempts.length === 0 && !running ? (
            <p className="muted">{isArray ? 'An array job runs as its children.' : 'No attempt yet.'}</p>
          ) : (
            <table className="table" data-testid="attempts">
              <thead>
                <tr>
                  <th>#</th>
                  <th>Started</th>
                  <th>Duration</th>
                  <th className="num">Exit</th>
                  <th>Reason</th>
                </tr>
              </thead>
              <tbody>
                {attempts.map((a, i) => (
                  <tr key={i}>
                    <td>{i + 1}</td>
                    <td>{time(a.startedAt)}</td>
                    <td>{a.startedAt && a.stoppedAt ? duration(a.stoppedAt - a.startedAt) : '—'}</td>
                    <td className={`num ${a.container?.exitCode ? 'warn' : ''}`}>{a.container?.exitCode ?? '—'}</td>
                    <td className="reason">{[a.statusReason, a.container?.reason].filter(Boolean).join(' · ')}</td>
                  </tr>
                ))}
                {running && (
                  <tr>
                    <td>{attempts.length + 1}</td>
                    <td>{time(job.startedAt)}</td>
                    <td>{job.startedAt ? duration(now - job.startedAt) : '—'}</td>
                    <td className="num">—</td>
                    <td>
                      <StateBadge status={job.status} />
                    </td>
                  </tr>
                )}
              </tbody>
            </table>
          )}
        </Section>
        <Section title="Resources">
          <KV
            rows={[
              ['vCPUs', resOf('VCPU') ?? job.container?.vcpus ?? '—'],
              ['Memory', `${resOf('MEMORY') ?? job.container?.memory ?? '—'} MiB`],
              ...(resOf('GPU') ? ([['GPUs', resOf('GPU')]] as [string, string][]) : []),
              ['Image', <span className="mono">{job.container?.image}</span>],
              ['Command', <span className="mono">{(job.container?.command ?? []).join(' ')}</span>],
              ['Attempts allowed', job.retryStrategy?.attempts ?? 1],
              ['Timeout', job.timeout?.attemptDurationSeconds ? duration(job.timeout.attemptDurationSeconds * 1000) : 'none'],
              ['Created', time(job.createdAt)],
              ['Stopped', time(job.stoppedAt)],
            ]}
          />
          {!isArray && (
            <>
              <h3>Cost</h3>
              <CostSummary jobId={job.jobId} status={job.status} isArray={false} />
            </>
          )}
        </Section>
      </div>

      {!isArray && (attempts.length > 0 || running) && (
        <Section title="What it used">
          <UsagePanel jobId={job.jobId} status={job.status} definition={arnName(job.jobDefinition).replace(/:\d+$/, '')} now={now} />
        </Section>
      )}

      {streams.length > 0 && selected && (
        <Section
          title="Log"
          right={
            streams.length > 1 ? (
              <label className="small">
                Attempt{' '}
                <select value={selected.stream} onChange={(e) => setChosen(e.target.value)} aria-label="attempt log">
                  {streams.map((s) => (
                    <option key={s.stream} value={s.stream}>
                      {s.label}
                    </option>
                  ))}
                </select>
              </label>
            ) : undefined
          }
        >
          <LogView group={group} stream={selected.stream} follow={selected.live || (selected === streams[streams.length - 1] && !!running)} />
        </Section>
      )}

      <div className="cols">
        <Section title="Parameters and environment">
          {job.parameters && Object.keys(job.parameters).length > 0 && <KV rows={Object.entries(job.parameters).map(([k, v]) => [k, <span className="mono">{v}</span>])} />}
          {(job.container?.environment?.length ?? 0) > 0 ? <Env vars={job.container!.environment!} /> : <p className="muted">No environment variables set.</p>}
          {(job.container?.secrets?.length ?? 0) > 0 && (
            <KV rows={job.container!.secrets!.map((s) => [s.name ?? '', <span className="muted">secret from {s.valueFrom} (value not shown)</span>])} />
          )}
        </Section>
        <Section title="Dependencies">
          <KV
            rows={[
              [
                'Waits on',
                upstream.length || job.dependsOn?.length ? (
                  <ul className="plain">
                    {(job.dependsOn ?? []).map((d) => (
                      <li key={d.jobId}>
                        <a href={`#/jobs/${d.jobId}`}>{nameOf(d.jobId ?? '')?.name ?? d.jobId}</a> {nameOf(d.jobId ?? '') && <StateBadge status={nameOf(d.jobId!)!.status} />}
                        {d.type && <span className="muted small"> {d.type}</span>}
                      </li>
                    ))}
                  </ul>
                ) : (
                  <span className="muted">nothing</span>
                ),
              ],
              [
                'Needed by',
                downstream.length ? (
                  <ul className="plain">
                    {downstream.map((id) => (
                      <li key={id}>
                        <a href={`#/jobs/${id}`}>{nameOf(id)?.name ?? id}</a> {nameOf(id) && <StateBadge status={nameOf(id)!.status} />}
                      </li>
                    ))}
                  </ul>
                ) : (
                  <span className="muted">no job</span>
                ),
              ],
            ]}
          />
          {graph.data && graph.data.nodes.length > 1 && <DepGraph graph={graph.data} current={jobId} />}
        </Section>
      </div>
    </>
  );
}
