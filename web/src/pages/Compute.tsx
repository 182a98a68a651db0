import { useState } from 'react';
import { allComputeEnvironments, dash } from '../api';
import { ErrorNote, Section, useLoad } from '../components/common';
import { duration, time, zone } from '../format';
import { useLiveReload } from '../live';
import type { Route } from '../route';

interface Instance {
  instanceId: string;
  computeEnvironment: string;
  instanceType: string;
  state: string;
  provider: string;
  host: string | null;
  /** slow-start chaos delayed its boot by this much (docs/compute.md) */
  slowStartMs: number | null;
  vcpus: number;
  memoryMiB: number;
  gpus: number;
  used: { vcpus: number; memoryMiB: number; gpus: number; jobs: number };
  launchedAt: number;
  lastHeartbeatAt: number;
  terminatedAt: number | null;
  terminationReason: string | null;
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

/** Instances per compute environment: what each holds, how busy it is, and why each one ended. */
export function Compute({ route }: { route: Route }) {
  const [showEnded, setShowEnded] = useState(true);
  const { data, error, reload } = useLoad(async () => {
    const [ces, inst] = await Promise.all([allComputeEnvironments(), dash<{ instances: Instance[] }>('instances', { ce: route.params.ce, limit: 500 })]);
    return { ces, instances: inst.instances };
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
      {ces.map((ce) => {
        const mine = data.instances.filter((i) => i.computeEnvironment === ce.computeEnvironmentName && (showEnded || i.state !== 'TERMINATED'));
        const cr = ce.computeResources;
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
            {ce.statusReason && ce.status !== 'VALID' && <p className="warn">{ce.statusReason}</p>}
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
                    <th>Why it ended</th>
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
                      <td className="reason">{i.terminationReason ?? (i.state === 'TERMINATED' ? 'no reason recorded' : '')}</td>
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
