/**
 * "Batch Job State Change" events in the shape AWS Batch sends to EventBridge (detail is the
 * job as DescribeJobs shows it, with the status of that change). One renderer for every
 * consumer: the SSE stream and the webhook outbox.
 */
import { randomUUID } from 'node:crypto';
import type { JobStateChange } from '../model/jobStateMachine.js';
import { getAttempts, getJobs, type AttemptRow, type JobRow } from '../store/jobs.js';
import type { Tx } from '../store/unitOfWork.js';
import { jobDetail } from './handlers/jobs.js';
import { shapeJobDetail } from './outputShapes.js';

export interface JobStateChangeEvent {
  version: '0';
  id: string;
  'detail-type': 'Batch Job State Change';
  source: 'aws.batch';
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: ReturnType<typeof jobDetail>;
}

export interface RenderedChange {
  change: JobStateChange;
  job: JobRow;
  event: JobStateChangeEvent;
}

const CHUNK = 500;

/**
 * Renders the changes (in their order) whose job passes `keep`; the jobs and their attempts
 * are read once per call.
 */
export async function renderStateChanges(db: Tx['db'], changes: JobStateChange[], keep: (jobId: string) => boolean = () => true): Promise<RenderedChange[]> {
  const ids = [...new Set(changes.map((c) => c.jobId))].filter(keep);
  if (ids.length === 0) return [];
  const jobs = new Map<string, JobRow>();
  const byJob = new Map<string, AttemptRow[]>();
  for (let i = 0; i < ids.length; i += CHUNK) {
    const part = ids.slice(i, i + CHUNK);
    for (const j of await getJobs(db, part)) jobs.set(j.id, j);
    for (const a of await getAttempts(db, part)) (byJob.get(a.job_id) ?? byJob.set(a.job_id, []).get(a.job_id)!).push(a);
  }
  const out: RenderedChange[] = [];
  for (const c of changes) {
    const job = jobs.get(c.jobId);
    if (!job) continue;
    const [, , , region, account] = job.arn.split(':');
    const detail = shapeJobDetail({ ...jobDetail(job, byJob.get(job.id) ?? []), status: c.to, statusReason: c.statusReason ?? undefined });
    out.push({
      change: c,
      job,
      event: {
        version: '0',
        id: randomUUID(),
        'detail-type': 'Batch Job State Change',
        source: 'aws.batch',
        account,
        time: new Date(c.at).toISOString().replace(/\.\d{3}Z$/, 'Z'),
        region,
        resources: [job.arn],
        detail: detail as JobStateChangeEvent['detail'],
      },
    });
  }
  return out;
}
