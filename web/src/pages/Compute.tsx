import { useState } from 'react';
import { allComputeEnvironments, allQueues, batchWrite, dash } from '../api';
import { Confirm } from '../components/Confirm';
import { ErrorNote, Section, useLoad } from '../components/common';
import { duration, time, zone } from '../format';
import { useLiveReload } from '../live';
import type { Route } from '../route';
import { REASONS } from '../../../src/model/reasons.js';

interface Instance {
  instanceId: string;
  computeEnvironment: string;
  instanceType: string;
  state: string;
  provider: string;
  host: string | null;
  /** slow-start chaos delayed its boot by this much (docs/compute.md) */
  slowStartMs: number | null;
  /** why it stays pending: its jobs need the sandbox, which its host cannot give */
  stateReason: string | null;
  vcpus: number;
  memoryMiB: number;
  gpus: number;
  used: { vcpus: number; memoryMiB: number; gpus: number; jobs: number };
  launchedAt: number;
  lastHeartbeatAt: number;
  terminatedAt: number | null;
  terminationReason: string | null;
}

/** A CE's launches and terminations of the last hour (GET /openbatch/v1/dashboard/instances). */
interface LastHour {
  computeEnvironment: string;
  launched: number;
  terminated: number;
  byReason: { reason: string; count: number }[];
}


function Use({ used, total, unit }: { used: number; total: number; unit: string }) {
  const pct = total > 0 ? Math.min(100, (100 * used) / total) : 0;
  return (
    <span className="use" title={`${used} of ${total} ${unit}`}>
      <span className="meter small">
        <span className="used" style={{ width: `${pct}%` }} />
      </span>
      <span className="small">
        {used}/{total} {unit}
      </span>
    </span>
  );
}

/**
 * Enable or disable a job queue or compute environment (UpdateJobQueue / UpdateComputeEnvironment
 * `state`), confirmed and behind the session's write grant. A disabled queue takes no new
 * jobs and places none; a disabled CE gets no new work; what runs goes on in both.
 */
function StateToggle({ kind, name, state, onDone }: { kind: 'queue' | 'ce'; name: string; state: string; onDone: () => void }) {
  const enable = state !== 'ENABLED';
  const what = kind === 'queue' ? 'job queue' : 'compute environment';
  const consequence =
    kind === 'queue'
      ? enable
        ? 'It takes new jobs again and places its waiting ones.'
        : 'SubmitJob to it is refused and its waiting jobs stay waiting; running jobs go on.'
      : enable
        ? 'Its queues place work on it again.'
        : 'Its queues place no new work on it; running jobs go on, and idle instances scale down.';
  return (
    <Confirm
      label={enable ? 'Enable' : 'Disable'}
      danger={!enable}
      testId={`${enable ? 'enable' : 'disable'}-${kind}-${name}`}
      question={
        <p>
          {enable ? 'Enable' : 'Disable'} {what} <b>{name}</b>? {consequence}
        </p>
      }
      act={async () => {
        const next = enable ? 'ENABLED' : 'DISABLED';
        if (kind === 'queue') await batchWrite('UpdateJobQueue', { jobQueue: name, state: next });
        else await batchWrite('UpdateComputeEnvironment', { computeEnvironment: name, state: next });
        onDone();
      }}
    />
  );
}

