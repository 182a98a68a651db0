import { useState } from 'react';
import { allQueues, batchWrite, type JobDetail } from '../api';
import { arnName } from '../format';
import { Confirm } from './Confirm';
import { draftOfJob, SubmitForm } from './SubmitForm';

const WAITING = ['SUBMITTED', 'PENDING', 'RUNNABLE'];
const FINAL = ['SUCCEEDED', 'FAILED'];

/**
 * What a person can do to a job from its page, as with the CLI: cancel it while it waits,
 * terminate it whatever its state, or submit it again (with edits). Each is confirmed, and
 * with credentials configured needs the session's write grant (Confirm). `onDone` reloads the
 * page's job after a cancel or terminate; a resubmission moves to the new job.
 */
export function JobActions({ job, onDone }: { job: JobDetail; onDone: () => void }) {
  const [reason, setReason] = useState('');
  const [cloning, setCloning] = useState<Awaited<ReturnType<typeof allQueues>>>();
  const child = job.arrayProperties?.index !== undefined;
  const stop = (op: 'CancelJob' | 'TerminateJob', fallback: string) => async () => {
    await batchWrite(op, { jobId: job.jobId, reason: reason.trim() || fallback });
    setReason('');
    onDone();
  };
  const reasonField = (
    <label>
      Reason <span className="muted small">(becomes the status reason)</span>
      <input value={reason} onChange={(e) => setReason(e.target.value)} aria-label="Reason" />
    </label>
  );
  return (
    <div className="actions" data-testid="job-actions">
      {WAITING.includes(job.status) && (
        <Confirm label="Cancel job" danger testId="cancel" act={stop('CancelJob', 'Cancelled from the dashboard')} question={<p>Cancel {job.jobName}? It has not started; it ends FAILED{job.arrayProperties?.size ? ', with every child not yet started' : ''}, and the jobs that depend on it fail too.</p>}>
          {reasonField}
        </Confirm>
      )}
      {!FINAL.includes(job.status) && (
        <Confirm label="Terminate job" danger testId="terminate" act={stop('TerminateJob', 'Terminated from the dashboard')} question={<p>Terminate {job.jobName}? A running attempt gets SIGTERM, then SIGKILL; the job ends FAILED and is not retried.</p>}>
          {reasonField}
        </Confirm>
      )}
      {!child &&
        (cloning ? (
          <SubmitForm initial={draftOfJob(job, arnName(job.jobQueue))} queues={cloning} label="Clone and resubmit" testId="clone" open onCancel={() => setCloning(undefined)} />
        ) : (
          <button type="button" data-testid="clone" onClick={() => void allQueues().then(setCloning)}>
            Clone and resubmit
          </button>
        ))}
    </div>
  );
}
