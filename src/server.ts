/**
 * The composition root: builds every part of a server from the configuration and wires them
 * together. Nothing else constructs services. A server is a control plane — the store, the
 * API, the agents' hub, the dashboard, what every server of a database serves — and, while it
 * leads, the leader role (leaderRole.ts): the scheduler, the compute providers and the
 * background deliveries. On SQLite it leads from its start; on PostgreSQL while it holds the
 * lease (cluster/leadership.ts).
 */
import type { Logger } from 'pino';
import { createLogger, logDestination } from './logging.js';
import { buildApp, sendError } from './api/app.js';
import { registerLogsApi } from './logs/api.js';
import type { Handler, Services } from './api/context.js';
import { computeEnvironmentHandlers } from './api/handlers/computeEnvironments.js';
import { consumableResourceHandlers } from './api/handlers/consumableResources.js';
import { jobDefinitionHandlers } from './api/handlers/jobDefinitions.js';
import { jobHandlers } from './api/handlers/jobs.js';
import { jobQueueHandlers } from './api/handlers/jobQueues.js';
import { schedulingPolicyHandlers } from './api/handlers/schedulingPolicies.js';
import { tagHandlers } from './api/handlers/tags.js';
import { loadCredentialsFile, parseCredentialSpec } from './api/sigv4.js';
import { AgentHub } from './compute/agentHub.js';
import { ceSettings } from './compute/executorChoice.js';
import { hostAccessOf } from './compute/hostAccess.js';
import { SandboxCheck, sandboxRefusal } from './executor/sandbox.js';
import { SecretStore } from './secrets/store.js';
import { cachedComputeEnvironment, computeResourcesOf } from './store/computeEnvironments.js';
import { LocalProvider } from './compute/localProvider.js';
import type { Random } from './compute/chaos.js';
import { leaseTimes } from './compute/agentLease.js';
import { JoinedAgents, joinTokenFile } from './compute/joinedAgents.js';
import { serverUrlFile, writeServerUrl } from './agent/serverAddress.js';
import { isLoopback, type ServerConfig } from './config.js';
import { randomIds, systemClock, systemTimers, type Clock, type IdSource, type Timers } from './model/ids.js';
import type { SchedulerLoop } from './scheduler/loop.js';
import type { KickReason } from './core.js';
import { EventBus } from './events/bus.js';
import { Metrics } from './metrics/metrics.js';
import { registerEventStream } from './api/eventStream.js';
import { renderStateChanges } from './api/stateChangeEvents.js';
import { registerDashboard } from './api/dashboard/routes.js';
import { DashboardSessions } from './api/dashboard/sessions.js';
import { openStore, type OpenedStore } from './store/db.js';
import { latestAttemptInstance } from './store/jobs.js';
import { getJobQueue } from './store/jobQueues.js';
import { isNodeJobId } from './model/multinode.js';
import { registerInstancesApi } from './api/instances.js';
import { launchTemplatesOf } from './compute/launchTemplates.js';
import { parseWebhooks, Webhooks } from './events/webhooks.js';
import { internalInvoker } from './api/invoke.js';
import { parseTriggers } from './triggers/rules.js';
import { UnitOfWork } from './store/unitOfWork.js';
import { LeaderRole } from './leaderRole.js';
import { Leadership } from './cluster/leadership.js';
import { ClusterSignals } from './cluster/signals.js';
import { booleanMember, registerOpenbatchOperations, stringMember } from './api/openbatchOperations.js';
import { beginDrain, drainStatus, endDrain } from './store/drain.js';
import { databaseTrouble } from './store/health.js';
import { liveLeaseHolder, SCHEDULER_LEASE } from './store/leaderLease.js';
import { explainJob, explainQueue } from './scheduler/why.js';
import { parsePriceTable } from './model/cost.js';
import { costOperation } from './api/costOperation.js';
import { usageOperation } from './api/usage.js';
import { rerunFailed } from './api/rerunFailed.js';
import { clientError } from './model/errors.js';

