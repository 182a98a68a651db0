/**
 * Routing by URL fragment: #/ (overview), #/jobs?queue=…, #/jobs/<id>, #/compute, #/cost?by=…,
 * #/submit?definition=…. Every page
 * loads from `/`, so the server needs no fallback route, and links are plain hrefs that
 * open in a new tab and work with the keyboard.
 */
import { useEffect, useState } from 'react';

export interface Route {
  page: 'overview' | 'jobs' | 'job' | 'compute' | 'cost' | 'submit';
  jobId?: string;
  params: Record<string, string>;
}

export function parse(hash: string): Route {
  const [path, query = ''] = hash.replace(/^#/, '').split('?');
  const params = Object.fromEntries(new URLSearchParams(query));
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  if (parts[0] === 'jobs' && parts[1]) return { page: 'job', jobId: parts.slice(1).join('/'), params };
  if (parts[0] === 'jobs') return { page: 'jobs', params };
  if (parts[0] === 'compute') return { page: 'compute', params };
  if (parts[0] === 'cost') return { page: 'cost', params };
  if (parts[0] === 'submit') return { page: 'submit', params };
  return { page: 'overview', params };
}

export function navigate(path: string, params: Record<string, string | undefined> = {}): void {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v) q.set(k, v);
  const qs = q.toString();
  location.hash = `#/${path}${qs ? `?${qs}` : ''}`;
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parse(location.hash));
  useEffect(() => {
    const on = () => setRoute(parse(location.hash));
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return route;
}
