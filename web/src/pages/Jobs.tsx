import { useEffect, useRef, useState } from 'react';
import { allQueues, dash, STATUSES } from '../api';
import { ErrorNote, Section, StateBadge, useLoad } from '../components/common';
import { duration, time, zone } from '../format';
import { useLiveReload } from '../live';
import { navigate, type Route } from '../route';

interface JobRow {
  jobId: string;
  jobName: string;
  jobQueue: string;
  status: string;
  statusReason: string | null;
  /** RUNNABLE: why it waits (NO_CAPACITY, NEVER_FITS…; docs/why-pending.md) */
  waitCode: string | null;
  createdAt: number;
  startedAt: number | null;
  stoppedAt: number | null;
  exitCode: number | null;
  attempts: number;
  array: { size: number; succeeded: number; failed: number } | null;
}

const WINDOWS: [string, string][] = [
  ['', 'any time'],
  ['900000', 'last 15 min'],
  ['3600000', 'last hour'],
  ['86400000', 'last 24 h'],
  ['604800000', 'last 7 days'],
];
const PAGE = 50;

/**
 * All jobs (array children are reached through their parent), newest first, filtered by
 * queue, states, name (prefix) and creation time. Pages continue from a cursor the server
 * gives (keyset paging), so the hundredth page costs what the first does.
 */
