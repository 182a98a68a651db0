import { useCallback, useEffect, useRef, useState, type ReactNode } from 'react';
import { STATUSES } from '../api';

/** Job states in their order, each with a colour and a label that carries the meaning without the colour. */
export function StateBadge({ status }: { status: string }) {
  return <span className={`badge s-${status}`}>{status}</span>;
}

/** A small stacked bar of counts by state, in state order, with a text title. */
export function StateBar({ counts, width = 160 }: { counts: Record<string, number>; width?: number }) {
  const total = STATUSES.reduce((n, s) => n + (counts[s] ?? 0), 0);
  const title = STATUSES.filter((s) => counts[s]).map((s) => `${s} ${counts[s]}`).join(', ') || 'no jobs';
  return (
    <span className="statebar" style={{ width }} title={title} role="img" aria-label={title}>
      {total > 0 && STATUSES.map((s) => (counts[s] ? <span key={s} className={`bg-${s}`} style={{ width: `${(100 * counts[s]) / total}%` }} /> : null))}
    </span>
  );
}

/** A progress bar: finished work (succeeded, failed) and work under way, over the total. */
export function Progress({ summary, size }: { summary: Record<string, number>; size: number }) {
  const done = (summary.SUCCEEDED ?? 0) + (summary.FAILED ?? 0);
  return (
    <div className="progress" role="progressbar" aria-valuemin={0} aria-valuemax={size} aria-valuenow={done} aria-label="children finished">
      {(['SUCCEEDED', 'FAILED', 'RUNNING', 'STARTING'] as const).map((s) =>
        summary[s] ? <span key={s} className={`bg-${s}`} style={{ width: `${(100 * summary[s]) / Math.max(1, size)}%` }} /> : null,
      )}
    </div>
  );
}

export function Section({ title, children, right }: { title: string; children: ReactNode; right?: ReactNode }) {
  return (
    <section className="card">
      <header>
        <h2>{title}</h2>
        {right}
      </header>
      {children}
    </section>
  );
}

export function ErrorNote({ error }: { error: unknown }) {
  if (!error) return null;
  return <p className="error" role="alert">{error instanceof Error ? error.message : String(error)}</p>;
}

/**
 * Loads data with `load`, again whenever `deps` change or `reload()` is called. Answers that
 * arrive after a newer request started are dropped, so a slow old page never replaces a new one.
 */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): { data: T | undefined; error: unknown; reload: () => void } {
  const [data, setData] = useState<T>();
  const [error, setError] = useState<unknown>();
  const seq = useRef(0);
  const loadRef = useRef(load);
  loadRef.current = load;
  const reload = useCallback(() => {
    const mine = ++seq.current;
    loadRef.current().then(
      (d) => {
        if (mine !== seq.current) return;
        setData(d);
        setError(undefined);
      },
      (e: unknown) => mine === seq.current && setError(e),
    );
  }, []);
  // eslint-disable-next-line react-hooks/exhaustive-deps
  useEffect(reload, deps);
  return { data, error, reload };
}
