import { useState } from 'react';
import { ApiError, openbatchWrite, signIn, type JobDetail } from '../api';
import { navigate } from '../route';
import { useSession } from '../session';

interface Rerun {
  jobId: string;
  arraySize: number | null;
  originalIndices: number[];
  dependents: { originalJobId: string; jobId: string }[];
}

/**
 * An array's reruns: the links both ways (tags openbatch:rerun-of / openbatch:rerun-by) and,
 * once the array has ended with failed children, a button that submits a new array over
 * exactly those indices (POST /openbatch/v1/rerunFailed), as `openbatch rerun-failed` does:
 * an array rerun before is rerun again only when the confirmation says so (`again`), and the
 * jobs that failed with it can be submitted again behind the rerun (`withDependents`).
 *
 * It is the dashboard's one write. With credentials configured the session must have been
 * granted writes at sign-in; when it was not, the button asks for the secret again and signs
 * in once more asking for them (docs/configuration.md, "The dashboard's sign-in").
 */
export function RerunFailed({ job, failed }: { job: JobDetail; failed: number }) {
  const { session, setSession } = useSession();
  const [step, setStep] = useState<'idle' | 'confirm' | 'busy'>('idle');
  const [secret, setSecret] = useState('');
  const [error, setError] = useState<string>();
  const [withDependents, setWithDependents] = useState(false);
  const tags = job.tags ?? {};
  const rerunOf = tags['openbatch:rerun-of'];
  const rerunBy = tags['openbatch:rerun-by'];
  const ended = job.status === 'SUCCEEDED' || job.status === 'FAILED';
  const needsWrites = session.authRequired && !session.writes;

  async function rerun() {
    setStep('busy');
    setError(undefined);
    try {
      if (needsWrites) setSession(await signIn(session.accessKeyId ?? '', secret, 'us-east-1', true));
      const r = await openbatchWrite<Rerun>('rerunFailed', { arrayJobId: job.jobId, again: !!rerunBy, withDependents });
      setStep('idle');
      navigate(`jobs/${r.jobId}`);
    } catch (e) {
      setStep('confirm');
      setError(e instanceof ApiError && e.status === 403 && needsWrites ? 'That secret is not accepted for this access key.' : (e as Error).message);
    }
  }

  return (
    <div className="rerun" data-testid="rerun">
      {rerunOf && (
        <p className="small">
          Rerun of <a href={`#/jobs/${rerunOf}`}>{rerunOf}</a>
          {tags['openbatch:rerun-indices'] && <span className="muted"> — its failed indices {tags['openbatch:rerun-indices']}, each seen as AWS_BATCH_JOB_ARRAY_INDEX</span>}
        </p>
      )}
      {rerunBy && (
        <p className="small">
          Failed children rerun by <a href={`#/jobs/${rerunBy}`}>{rerunBy}</a>
        </p>
      )}
      {ended && failed > 0 && step === 'idle' && (
        <button type="button" onClick={() => setStep('confirm')}>
          {rerunBy ? 'Rerun failed children again' : 'Rerun failed children'}
        </button>
      )}
      {step !== 'idle' && (
        <form
          className="confirm"
          onSubmit={(e) => {
            e.preventDefault();
            void rerun();
          }}
        >
          <p>
            Submit a new {failed === 1 ? 'job for the failed index' : `array job over the ${failed} failed indices`}, with the same definition, queue, overrides and tags?
          </p>
          {rerunBy && (
            <p className="warn" role="note">
              These children were rerun already (by <span className="mono">{rerunBy}</span>): this runs them once more.
            </p>
          )}
          <label className="check">
            <input type="checkbox" checked={withDependents} onChange={(e) => setWithDependents(e.target.checked)} /> Also submit again the jobs that failed because this array did, behind the rerun
          </label>
          {needsWrites && (
            <label>
              This session only reads. To let this browser rerun jobs, enter the secret access key of <span className="mono">{session.accessKeyId}</span> again
              <input type="password" autoComplete="current-password" value={secret} onChange={(e) => setSecret(e.target.value)} required aria-label="Secret access key" />
            </label>
          )}
          {error && (
            <p className="error" role="alert">
              {error}
            </p>
          )}
          <button type="submit" disabled={step === 'busy'}>
            {needsWrites ? 'Allow writes and rerun' : `Rerun ${failed === 1 ? '1 child' : `${failed} children`}${rerunBy ? ' again' : ''}`}
          </button>{' '}
          <button type="button" onClick={() => setStep('idle')} disabled={step === 'busy'}>
            Cancel
          </button>
        </form>
      )}
    </div>
  );
}
