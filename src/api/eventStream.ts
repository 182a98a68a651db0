/**
 * Job state changes as a live stream: `GET /openbatch/v1/events` answers Server-Sent Events,
 * each an EventBridge-shaped "Batch Job State Change" (the shape AWS Batch sends to
 * EventBridge: detail is the job as DescribeJobs shows it). Optional query filters:
 * `jobQueue` (name) and `jobId` (also matches the children of that array job).
 * The request is authenticated like any API call; a comment line every 15 s keeps proxies
 * from closing an idle stream.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { EventBus } from '../events/bus.js';
import type { RequestContext, Services } from './context.js';
import { renderStateChanges } from './stateChangeEvents.js';

export type { JobStateChangeEvent } from './stateChangeEvents.js';

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
        const wanted = (id: string) => !q.jobId || id === q.jobId || id.startsWith(q.jobId + ':');
        for (const { job, event } of await renderStateChanges(services.db, changes, wanted)) {
          if (q.jobQueue && job.queue !== q.jobQueue) continue;
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