export interface RunningServer {
  url: string;
  port: number;
  services: Services;
  /** the scheduler loop (benchmarks time its passes); undefined on a server that does not lead */
  scheduler: SchedulerLoop;
  /** with PostgreSQL: whether this server holds the leader lease (always true on SQLite) */
  leading(): boolean;
  /**
   * Stops the server. Its agents keep running their jobs and are adopted by the next server
   * (or leader); with `stopAgents` this host's local agents are stopped first and waited for
   * (tests, which must leave no process behind).
   */
  close(opts?: { stopAgents?: boolean }): Promise<void>;
}

export interface StartOptions {
  clock?: Clock;
  /** every wait of the control plane (the scheduler's tick, long polls, retries, leases); default: the system's */
  timers?: Timers;
  ids?: IdSource;
  logger?: Logger;
  /** the random source of chaos decisions (compute/chaos.ts); default Math.random */
  random?: Random;
  /** an open store to use instead of the configured one (the caller closes it): the in-process test harness's */
  store?: OpenedStore;
}

export const handlers: Record<string, Handler> = {
  ...computeEnvironmentHandlers,
  ...jobQueueHandlers,
  ...jobDefinitionHandlers,
  ...schedulingPolicyHandlers,
  ...consumableResourceHandlers,
  ...tagHandlers,
  ...jobHandlers,
};

function loadCredentials(config: ServerConfig): Map<string, string> | null {
  const creds = new Map<string, string>();
  if (config.credentials) for (const [k, v] of parseCredentialSpec(config.credentials)) creds.set(k, v);
  if (config.credentialsFile) for (const [k, v] of loadCredentialsFile(config.credentialsFile)) creds.set(k, v);
  return creds.size ? creds : null;
}

