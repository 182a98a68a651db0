import type { JobDetail } from '../api';
import { duration, time } from '../format';

export interface Span {
  label: string;
  start: number;
  end: number;
  kind: string;
}

/** The job's life on one axis: waiting, then each attempt (coloured by how it ended), then any running attempt. */
export function spansOf(job: JobDetail, now: number): Span[] {
  const spans: Span[] = [];
  const attempts = job.attempts ?? [];
  const firstStart = attempts[0]?.startedAt ?? job.startedAt;
  spans.push({ label: 'waiting', start: job.createdAt, end: firstStart ?? (job.stoppedAt ?? now), kind: 'wait' });
  attempts.forEach((a, i) => {
    if (!a.startedAt) return;
    const exit = a.container?.exitCode;
    spans.push({
      label: `attempt ${i + 1}${exit !== undefined ? ` · exit ${exit}` : ''}${a.statusReason ? ` · ${a.statusReason}` : ''}`,
      start: a.startedAt,
      end: a.stoppedAt ?? now,
      kind: exit === 0 ? 'SUCCEEDED' : 'FAILED',
    });
  });
  if (job.arrayProperties?.size && job.startedAt) {
    // an array job runs as its children: from the first child's start to the last one's end
    spans[0].end = job.startedAt;
    spans.push({ label: 'children running', start: job.startedAt, end: job.stoppedAt ?? now, kind: job.stoppedAt ? job.status : 'RUNNING' });
    return spans;
  }
  const lastEnd = attempts.length ? attempts[attempts.length - 1].stoppedAt ?? 0 : 0;
  if ((job.status === 'RUNNING' || job.status === 'STARTING') && job.startedAt && job.startedAt >= lastEnd) {
    spans.push({ label: `attempt ${attempts.length + 1} · ${job.status.toLowerCase()}`, start: job.startedAt, end: now, kind: 'RUNNING' });
  }
  return spans;
}

export function Timeline({ job, now }: { job: JobDetail; now: number }) {
  const spans = spansOf(job, now);
  const start = job.createdAt;
  const end = Math.max(job.stoppedAt ?? now, ...spans.map((s) => s.end));
  const total = Math.max(1, end - start);
  return (
    <div className="timeline" aria-label="timeline">
      <div className="track">
        {spans.map((s, i) => (
          <span
            key={i}
            className={`span k-${s.kind}`}
            style={{ left: `${(100 * (s.start - start)) / total}%`, width: `max(2px, ${(100 * (s.end - s.start)) / total}%)` }}
            title={`${s.label}: ${duration(s.end - s.start)} (${time(s.start)} → ${time(s.end)})`}
          />
        ))}
      </div>
      <div className="axis">
        <span>{time(start)}</span>
        <span>{duration(total)}</span>
        <span>{job.stoppedAt ? time(end) : 'now'}</span>
      </div>
    </div>
  );
}
