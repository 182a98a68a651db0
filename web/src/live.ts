/**
 * Live updates: one EventSource on the server's job state change stream for the whole app.
 * Pages say which changes concern them and reload what they show, at most once a second
 * (a 10,000-child array produces 10,000 changes; the page must not reload 10,000 times).
 */
import { useEffect, useRef, useState } from 'react';

export interface StateChange {
  jobId: string;
  jobName: string;
  jobQueue: string;
  status: string;
}

type Listener = (changes: StateChange[]) => void;
const listeners = new Set<Listener>();
const connectionListeners = new Set<(live: boolean) => void>();
let source: EventSource | null = null;
let live = false;
let pending: StateChange[] = [];
let flushTimer: number | undefined;

function setLive(v: boolean) {
  live = v;
  connectionListeners.forEach((l) => l(v));
}

function connect() {
  if (source) return;
  source = new EventSource('/openbatch/v1/events');
  source.onopen = () => setLive(true);
  source.onerror = () => setLive(false);
  source.addEventListener('Batch Job State Change', (e) => {
    const detail = (JSON.parse((e as MessageEvent<string>).data) as { detail: StateChange & { jobQueue: string } }).detail;
    pending.push({ jobId: detail.jobId, jobName: detail.jobName, jobQueue: detail.jobQueue.split('/').pop() ?? detail.jobQueue, status: detail.status });
    // changes arrive in bursts (a scheduler pass commits many): hand them on in one batch
    flushTimer ??= window.setTimeout(() => {
      flushTimer = undefined;
      const batch = pending;
      pending = [];
      listeners.forEach((l) => l(batch));
    }, 100);
  });
}

export function disconnect() {
  source?.close();
  source = null;
  setLive(false);
}

/** Whether the event stream is connected. */
export function useLive(): boolean {
  const [v, setV] = useState(live);
  useEffect(() => {
    connect();
    connectionListeners.add(setV);
    return () => void connectionListeners.delete(setV);
  }, []);
  return v;
}

/**
 * Calls `reload` when a change matches `concerns` (every change when omitted), no more than
 * once per `minIntervalMs`; the last change of a burst always triggers a reload.
 */
export function useLiveReload(reload: () => void, concerns?: (c: StateChange) => boolean, minIntervalMs = 1000): void {
  const r = useRef({ reload, concerns });
  r.current = { reload, concerns };
  useEffect(() => {
    connect();
    let last = 0;
    let timer: number | undefined;
    const l: Listener = (changes) => {
      if (r.current.concerns && !changes.some(r.current.concerns)) return;
      if (timer !== undefined) return;
      const wait = Math.max(0, last + minIntervalMs - Date.now());
      timer = window.setTimeout(() => {
        timer = undefined;
        last = Date.now();
        r.current.reload();
      }, wait);
    };
    listeners.add(l);
    return () => {
      listeners.delete(l);
      if (timer !== undefined) clearTimeout(timer);
    };
  }, []);
}
