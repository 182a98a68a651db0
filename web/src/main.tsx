/**
 * The openbatch dashboard: overview, jobs, job detail, compute, cost. When the server has
 * credentials configured nothing is shown until the person signs in with an access key
 * (docs/design/dashboard.md); with none configured (loopback only) it opens directly.
 */
import { StrictMode, useEffect, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { ApiError, getSession, onSignedOut, signIn, signOut, type Session } from './api';
import { disconnect, useLive } from './live';
import { Compute } from './pages/Compute';
import { Cost } from './pages/Cost';
import { JobDetail } from './pages/JobDetail';
import { Jobs } from './pages/Jobs';
import { Overview } from './pages/Overview';
import { Submit } from './pages/Submit';
import { navigate, useRoute } from './route';
import { SessionContext } from './session';
import './style.css';

function Login({ onDone }: { onDone: (s: Session) => void }) {
  const [key, setKey] = useState('');
  const [secret, setSecret] = useState('');
  const [writes, setWrites] = useState(false);
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  return (
    <main className="login">
      <form
        className="card"
        onSubmit={async (e) => {
          e.preventDefault();
          setBusy(true);
          setError(undefined);
          try {
            onDone(await signIn(key.trim(), secret, 'us-east-1', writes));
          } catch (err) {
            setError(err instanceof ApiError && err.status === 403 ? 'That access key and secret are not accepted by this server.' : (err as Error).message);
          } finally {
            setBusy(false);
          }
        }}
      >
        <h1>openbatch</h1>
        <p className="muted">Sign in with an access key this server accepts. The secret stays in this browser: it signs one request, and the server answers with a session.</p>
        <label>
          Access key ID
          <input autoFocus autoComplete="username" value={key} onChange={(e) => setKey(e.target.value)} required />
        </label>
        <label>
          Secret access key
          <input type="password" autoComplete="current-password" value={secret} onChange={(e) => setSecret(e.target.value)} required />
        </label>
        <label className="check">
          <input type="checkbox" checked={writes} onChange={(e) => setWrites(e.target.checked)} /> Also let this browser act: cancel, terminate, submit, rerun, enable or disable (writes; otherwise the session only reads)
        </label>
        {error && (
          <p className="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" disabled={busy}>
          Sign in
        </button>
      </form>
    </main>
  );
}

function Shell({ session, setSession, onSignOut }: { session: Session; setSession: (s: Session) => void; onSignOut: () => void }) {
  const route = useRoute();
  const live = useLive();
  useEffect(() => {
    // "/" goes to the jobs table's name filter; g then o/j/c go to the pages
    let g = false;
    const on = (e: KeyboardEvent) => {
      const t = e.target as HTMLElement;
      if (t.closest('input, select, textarea, button') || e.ctrlKey || e.metaKey || e.altKey) return;
      if (e.key === '/') {
        e.preventDefault();
        navigate('jobs', { ...(route.page === 'jobs' ? route.params : {}), focus: 'name' });
      } else if (g && (e.key === 'o' || e.key === 'j' || e.key === 'c')) {
        navigate({ o: '', j: 'jobs', c: 'compute' }[e.key]);
      }
      g = e.key === 'g';
    };
    window.addEventListener('keydown', on);
    return () => window.removeEventListener('keydown', on);
  }, [route]);
  const tab = (page: string, href: string, label: string) => (
    <a href={href} className={route.page === page || (page === 'jobs' && route.page === 'job') ? 'active' : ''} aria-current={route.page === page ? 'page' : undefined}>
      {label}
    </a>
  );
  return (
    <SessionContext.Provider value={{ session, setSession }}>
      <header className="top">
        <a href="#/" className="brand">
          openbatch
        </a>
        <nav aria-label="pages">
          {tab('overview', '#/', 'Overview')}
          {tab('jobs', '#/jobs', 'Jobs')}
          {tab('compute', '#/compute', 'Compute')}
          {tab('cost', '#/cost', 'Cost')}
          {tab('submit', '#/submit', 'Submit')}
        </nav>
        <span className="spacer" />
        <span className={`pill ${live ? 'live' : ''}`} title={live ? 'receiving job state changes as they happen' : 'not connected to the event stream'} data-testid="live">
          {live ? 'live' : 'offline'}
        </span>
        {session.authRequired && (
          <>
            <span className="muted small" title={session.writes ? 'this session may act: cancel, terminate, submit, rerun, enable or disable' : 'this session only reads'}>
              {session.accessKeyId}
              {session.writes ? ' · reads and acts' : ' · reads'}
            </span>
            <button type="button" onClick={onSignOut}>
              Sign out
            </button>
          </>
        )}
      </header>
      <main>
        {route.page === 'overview' && <Overview />}
        {route.page === 'jobs' && <Jobs route={route} />}
        {route.page === 'job' && <JobDetail key={route.jobId} jobId={route.jobId!} />}
        {route.page === 'compute' && <Compute route={route} />}
        {route.page === 'cost' && <Cost route={route} />}
        {route.page === 'submit' && <Submit route={route} />}
      </main>
    </SessionContext.Provider>
  );
}

function App() {
  const [session, setSession] = useState<Session>();
  const [error, setError] = useState<string>();
  useEffect(() => {
    getSession().then(setSession, (e: Error) => setError(e.message));
    return onSignedOut(() => {
      disconnect();
      setSession((s) => (s?.authRequired ? { ...s, accessKeyId: null } : s));
    });
  }, []);
  if (error) return <p className="error">{error}</p>;
  if (!session) return null;
  if (session.authRequired && !session.accessKeyId) return <Login onDone={setSession} />;
  return (
    <Shell
      session={session}
      setSession={setSession}
      onSignOut={() => {
        disconnect();
        void signOut().then(setSession);
      }}
    />
  );
}

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