/** Job queues and instances per compute environment: what each holds, how busy it is, and why each one ended. */
export function Compute({ route }: { route: Route }) {
  const [showEnded, setShowEnded] = useState(true);
  const { data, error, reload } = useLoad(async () => {
    const [ces, queues, inst] = await Promise.all([allComputeEnvironments(), allQueues(), dash<{ instances: Instance[]; lastHour: LastHour[] }>('instances', { ce: route.params.ce, limit: 500 })]);
    return { ces, queues, instances: inst.instances, lastHour: inst.lastHour };
  }, [route.params.ce]);
  useLiveReload(reload, undefined, 3000);
  if (!data) return error ? <ErrorNote error={error} /> : <p className="muted">Loading…</p>;
  const ces = data.ces.filter((c) => !route.params.ce || c.computeEnvironmentName === route.params.ce);
  return (
    <>
      <ErrorNote error={error} />
      <p>
        <label>
          <input type="checkbox" checked={showEnded} onChange={(e) => setShowEnded(e.target.checked)} /> show instances that ended
        </label>
        {route.params.ce && (
          <>
            {' '}
            · <a href="#/compute">all compute environments</a>
          </>
        )}
      </p>
      {!route.params.ce && (
        <Section title="Job queues">
          <table className="table" data-testid="queue-states">
            <thead>
              <tr>
                <th>Queue</th>
                <th>State</th>
                <th className="num">Priority</th>
                <th>Compute environments</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {data.queues.map((q) => (
                <tr key={q.jobQueueName} data-queue={q.jobQueueName}>
                  <td>
                    <a href={`#/jobs?queue=${encodeURIComponent(q.jobQueueName)}`}>{q.jobQueueName}</a>
                  </td>
                  <td>
                    <span className={`pill ${q.state === 'ENABLED' ? '' : 'warn'}`}>{q.state.toLowerCase()}</span>
                  </td>
                  <td className="num">{q.priority}</td>
                  <td>
                    {[...q.computeEnvironmentOrder]
                      .sort((a, b) => a.order - b.order)
                      .map((o) => o.computeEnvironment.slice(o.computeEnvironment.lastIndexOf('/') + 1))
                      .join(', ')}
                  </td>
                  <td>
                    <StateToggle kind="queue" name={q.jobQueueName} state={q.state} onDone={reload} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </Section>
      )}
      {ces.map((ce) => {
        const mine = data.instances.filter((i) => i.computeEnvironment === ce.computeEnvironmentName && (showEnded || i.state !== 'TERMINATED'));
        const cr = ce.computeResources;
        const hour = data.lastHour.find((h) => h.computeEnvironment === ce.computeEnvironmentName);
        return (
          <Section
            key={ce.computeEnvironmentName}
            title={ce.computeEnvironmentName}
            right={
              <span className="small muted">
                {cr?.type ?? ce.type} · {ce.state} · {ce.status} {cr ? `· vCPUs min ${cr.minvCpus ?? 0}, desired ${cr.desiredvCpus ?? 0}, max ${cr.maxvCpus ?? 0}` : ''}
              </span>
            }
          >
            {ce.statusReason && (ce.status !== 'VALID' || ce.statusReason !== REASONS.healthy) && (
              <p className="warn" data-testid={`ce-status-${ce.computeEnvironmentName}`}>
                {ce.statusReason}
              </p>
            )}
            <p className="small muted" data-testid={`ce-rates-${ce.computeEnvironmentName}`}>
              last hour: {hour?.launched ?? 0} launched, {hour?.terminated ?? 0} terminated
              {hour?.byReason.length ? ` (${hour.byReason.map((r) => `${r.count} ${r.reason}`).join(', ')})` : ''}
            </p>
            <div className="actions">
              <StateToggle kind="ce" name={ce.computeEnvironmentName} state={ce.state} onDone={reload} />
            </div>
            {mine.length === 0 ? (
              <p className="muted">No instances{showEnded ? '' : ' running'}.</p>
            ) : (
              <table className="table" data-testid={`instances-${ce.computeEnvironmentName}`}>
                <thead>
                  <tr>
                    <th>Instance</th>
                    <th>Type</th>
                    <th>State</th>
                    <th>vCPUs</th>
                    <th>Memory</th>
                    <th className="num">Jobs</th>
                    <th>Launched <span className="muted small">{zone()}</span></th>
                    <th>Lived</th>
                    <th>Why it ended, or waits</th>
                  </tr>
                </thead>
                <tbody>
                  {mine.map((i) => (
                    <tr key={i.instanceId} className={i.state === 'TERMINATED' ? 'ended' : ''}>
                      <td className="mono">
                        {i.instanceId}
                        <div className="muted small">{i.host ?? i.provider}</div>
                      </td>
                      <td>{i.instanceType}</td>
                      <td>
                        <span className={`pill i-${i.state}`}>{i.state.toLowerCase()}</span>
                        {i.state === 'PENDING' && i.slowStartMs ? (
                          <div className="muted small" title="slow-start chaos: this instance boots late">
                            slow start ({duration(i.slowStartMs)})
                          </div>
                        ) : null}
                      </td>
                      <td>{i.state === 'TERMINATED' ? i.vcpus : <Use used={i.used.vcpus} total={i.vcpus} unit="vCPU" />}</td>
                      <td>{i.state === 'TERMINATED' ? `${i.memoryMiB} MiB` : <Use used={i.used.memoryMiB} total={i.memoryMiB} unit="MiB" />}</td>
                      <td className="num">{i.used.jobs || ''}</td>
                      <td>{time(i.launchedAt, true)}</td>
                      <td>{duration((i.terminatedAt ?? Date.now()) - i.launchedAt)}</td>
                      <td className="reason">{i.terminationReason ?? i.stateReason ?? (i.state === 'TERMINATED' ? 'no reason recorded' : '')}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </Section>
        );
      })}
    </>
  );
}