export function Jobs({ route }: { route: Route }) {
  const f = route.params;
  // The filters live here and are written to the URL, not read back from it: a click changes
  // them at once. Read from the URL, a checkbox waited for the hashchange that followed the
  // click — React put it back meanwhile (a click "did not take" under load), and a second
  // click before that event toggled the old set, losing the first. The URL still drives
  // them when it changes from outside (a link, back and forward).
  const urlFilters = { queue: f.queue, status: f.status, name: f.name, since: f.since };
  const urlKey = JSON.stringify(urlFilters);
  const [filters, setFilters] = useState(urlFilters);
  const current = useRef(filters);
  useEffect(() => {
    const fromUrl = JSON.parse(urlKey) as typeof urlFilters;
    if (JSON.stringify(current.current) === urlKey) return;
    current.current = fromUrl;
    setFilters(fromUrl);
  }, [urlKey]);
  const statuses = (filters.status ?? '').split(',').filter(Boolean);
  const [cursors, setCursors] = useState<string[]>([]); // cursors of the pages before this one
  const cursor = cursors[cursors.length - 1];
  const [name, setName] = useState(f.name ?? '');
  const nameBox = useRef<HTMLInputElement>(null);
  const filterKey = JSON.stringify([filters.queue, filters.status, filters.name, filters.since]);
  useEffect(() => setCursors([]), [filterKey]);
  useEffect(() => setName(filters.name ?? ''), [filters.name]);
  useEffect(() => {
    if (f.focus === 'name') nameBox.current?.focus();
  }, [f.focus]);

  const queues = useLoad(allQueues, []);
  const { data, error, reload } = useLoad(
    () =>
      dash<{ jobs: JobRow[]; next: string | null }>('jobs', {
        queue: filters.queue,
        status: filters.status,
        name: filters.name ? (filters.name.endsWith('*') ? filters.name : `${filters.name}*`) : undefined,
        from: filters.since ? Date.now() - Number(filters.since) : undefined,
        before: cursor,
        limit: PAGE,
      }),
    [filterKey, cursor],
  );
  // new jobs appear on the first page; later pages stay put while a person reads them
  useLiveReload(reload, (c) => !cursor && (!filters.queue || c.jobQueue === filters.queue));

  const set = (patch: Partial<typeof urlFilters>) => {
    const next = { ...current.current, ...patch };
    current.current = next;
    setFilters(next);
    navigate('jobs', next);
  };
  const toggle = (s: string) => {
    const now = (current.current.status ?? '').split(',').filter(Boolean);
    set({ status: (now.includes(s) ? now.filter((x) => x !== s) : [...now, s]).join(',') || undefined });
  };

  return (
    <Section title="Jobs">
      <form
        className="filters"
        onSubmit={(e) => {
          e.preventDefault();
          set({ name: name.trim() || undefined });
        }}
      >
        <label>
          Queue{' '}
          <select value={filters.queue ?? ''} onChange={(e) => set({ queue: e.target.value || undefined })} aria-label="queue">
            <option value="">all queues</option>
            {queues.data?.map((q) => (
              <option key={q.jobQueueName} value={q.jobQueueName}>
                {q.jobQueueName}
              </option>
            ))}
          </select>
        </label>
        <fieldset className="states">
          <legend>State</legend>
          {STATUSES.map((s) => (
            <label key={s} className={`toggle ${statuses.includes(s) ? 'on' : ''}`}>
              <input type="checkbox" checked={statuses.includes(s)} onChange={() => toggle(s)} aria-label={s} />
              <span className={`dot bg-${s}`} />
              {s.toLowerCase()}
            </label>
          ))}
        </fieldset>
        <label>
          Name{' '}
          <input ref={nameBox} type="search" value={name} placeholder="starts with…" onChange={(e) => setName(e.target.value)} aria-label="name" />
        </label>
        <label>
          Created{' '}
          <select value={filters.since ?? ''} onChange={(e) => set({ since: e.target.value || undefined })} aria-label="created">
            {WINDOWS.map(([v, label]) => (
              <option key={v} value={v}>
                {label}
              </option>
            ))}
          </select>
        </label>
        <button type="submit">Filter</button>
        {(filters.queue || filters.status || filters.name || filters.since) && (
          <button type="button" onClick={() => set({ queue: undefined, status: undefined, name: undefined, since: undefined })}>
            Clear
          </button>
        )}
      </form>
      <ErrorNote error={error} />
      <table className="table jobs" data-testid="jobs">
        <thead>
          <tr>
            <th>Name</th>
            <th>State</th>
            <th>Queue</th>
            <th>Created <span className="muted small">{zone()}</span></th>
            <th>Ran for</th>
            <th className="num">Exit</th>
            <th>Reason</th>
          </tr>
        </thead>
        <tbody>
          {data?.jobs.map((j) => (
            <tr key={j.jobId} data-job-id={j.jobId}>
              <td>
                <a href={`#/jobs/${j.jobId}`}>{j.jobName}</a>
                <div className="muted small mono">{j.jobId}</div>
              </td>
              <td>
                <StateBadge status={j.status} />
                {j.array && (
                  <div className="small muted">
                    array {j.array.succeeded + j.array.failed}/{j.array.size}
                    {j.array.failed > 0 && <span className="warn"> · {j.array.failed} failed</span>}
                  </div>
                )}
              </td>
              <td>{j.jobQueue}</td>
              <td>{time(j.createdAt, true)}</td>
              <td>{j.startedAt ? duration((j.stoppedAt ?? Date.now()) - j.startedAt) : '—'}</td>
              <td className="num">{j.exitCode ?? ''}</td>
              <td className="reason">
                {j.waitCode && (
                  <span className="pill code" title="why it waits: the job's page says more" data-testid="wait-code">
                    {j.waitCode}
                  </span>
                )}{' '}
                {j.statusReason ?? ''}
              </td>
            </tr>
          ))}
          {data && data.jobs.length < PAGE && (data.jobs.length === 0 || data.next) && (
            <tr>
              <td colSpan={7} className="muted">
                {data.next ? 'A name search reads a slice of the jobs at a time: Older → searches further back.' : data.jobs.length === 0 ? 'No jobs match.' : ''}
              </td>
            </tr>
          )}
        </tbody>
      </table>
      <nav className="pager" aria-label="pages">
        <button type="button" disabled={cursors.length === 0} onClick={() => setCursors(cursors.slice(0, -1))}>
          ← Newer
        </button>
        <span className="muted small">page {cursors.length + 1}</span>
        <button type="button" disabled={!data?.next} onClick={() => data?.next && setCursors([...cursors, data.next])}>
          Older →
        </button>
      </nav>
    </Section>
  );
}
