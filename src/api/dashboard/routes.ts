/**
 * The dashboard's server side: its sign-in, the read-only JSON endpoints for what AWS Batch
 * has no operation for, and the built app itself at `/`.
 *
 *   GET    /openbatch/v1/dashboard/session            whether sign-in is needed, who is signed in
 *   POST   /openbatch/v1/dashboard/session            SigV4-signed: answers with a session cookie
 *                                                     (reads; with {"writes": true}, the dashboard's writes too)
 *   DELETE /openbatch/v1/dashboard/session            signs out
 *   GET    /openbatch/v1/dashboard/overview           jobs per queue and state, last hour's throughput,
 *                                                     failures by reason (last hour), vCPUs in use and instances per CE
 *   GET    /openbatch/v1/dashboard/jobs               a page of jobs across queues (keyset: ?before=<cursor>)
 *   GET    /openbatch/v1/dashboard/jobs/<id>/array    the state of every index of an array job
 *   GET    /openbatch/v1/dashboard/jobs/<id>/graph    the job's dependency neighbourhood, both ways
 *   GET    /openbatch/v1/dashboard/jobs/<id>/usage    what each attempt used, with its memory over time
 *   GET    /openbatch/v1/dashboard/instances          instances per CE with utilisation and why each ended,
 *                                                     and each CE's launches and terminations of the last hour
 *
 * Everything the AWS API answers (DescribeJobs, DescribeJobQueues, GetLogEvents…) the
 * browser asks the AWS API for. Every endpoint here authenticates like an API read: a
 * signature, or a session cookie (sessions.ts).
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { clientError } from '../../model/errors.js';
import { parseBoundedJson } from '../../jsonDepth.js';
import type { Clock } from '../../model/ids.js';
import type { Db } from '../../store/db.js';
import { listInstances, LIVE_INSTANCE_STATES, scalingCounts, providerDataOf } from '../../store/instances.js';
import { arrayIndexStates, dependencyNeighbourhood, endedPerMinute, failuresByReason, jobsPage, vcpusInUseByCe } from '../../store/jobReports.js';
import { attemptsHolderOf, countByQueueAndStatus, getAttempts, getJob, usageByInstance } from '../../store/jobs.js';
import { attemptsWithSeries } from '../usage.js';
import type { RequestContext } from '../context.js';
import { sessionCookieHeader, type DashboardSessions } from './sessions.js';

const PREFIX = '/openbatch/v1/dashboard';
const HOUR_MS = 60 * 60 * 1000;

/** One letter per job status in an array's index states: 10,000 indexes are 10 kB. */
export const STATE_LETTERS: Record<string, string> = {
  SUBMITTED: 'U',
  PENDING: 'P',
  RUNNABLE: 'Q',
  STARTING: 'T',
  RUNNING: 'R',
  SUCCEEDED: 'S',
  FAILED: 'F',
};

export interface DashboardDeps {
  db: Db;
  clock: Clock;
  /** null when no credentials are configured: nobody signs in */
  sessions: DashboardSessions | null;
  authenticate: (req: FastifyRequest, service: string) => RequestContext;
}

/** The built app (vite build writes it next to the compiled server: dist/web). */
export function webRoot(): string {
  return fileURLToPath(new URL('../../../web/', import.meta.url));
}

function intParam(q: Record<string, string | undefined>, name: string, min: number, max: number): number | undefined {
  const v = q[name];
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw clientError(`${name} must be a whole number from ${min} to ${max} (got '${v}')`);
  return n;
}

