import { useEffect } from 'react';
import { jobUsage, openbatch, type AttemptUsage, type UsageAnswer } from '../api';
import { bytesText, mibText, vcpuText } from '../../../src/model/usage.js';
import { duration, time } from '../format';
import { ErrorNote, useLoad } from './common';

/** How often a running job's figures are read again: about as often as its agent samples them (server setting usageSampleSeconds). */
const RUNNING_REFRESH_MS = 5_000;

/**
 * Memory over time of one attempt, as its agent sampled it, against what it reserved (the
 * dashed line): a small line chart, drawn in SVG with no library.
 */
export function MemoryChart({ a, now }: { a: AttemptUsage; now: number }) {
  const W = 480;
  const H = 110;
  const PAD = 4;
  const points = a.memory;
  const limit = a.reserved.memoryMiB ?? 0;
  const top = Math.max(limit, a.peakMemoryMiB ?? 0, ...points.map((p) => p[1]), 1) * 1.05;
  const t0 = points[0][0];
  const t1 = Math.max(points[points.length - 1][0], a.status === 'RUNNING' ? now : 0, t0 + 1);
  const x = (t: number) => PAD + ((W - 2 * PAD) * (t - t0)) / (t1 - t0);
  const y = (mib: number) => H - PAD - ((H - 2 * PAD) * mib) / top;
  const last = points[points.length - 1][1];
  const label = `memory over ${duration(t1 - t0)}: ${mibText(last)} at the latest sample, peak ${mibText(a.peakMemoryMiB ?? last)}${limit ? ` of ${mibText(limit)} reserved` : ''}`;
  return (
    <figure className="memchart" data-testid="memory-chart">
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={label} preserveAspectRatio="none">
        {limit > 0 && <line className="limit" x1={PAD} x2={W - PAD} y1={y(limit)} y2={y(limit)} />}
        <polyline className="area" points={`${x(t0)},${y(0)} ${points.map(([t, m]) => `${x(t)},${y(m)}`).join(' ')} ${x(points[points.length - 1][0])},${y(0)}`} />
        <polyline className="line" points={points.map(([t, m]) => `${x(t)},${y(m)}`).join(' ')} />
      </svg>
      <figcaption className="axis">
        <span>{time(t0)}</span>
        <span>{label}</span>
        <span>{a.status === 'RUNNING' ? 'now' : time(t1)}</span>
      </figcaption>
    </figure>
  );
}

function figures(a: AttemptUsage): string {
  const parts: string[] = [];
  if (a.cpuSeconds !== undefined) parts.push(`CPU ${a.cpuSeconds.toFixed(a.cpuSeconds < 10 ? 2 : 0)} s${a.averageVcpus !== undefined ? ` (${a.averageVcpus.toFixed(2)}${a.reserved.vcpus !== null ? ` of ${vcpuText(a.reserved.vcpus)}` : ' vCPU'} on average)` : ''}`);
  if (a.currentMemoryMiB !== undefined) parts.push(`memory ${mibText(a.currentMemoryMiB)} now`);
  if (a.peakMemoryMiB !== undefined) parts.push(`peak ${mibText(a.peakMemoryMiB)}${a.reserved.memoryMiB !== null ? ` of ${mibText(a.reserved.memoryMiB)}` : ''}`);
  if (a.readBytes !== undefined && a.writeBytes !== undefined) parts.push(`read ${bytesText(a.readBytes)}, written ${bytesText(a.writeBytes)}`);
  return parts.join(' · ');
}

/**
 * What the job's attempts really used (CPU time, memory now and at its peak, I/O), with a
 * chart of memory over time for the latest attempt that was sampled while it ran, and the
 * right-sizing advice for its job definition (POST /openbatch/v1/usage).
 */
export function UsagePanel({ jobId, status, definition, now }: { jobId: string; status: string; definition: string; now: number }) {
  const running = status === 'RUNNING' || status === 'STARTING';
  const usage = useLoad(() => jobUsage(jobId), [jobId, status]);
  const advice = useLoad(() => openbatch<UsageAnswer>('usage', { jobDefinition: definition }).catch(() => undefined), [definition, status]);
  useEffect(() => {
    if (!running) return;
    const t = window.setInterval(usage.reload, RUNNING_REFRESH_MS);
    return () => clearInterval(t);
  }, [running, usage.reload]);
  const attempts = usage.data?.attempts ?? [];
  const charted = [...attempts].reverse().find((a) => a.memory.length >= 2);
  return (
    <>
      <ErrorNote error={usage.error} />
      {usage.data && attempts.length === 0 && (
        <p className="muted">{running ? 'Nothing measured yet: the first figures come with its agent’s first sample.' : 'Nothing was measured for this job.'}</p>
      )}
      {attempts.length > 0 && (
        <table className="table" data-testid="usage">
          <tbody>
            {attempts.map((a) => (
              <tr key={a.attempt}>
                <th>attempt {a.attempt}</th>
                <td>
                  {figures(a)} <span className="muted small">({a.source})</span>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {charted && <MemoryChart a={charted} now={now} />}
      {advice.data && (
        <p className="small" data-testid="advice">
          <span className={`pill advice-${advice.data.advice.code}`}>{advice.data.advice.code.replace(/_/g, ' ').toLowerCase()}</span> {advice.data.name}: {advice.data.advice.summary}
        </p>
      )}
    </>
  );
}
