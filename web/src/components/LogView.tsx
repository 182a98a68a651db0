import { useEffect, useRef, useState } from 'react';
import { ApiError, logs } from '../api';
import { time } from '../format';

interface LogEvent {
  timestamp: number;
  message: string;
}

/**
 * One attempt's log through CloudWatch Logs' GetLogEvents, from the start. While `follow`,
 * it asks for what follows every second and a half (the forward token), and keeps the view
 * at the bottom unless the reader scrolled up.
 */
export function LogView({ group, stream, follow }: { group: string; stream: string; follow: boolean }) {
  const [events, setEvents] = useState<LogEvent[]>([]);
  const [error, setError] = useState<string>();
  const box = useRef<HTMLPreElement>(null);
  const stick = useRef(true);
  const followRef = useRef(follow);
  followRef.current = follow;

  useEffect(() => {
    let stopped = false;
    let token: string | undefined;
    let timer: number | undefined;
    setEvents([]);
    setError(undefined);
    const poll = async () => {
      try {
        // pages until the stream has nothing more, then waits for more while following
        for (;;) {
          const r = await logs<{ events: LogEvent[]; nextForwardToken: string }>('GetLogEvents', {
            logGroupName: group,
            logStreamName: stream,
            startFromHead: true,
            limit: 1000,
            ...(token ? { nextToken: token } : {}),
          });
          if (stopped) return;
          const same = r.nextForwardToken === token;
          token = r.nextForwardToken;
          if (r.events.length) setEvents((prev) => [...prev, ...r.events]);
          if (same || r.events.length === 0) break;
        }
      } catch (e) {
        if (stopped) return;
        setError(e instanceof ApiError && e.code === 'ResourceNotFoundException' ? 'No output yet.' : (e as Error).message);
      }
      // one more read after the attempt ended picks up its last lines
      if (!stopped && followRef.current) timer = window.setTimeout(poll, 1500);
    };
    void poll();
    return () => {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
    };
  }, [group, stream, follow]);

  useEffect(() => {
    const el = box.current;
    if (el && stick.current) el.scrollTop = el.scrollHeight;
  }, [events]);

  return (
    <div>
      <pre
        className="log"
        ref={box}
        tabIndex={0}
        aria-label={`log ${stream}`}
        data-testid="log"
        onScroll={(e) => {
          const el = e.currentTarget;
          stick.current = el.scrollTop + el.clientHeight >= el.scrollHeight - 8;
        }}
      >
        {events.map((e, i) => (
          <div key={i} className="line">
            <span className="ts">{time(e.timestamp)}</span>
            {e.message}
          </div>
        ))}
        {events.length === 0 && !error && <span className="muted">{follow ? 'Waiting for output…' : 'No output.'}</span>}
        {error && <span className="muted">{error}</span>}
      </pre>
      <p className="muted small">
        {group} · {stream} {follow && <span className="pill live">following</span>}
      </p>
    </div>
  );
}
