/**
 * Job state changes as a live stream: `GET /openbatch/v1/events` answers Server-Sent Events,
 * each an EventBridge-shaped "Batch Job State Change" (the shape AWS Batch sends to
 * EventBridge: detail is the job as DescribeJobs shows it). Optional query filters:
 * `jobQueue` (name) and `jobId` (also matches the children of that array job).
 * The request is authenticated like any API call; a comment line every 15 s keeps proxies
 * from closing an idle stream.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { EventBus } from '../events/bus.js';
import { getAttempts, getJobs, type AttemptRow } from '../store/jobs.js';
import type { RequestContext, Services } from './context.js';
import { jobDetail } from './handlers/jobs.js';

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

/** Registers the stream; the returned function ends every open stream (server shutdown). */
export function registerEventStream(
  app: FastifyInstance,
  bus: EventBus,
  services: Services,
  authenticate: (req: FastifyRequest, service: string) => RequestContext,
): () => void {
  const open = new Set<() => void>();
  app.get('/openbatch/v1/events', async (req, reply) => {
    authenticate(req, 'batch');
    const q = req.query as { jobQueue?: string; jobId?: string };
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-amzn-RequestId': req.id });
    res.write(': openbatch job state changes\n\n');
    // Batches are handled one after another so events leave in commit order.
    let chain = Promise.resolve();
    const unsubscribe = bus.subscribe((changes) => {
      chain = chain.then(async () => {
        const ids = [...new Set(changes.map((c) => c.jobId))].filter((id) => !q.jobId || id === q.jobId || id.startsWith(q.jobId + ':'));
        if (ids.length === 0) return;
        const jobs = new Map((await getJobs(services.db, ids)).map((j) => [j.id, j]));
        const attempts = await getAttempts(services.db, ids);
        const byJob = new Map<string, AttemptRow[]>();
        for (const a of attempts) (byJob.get(a.job_id) ?? byJob.set(a.job_id, []).get(a.job_id)!).push(a);
        for (const c of changes) {
          const job = jobs.get(c.jobId);
          if (!job || (q.jobQueue && job.queue !== q.jobQueue) || !ids.includes(c.jobId)) continue;
          const [, , , region, account] = job.arn.split(':');
          const detail = { ...jobDetail(job, byJob.get(job.id) ?? []), status: c.to, statusReason: c.statusReason ?? undefined };
          const event: JobStateChangeEvent = {
            version: '0',
            id: randomUUID(),
            'detail-type': 'Batch Job State Change',
            source: 'aws.batch',
            account,
            time: new Date(c.at).toISOString().replace(/\.\d{3}Z$/, 'Z'),
            region,
            resources: [job.arn],
            detail: detail as JobStateChangeEvent['detail'],
          };
          res.write(`event: Batch Job State Change\ndata: ${JSON.stringify(event)}\n\n`);
        }
      }).catch((err) => services.logger.warn({ err }, 'event stream write failed'));
    });
    const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
    const close = () => {
      clearInterval(keepAlive);
      unsubscribe();
      open.delete(end);
    };
    const end = () => {
      close();
      res.end();
    };
    open.add(end);
    req.raw.once('close', close);
    res.once('close', close);
  });
  return () => {
    for (const end of [...open]) end();
  };
}