export function registerDashboard(app: FastifyInstance, deps: DashboardDeps): void {
  const { db, clock, sessions, authenticate } = deps;
  const read = (req: FastifyRequest) => authenticate(req, 'batch');

  // `writes`: whether the dashboard may make its writes (DASHBOARD_WRITES); always, with no
  // credentials configured (the server then takes any request, from loopback only).
  app.get(`${PREFIX}/session`, async (req) => {
    if (!sessions) return { authRequired: false, accessKeyId: null, writes: true };
    const session = sessions.sessionOf(req);
    return { authRequired: true, accessKeyId: session?.accessKeyId ?? null, writes: session?.writes ?? false };
  });

  // The signed body may ask for the dashboard's writes: {"writes": true}.
  app.post(`${PREFIX}/session`, async (req, reply) => {
    if (!sessions) return { authRequired: false, accessKeyId: null, writes: true };
    if (!req.headers.authorization) throw clientError('sign this request with SigV4 (service batch) using the access key to sign in with');
    const ctx = authenticate(req, 'batch');
    const raw = (req.body as Buffer | undefined)?.toString('utf8') ?? '';
    const input = raw ? parseBoundedJson(raw, clientError, 'the sign-in body must be a JSON object') : {};
    const writes = (input as { writes?: unknown } | null)?.writes ?? false;
    if (typeof writes !== 'boolean') throw clientError('writes must be true or false');
    const { value, maxAgeSeconds } = sessions.issue(ctx.accessKeyId!, writes);
    reply.header('set-cookie', sessionCookieHeader(value, maxAgeSeconds, req.protocol === 'https'));
    return { authRequired: true, accessKeyId: ctx.accessKeyId, writes };
  });

  app.delete(`${PREFIX}/session`, async (req, reply) => {
    reply.header('set-cookie', sessionCookieHeader('', 0, req.protocol === 'https'));
    return { authRequired: sessions !== null, accessKeyId: null, writes: sessions === null };
  });

  app.get(`${PREFIX}/overview`, async (req) => {
    read(req);
    const now = clock.now();
    const [counts, ended, failures, vcpus, instances] = await Promise.all([
      countByQueueAndStatus(db),
      endedPerMinute(db, now - HOUR_MS),
      failuresByReason(db, now - HOUR_MS),
      vcpusInUseByCe(db),
      listInstances(db, { includeTerminated: false, limit: 10_000 }),
    ]);
    const queues: Record<string, Record<string, number>> = {};
    for (const c of counts) (queues[c.queue] ??= {})[c.status] = c.count;
    const ces: Record<string, { vcpusInUse: number; instances: Record<string, number>; instanceVcpus: number }> = {};
    const ce = (name: string) => (ces[name] ??= { vcpusInUse: 0, instances: {}, instanceVcpus: 0 });
    for (const [name, v] of vcpus) ce(name).vcpusInUse = v;
    for (const i of instances) {
      const c = ce(i.ce_name);
      c.instances[i.state] = (c.instances[i.state] ?? 0) + 1;
      if ((LIVE_INSTANCE_STATES as readonly string[]).includes(i.state)) c.instanceVcpus += Number(i.vcpus);
    }
    return {
      now,
      queues,
      throughput: { since: now - HOUR_MS, perMinute: ended },
      failures: { since: now - HOUR_MS, byReason: failures.slice(0, 50) },
      computeEnvironments: ces,
    };
  });

  app.get(`${PREFIX}/jobs`, async (req) => {
    read(req);
    const q = req.query as Record<string, string | undefined>;
    const statuses = q.status ? q.status.split(',').filter(Boolean) : undefined;
    for (const s of statuses ?? []) if (!(s in STATE_LETTERS)) throw clientError(`status '${s}' is not a job status (${Object.keys(STATE_LETTERS).join(', ')})`);
    const limit = intParam(q, 'limit', 1, 500) ?? 50;
    const { rows, resumeBefore } = await jobsPage(db, {
      queue: q.queue || undefined,
      statuses,
      namePattern: q.name || undefined,
      createdFrom: intParam(q, 'from', 0, Number.MAX_SAFE_INTEGER),
      createdTo: intParam(q, 'to', 0, Number.MAX_SAFE_INTEGER),
      beforeSeq: intParam(q, 'before', 0, Number.MAX_SAFE_INTEGER),
      limit,
    });
    return {
      jobs: rows.map((r) => ({
        jobId: r.id,
        jobName: r.name,
        jobQueue: r.queue,
        status: r.status,
        statusReason: r.status_reason,
        // a RUNNABLE job's why-pending code as the scheduler's last pass left it (why.ts adds the
        // numbers, on the job's page); beyond the part of the queue a pass looks at: QUEUED
        waitCode: r.status === 'RUNNABLE' ? (r.wait_code ?? 'QUEUED') : null,
        createdAt: Number(r.created_at),
        startedAt: r.started_at === null ? null : Number(r.started_at),
        stoppedAt: r.stopped_at === null ? null : Number(r.stopped_at),
        exitCode: r.exit_code,
        attempts: r.attempt_count,
        array: r.array_size === null ? null : { size: r.array_size, succeeded: r.array_succeeded ?? 0, failed: r.array_failed ?? 0 },
      })),
      // a submission number: the next page starts below it (with a name filter, a page may
      // hold fewer rows than asked and still have a next page: the search goes on from there)
      next: resumeBefore === null ? null : String(resumeBefore),
    };
  });

  app.get(`${PREFIX}/jobs/:id/array`, async (req) => {
    read(req);
    const { id } = req.params as { id: string };
    const job = await getJob(db, id);
    if (!job) throw clientError(`job '${id}' does not exist`);
    const states = await arrayIndexStates(db, job);
    if (!states) throw clientError(`job '${id}' is not an array job`);
    return { jobId: id, size: states.length, letters: STATE_LETTERS, states: states.map((s) => STATE_LETTERS[s] ?? '?').join('') };
  });

  app.get(`${PREFIX}/jobs/:id/graph`, async (req) => {
    read(req);
    const { id } = req.params as { id: string };
    const graph = await dependencyNeighbourhood(db, id);
    if (graph.nodes.length === 0) throw clientError(`job '${id}' does not exist`);
    return graph;
  });

  app.get(`${PREFIX}/jobs/:id/usage`, async (req) => {
    read(req);
    const { id } = req.params as { id: string };
    const job = await getJob(db, id);
    if (!job) throw clientError(`job '${id}' does not exist`);
    // A multi-node job shows its main node's attempts, as DescribeJobs does.
    const attempts = await getAttempts(db, [attemptsHolderOf(job)]);
    return { jobId: id, jobDefinition: job.definition_arn, attempts: attemptsWithSeries(attempts) };
  });

  app.get(`${PREFIX}/instances`, async (req) => {
    read(req);
    const q = req.query as Record<string, string | undefined>;
    const [rows, usage, scaling] = await Promise.all([
      listInstances(db, { ceName: q.ce || undefined, includeTerminated: true, limit: intParam(q, 'limit', 1, 1000) ?? 200 }),
      usageByInstance(db),
      scalingCounts(db, clock.now() - HOUR_MS),
    ]);
    return {
      // launches and terminations per CE in the last hour: the rates that show thrash at a glance
      lastHour: scaling.map((c) => ({ computeEnvironment: c.ceName, launched: c.launched, terminated: c.terminated, byReason: c.byReason })),
      instances: rows.map((i) => {
        const u = usage.get(i.id);
        return {
          instanceId: i.id,
          computeEnvironment: i.ce_name,
          instanceType: i.instance_type,
          state: i.state,
          provider: i.provider,
          host: providerDataOf<{ hostname: string }>(i).hostname ?? null,
          slowStartMs: providerDataOf<{ slowStartMs: number }>(i).slowStartMs ?? null,
          stateReason: i.state === 'PENDING' ? (providerDataOf<{ heldFor: string }>(i).heldFor ?? null) : i.state === 'IMPAIRED' ? i.status_reason : null,
          vcpus: Number(i.vcpus),
          memoryMiB: Number(i.memory_mib),
          gpus: Number(i.gpus),
          used: { vcpus: u?.vcpus ?? 0, memoryMiB: u?.memoryMiB ?? 0, gpus: u?.gpus ?? 0, jobs: u?.jobs ?? 0 },
          launchedAt: Number(i.launched_at),
          lastHeartbeatAt: Number(i.last_heartbeat_at),
          terminatedAt: i.terminated_at === null ? null : Number(i.terminated_at),
          terminationReason: i.termination_reason,
        };
      }),
    };
  });

  registerApp(app);
}

/**
 * The built app: index.html at `/`, its hashed assets under /assets/. Routes are made per
 * file at start (no wildcard), so nothing of the API's URL space is shadowed. Routing in the
 * app is by URL fragment (#/jobs/…), so every page of it loads from `/`.
 */
function registerApp(app: FastifyInstance): void {
  const root = webRoot();
  if (!existsSync(`${root}index.html`)) {
    app.get('/', async (_req, reply: FastifyReply) =>
      reply.type('text/plain; charset=utf-8').send('The dashboard is not built: run `npm run build` (it builds web/ into dist/web).\n'),
    );
    return;
  }
  app.register(fastifyStatic, {
    root,
    prefix: '/',
    wildcard: false,
    cacheControl: false,
    index: ['index.html'],
    setHeaders(reply, path) {
      // hashed names never change content; index.html must be revalidated to pick up a new build
      reply.header('cache-control', path.includes('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache');
      reply.header('x-content-type-options', 'nosniff');
    },
  });
}