export async function startServer(config: ServerConfig, opts: StartOptions = {}): Promise<RunningServer> {
  const logger = opts.logger ?? createLogger(config.logLevel, await logDestination(config.logFormat));
  const clock = opts.clock ?? systemClock;
  const timers = opts.timers ?? systemTimers;
  const ids = opts.ids ?? randomIds;
  const credentials = loadCredentials(config);
  if (!credentials && !isLoopback(config.host)) {
    throw new Error(
      `refusing to listen on ${config.host} without credentials: anyone could submit jobs. Set OPENBATCH_CREDENTIALS=AKID:SECRET (or credentialsFile), or bind 127.0.0.1`,
    );
  }
  const hooks = parseWebhooks(config.webhooks);
  const triggerRules = parseTriggers(config.triggers);
  const prices = parsePriceTable(config.prices);
  // A broken launchTemplates table stops the server here, with the entry named.
  launchTemplatesOf(config);
  // No silent fallback: a host that cannot sandbox jobs says so now, and its local instances
  // start no process jobs (LocalProvider), unless the operator opted out.
  const sandbox = new SandboxCheck();
  if (config.sandbox === 'off') {
    logger.warn('the job sandbox is off (setting sandbox=off): process jobs of local instances run unsandboxed, and see this host as the job user does, the data directory included');
  } else {
    const problem = sandbox.problem();
    if (problem) logger.warn(`local instances will start no process jobs: ${sandboxRefusal(problem)}`);
  }
  const store = opts.store ?? (await openStore(config));
  const uow = new UnitOfWork(store.db);
  const bus = new EventBus();
  uow.onCommitted((changes) => bus.publish(changes));
  // Every server writes the outbox in its transactions; the leader delivers (leaderRole.ts).
  const webhooks = new Webhooks({ db: store.db, clock, timers, logger, hooks, render: (db, changes) => renderStateChanges(db, changes) });
  if (webhooks.enabled) {
    uow.beforeCommit(webhooks.enqueue);
    uow.onCommitted(() => leader?.deliver());
  }
  const metrics = new Metrics(store.db);
  bus.subscribe((changes) => void metrics.onChanges(changes).catch((err) => logger.warn({ err }, 'metrics: could not count state changes')));
  let url = '';
  // What only the leader runs (leaderRole.ts): set while this server leads.
  let leader: LeaderRole | undefined;
  const loop = () => leader?.scheduler;
  let closeStreams = () => undefined as void;
  // Several servers on one PostgreSQL database: one leads (cluster/leadership.ts), the others
  // serve the API and agents and wake the leader and each other's agents through signals.
  let signals: ClusterSignals | undefined;
  const kickScheduler = (why?: KickReason) => {
    leader?.kick(why);
    signals?.kick();
  };
  const wakeInstance = (id: string) => {
    hub.notify(id);
    leader?.slurm.kick();
    signals?.instance(id);
  };
  const joined = new JoinedAgents({ config, db: store.db, uow, clock, timers, ids, logger, kickScheduler, notifyInstance: (id) => wakeInstance(id) });
  await joined.init();
  const secrets = new SecretStore(config.secretsFile);
  const lease = leaseTimes(config.agentTimeoutSeconds);
  const hostAccess = hostAccessOf(config);
  const hub = new AgentHub({
    lease,
    logLimitBytes: config.maxLogBytesPerAttempt,
    usageSampleMs: config.usageSampleSeconds * 1000,
    joined,
    assignmentContext: async (ceName) => {
      const row = await cachedComputeEnvironment(store.db, ceName);
      const { executor, prefetch, vcpuLimit } = ceSettings(row, config);
      const ce = row ? { name: row.name, uuid: row.uuid, arn: row.arn, fargate: (computeResourcesOf(row)?.type ?? '').startsWith('FARGATE') } : undefined;
      return { executor, secrets, prefetch, vcpuLimit, hostAccess, ce };
    },
    // Launch templates and Fargate tasks are the local provider's: local agents talk to the leader.
    instanceSetup: (inst) => leader?.provider.instanceSetup(inst),
    takesOneJob: (inst) => leader?.provider.takesOneJob(inst) ?? false,
    onOneJobDone: (id) => void leader?.provider.fargateTaskDone(id).catch((err) => logger.error({ err, instance: id }, 'ending a Fargate task failed')),
    db: store.db,
    uow,
    clock,
    timers,
    logger,
    terminateGraceMs: config.terminateGraceSeconds * 1000,
    timeDilation: config.timeDilation,
    kickScheduler,
    // Exit reports ride the leader's next pass; a server that does not lead writes them itself and wakes the leader.
    withNextPass: (fn) => loop()?.withNextPass(fn) ?? uow.write(fn).finally(kickScheduler),
  });
  // Nodes of a multi-node job stopped because their main node ended: wake their agents now.
  bus.subscribe((changes) => {
    for (const c of changes) {
      if (!isNodeJobId(c.jobId) || (c.from !== 'RUNNING' && c.from !== 'STARTING') || c.to === 'RUNNING') continue;
      void latestAttemptInstance(store.db, c.jobId)
        .then((instance) => instance && wakeInstance(instance))
        .catch((err) => logger.warn({ err, job: c.jobId }, 'waking the agent of a stopped node failed; it stops the node at its next poll'));
    }
  });
  const services: Services = {
    config,
    db: store.db,
    uow,
    timers,
    clock,
    ids,
    logger,
    kickScheduler,
    notifyInstance: wakeInstance,
    waitingIn: (queue) => loop()?.waitingIn(queue),
  };
  const sessions = credentials ? new DashboardSessions(credentials, () => clock.now()) : null;
  const app = buildApp({
    services,
    handlers,
    credentials,
    metrics,
    session: sessions ? (req) => sessions.sessionOf(req) : undefined,
    extraRoutes: (a, authenticate) => {
      hub.routes(a);
      closeStreams = registerEventStream(a, bus, services, authenticate);
      a.get('/metrics', async (req, reply) => {
        // Open by default, for Prometheus; metricsAuth puts it behind the API's authentication.
        if (config.metricsAuth) authenticate(req, 'batch');
        return reply.header('content-type', metrics.registry.contentType).send(await metrics.registry.metrics());
      });
      registerInstancesApi(a, { services, authenticate, interrupt: (id) => (leader?.provider ?? standbyProvider()).interrupt(id, 'command') });
      registerLogsApi(a, { db: store.db, config }, (req) => authenticate(req, 'logs'), sendError);
      // Live: the process answers. role: which server of several sharing a PostgreSQL database
      // runs the scheduler (always 'leader' on SQLite).
      a.get('/healthz', async () => ({ status: 'ok', role: leader ? 'leader' : 'follower' }));
      // Ready: the database answers and some server leads (503 otherwise, with why): what a
      // load balancer or a rolling restart should wait for.
      a.get('/readyz', async (_req, reply) => {
        const role = leader ? 'leader' : 'follower';
        const trouble = await databaseTrouble(store.db, 2_000);
        if (trouble) return reply.status(503).send({ status: 'unavailable', role, database: `unreachable: ${trouble}`, leader: null });
        let holder: string | null = 'this server';
        try {
          if (store.kind === 'postgres') holder = await liveLeaseHolder(store.db, SCHEDULER_LEASE);
        } catch (err) {
          return reply.status(503).send({ status: 'unavailable', role, database: `unreachable: ${(err as Error).message}`, leader: null });
        }
        if (!holder) return reply.status(503).send({ status: 'unavailable', role, database: 'ok', leader: null, reason: 'no server holds the leader lease: nothing is scheduled' });
        return { status: 'ready', role, database: 'ok', leader: holder };
      });
      registerDashboard(a, { db: store.db, clock, sessions, authenticate });
      registerOpenbatchOperations(a, authenticate, {
        usage: (input) => usageOperation(store.db, input),
        why: async (input) => {
          const why = {
            db: store.db,
            clock,
            waitingIn: (q: string) => loop()?.waitingIn(q),
            ceView: (n: string) => loop()?.ceView(n),
            // A server that does not lead answers from what the leader recorded, and says so.
            leading: loop() !== undefined,
            hostVcpus: config.hostVcpus,
            timeDilation: config.timeDilation,
          };
          // One job ({jobId}), up to 100 ({jobIds}: {reports}), or a queue's waiting jobs ({jobQueue}: {jobs}).
          if (Array.isArray(input.jobIds)) {
            if (input.jobIds.length > 100 || input.jobIds.some((j) => typeof j !== 'string')) throw clientError('jobIds must list at most 100 job ids');
            const reports = [];
            for (const id of input.jobIds as string[]) {
              const r = await explainJob(why, id);
              if (r) reports.push(r);
            }
            return { reports };
          }
          if (input.jobQueue !== undefined) {
            const queue = stringMember(input, 'jobQueue');
            if (!(await getJobQueue(store.db, queue))) throw clientError(`jobQueue '${queue}' does not exist`);
            return { jobs: await explainQueue(why, queue) };
          }
          const jobId = stringMember(input, 'jobId');
          const report = await explainJob(why, jobId);
          if (!report) throw clientError(`jobId '${jobId}' does not exist`);
          return report;
        },
        cost: async (input) => costOperation(store.db, clock.now(), prices, input),
        // A new join token for every server of the database (SigV4 only: not a dashboard's write).
        rotateJoinToken: async () => joined.rotate(),
        rerunFailed: async (input) =>
          rerunFailed(services, internalInvoker(services, handlers), stringMember(input, 'arrayJobId'), {
            again: booleanMember(input, 'again'),
            withDependents: booleanMember(input, 'withDependents'),
          }),
        // The farm's drain (docs/operations.md): every server reads it; the leader acts on it.
        drain: async (input) => {
          const stopJobs = booleanMember(input, 'stopJobs');
          await beginDrain(store.db, stopJobs, clock.now());
          logger.warn({ stopJobs }, 'the farm is being drained: no job starts until it is resumed');
          kickScheduler();
          return drainStatus(store.db);
        },
        resume: async () => {
          await endDrain(store.db);
          logger.warn('the farm is resumed: jobs start again');
          kickScheduler();
          return drainStatus(store.db);
        },
        drainStatus: async () => drainStatus(store.db),
      });
    },
  });
  const address = await app.listen({ host: config.host, port: config.port });
  const port = Number(new URL(address).port);
  url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  // The local agents of a previous server process find this one there, whatever its port
  // (agent/serverAddress.ts); before leading, so that they are back before their lease runs out.
  try {
    writeServerUrl(config.dataDir, url);
  } catch (err) {
    logger.warn({ err, file: serverUrlFile(config.dataDir) }, 'could not record where this server listens: local agents of a previous server process will not find it if its port changed');
  }

  // What only the leader runs (see `leader` above); its writes are fenced by the lease.
  // The lease expires on the database's clock, which no injected clock moves: it is renewed on the system's timers.
  const leadership = store.kind === 'postgres' ? new Leadership({ db: store.db, logger, timers: systemTimers, leaseMs: config.leaderLeaseSeconds * 1000, elected: () => lead(), deposed: () => stopLeading() }) : undefined;
  const leaderUow = leadership ? uow.fenced(leadership.fence) : uow;
  const lead = async (): Promise<void> => {
    leader = new LeaderRole({
      config, db: store.db, uow: leaderUow, clock, timers, ids, logger, kickScheduler,
      url: () => url, notifyInstance: wakeInstance, metrics, joined, lease, sandbox, random: opts.random, prices, hooks, triggerRules,
      invoke: internalInvoker(services, handlers),
      render: (db, changes) => renderStateChanges(db, changes),
    });
    await leader.start();
  };
  // A Spot interruption on command sent to a server that does not lead: the notice is a write
  // (state TERMINATING, interrupt_at) that the leader's provider ends on its pass, so a provider
  // that is never started checks and records it here.
  let standby: LocalProvider | undefined;
  const standbyProvider = (): LocalProvider =>
    (standby ??= new LocalProvider({ config, db: store.db, uow, clock, timers, ids, logger, kickScheduler, serverUrl: () => url, notifyInstance: wakeInstance }));
  const stopLeading = async (): Promise<void> => {
    const role = leader;
    leader = undefined;
    await role?.stop();
  };
  if (leadership) {
    signals = new ClusterSignals({ databaseUrl: config.databaseUrl, pool: store.pool!, logger, timers, onKick: () => leader?.kick(), onInstance: (id) => {
      hub.notify(id);
      leader?.slurm.kick();
    } });
    await signals.start();
    leadership.start();
  } else {
    await lead();
  }
  logger.info(
    { url, dataDir: config.dataDir, auth: credentials ? `SigV4, ${credentials.size} key(s)` : 'off', agentJoinTokenFile: config.agentJoinToken ? 'configured' : joinTokenFile(config) },
    credentials
      ? `openbatch listening on ${url}; SigV4 signatures are verified`
      : `openbatch listening on ${url}; no credentials configured: any well-formed signature is accepted (loopback only)`,
  );
  let closed = false;
  return {
    url,
    port,
    services,
    get scheduler() {
      return loop()!;
    },
    leading: () => leader !== undefined,
    async close({ stopAgents = false } = {}) {
      if (closed) return;
      closed = true;
      const provider = leader?.provider;
      if (leadership) await leadership.stop();
      else await stopLeading();
      // After leading stopped, so that nothing launches an instance in their place.
      if (stopAgents) await provider?.stopAgents();
      closeStreams();
      hub.close();
      await signals?.stop();
      await app.close();
      if (!opts.store) await store.close();
    },
  };
}
