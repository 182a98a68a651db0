import { useState } from 'react';
import { openbatchWrite, type JobDetail } from '../api';
import { navigate } from '../route';
import { Confirm } from './Confirm';

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
 * Confirmed, and behind the session's write grant, as every action (Confirm).
 */
export function RerunFailed({ job, failed }: { job: JobDetail; failed: number }) {
  const [withDependents, setWithDependents] = useState(false);
  const tags = job.tags ?? {};
  const rerunOf = tags['openbatch:rerun-of'];
  const rerunBy = tags['openbatch:rerun-by'];
  const ended = job.status === 'SUCCEEDED' || job.status === 'FAILED';

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
      {ended && failed > 0 && (
        <Confirm
          label={rerunBy ? 'Rerun failed children again' : 'Rerun failed children'}
          confirmLabel={`Rerun ${failed === 1 ? '1 child' : `${failed} children`}${rerunBy ? ' again' : ''}`}
          question={
            <>
              <p>
                Submit a new {failed === 1 ? 'job for the failed index' : `array job over the ${failed} failed indices`}, with the same definition, queue, overrides and tags?
              </p>
              {rerunBy && (
                <p className="warn" role="note">
                  These children were rerun already (by <span className="mono">{rerunBy}</span>): this runs them once more.
                </p>
              )}
            </>
          }
          act={async () => {
            const r = await openbatchWrite<Rerun>('rerunFailed', { arrayJobId: job.jobId, again: !!rerunBy, withDependents });
            navigate(`jobs/${r.jobId}`);
          }}
        >
          <label className="check">
            <input type="checkbox" checked={withDependents} onChange={(e) => setWithDependents(e.target.checked)} /> Also submit again the jobs that failed because this array did, behind the rerun
          </label>
        </Confirm>
      )}
    </div>
  );
}
