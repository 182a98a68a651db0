/**
 * The crash harness: a mixed workload runs while, at random (seeded) moments, control planes
 * are killed (SIGKILL), stopped (SIGTERM) or paused (SIGSTOP, for less than the agent lease)
 * and agents are killed; what died is restarted, on its port or (every second time) on another
 * (its agents find it through its data directory). Afterwards a checker compares
 * what the API says with what really ran, and counts the attempts that failed for the control
 * plane's sake (none should: every outage is shorter than the agent lease) and how long each
 * restarted control plane took to hear from every agent again (readoptMs).
 *
 * What really ran comes from the jobs themselves. Every attempt runs JOB_SCRIPT, which
 *   - takes an exclusive flock on a per-job lock file; if another execution of the same job
 *     holds it, it records `double` and exits (the kernel drops the lock when a process
 *     dies, even by SIGKILL, so this catches overlap exactly, where timestamps could not);
 *   - appends `jobId attempt start|term|end run epochMs exitCode` lines to one record file
 *     (O_APPEND lines shorter than PIPE_BUF never interleave); `run` is a random id of the
 *     execution — not its pid: a sandboxed job has its own pid namespace, where every job's
 *     shell is pid 2, so pids would pair one execution's start with another's end;
 *   - sleeps, then exits with the code its environment asks for on that attempt.
 *
 * The checker (checkRun) then requires, for every job whose SubmitJob answered a jobId:
 *   final      it reached SUCCEEDED or FAILED once the chaos stopped (nothing lost);
 *   once       no execution of a job overlapped another, and no attempt number ran twice;
 *   deps       a job ran only after all its dependencies (including N_TO_N and SEQUENTIAL
 *              array edges) had succeeded, and never when one failed;
 *   attempts   attempts[] covers every attempt that ran, each reported exit code is one the
 *              process really exited with, SUCCEEDED means the last attempt exited 0;
 *   strategy   no more attempts than retryStrategy.attempts, no attempt after an EXIT rule
 *              or a timeout, and a failed job stopped early only for a reason that allows it.
 *
 * The store is a parameter (StoreTarget): SQLite in a data directory, or PostgreSQL with
 * several control planes on one database (a fresh database per run). With several control
 * planes, a control-plane kill takes the leader (docs/design/leader.md) most of the time:
 * another server must take the lease over — fencing the dead leader's epoch — while the
 * workload goes on; the run reports how long each takeover took (failoverMs).
 */
import { createHash } from 'node:crypto';
import { appendFileSync, chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import {
  CancelJobCommand,
  DescribeJobsCommand,
  SubmitJobCommand,
  TerminateJobCommand,
  type BatchClient,
  type JobDetail,
  type RetryStrategy,
} from '@aws-sdk/client-batch';
import { createCe, createQueue, registerDefinition } from '../helpers/fixtures.js';
import { requestOpenbatch } from '../../src/cli/openbatchApi.js';
import type { InstanceView } from '../../src/api/instances.js';
import { onPostgres, TEST_DATABASE_PREFIX, TEST_DATABASE_URL } from '../helpers/postgres.js';
import { agentsUnder, batchClient, hostVolume, spawnServer, stopAgentsUnder, tempDir, type ServerProcess } from '../helpers/server.js';

/** A small seeded PRNG (mulberry32): the same seed gives the same workload and kill plan. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Where the control planes keep their state. */
export interface StoreTarget {
  name: string;
  /** environment for every control-plane process */
  env: Record<string, string>;
  /** how many control planes serve at once (more than one needs a shared database) */
  controlPlanes: number;
  /** PostgreSQL: a server URL whose account may CREATE DATABASE; each run gets a database of its own there */
  adminUrl?: string;
}

export function sqliteTarget(): StoreTarget {
  return { name: 'sqlite', env: {}, controlPlanes: 1 };
}

export function postgresTarget(adminUrl: string, controlPlanes = 2): StoreTarget {
  return { name: 'postgres', env: {}, controlPlanes: Math.max(1, controlPlanes), adminUrl };
}

/**
 * The store named by the environment: CHAOS_DATABASE_URL selects PostgreSQL (CHAOS_CONTROL_PLANES
 * of them, 2 by default); so does the suite's PostgreSQL pass (OPENBATCH_TEST_DATABASE_URL).
 */
export function storeFromEnv(env = process.env): StoreTarget {
  const controlPlanes = Number(env.CHAOS_CONTROL_PLANES ?? 2);
  if (env.CHAOS_DATABASE_URL) return postgresTarget(env.CHAOS_DATABASE_URL, controlPlanes);
  if (onPostgres()) return postgresTarget(TEST_DATABASE_URL, controlPlanes);
  return sqliteTarget();
}

async function onServer<T>(adminUrl: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: adminUrl });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** Named like the suite's own databases, so the test runner drops it whatever happens. */
function runDatabaseName(workDir: string): string {
  return TEST_DATABASE_PREFIX + 'chaos_' + createHash('sha256').update(workDir).digest('hex').slice(0, 16);
}

/** A fresh database for a run (C collation, as the server expects), its URL. */
async function createRunDatabase(adminUrl: string, workDir: string): Promise<string> {
  const name = runDatabaseName(workDir);
  await onServer(adminUrl, (c) => c.query(`CREATE DATABASE "${name}" TEMPLATE template0 LC_COLLATE 'C' LC_CTYPE 'C'`));
  const u = new URL(adminUrl);
  u.pathname = '/' + name;
  return u.toString();
}

const JOB_SCRIPT = `
J="$AWS_BATCH_JOB_ID"; A="$AWS_BATCH_JOB_ATTEMPT"; R="$CHAOS_DIR/records.log"; X=$(cat /proc/sys/kernel/random/uuid)
now() { date +%s%3N; }
exec 9>>"$CHAOS_DIR/locks/$J.lock"
if ! flock -n 9; then echo "$J $A double $X $(now) 0" >> "$R"; exit 90; fi
echo "$J $A start $X $(now) 0" >> "$R"
trap 'echo "$J $A term $X $(now) 0" >> "$R"; sleep "$CHAOS_GRACE"; echo "$J $A end $X $(now) 143" >> "$R"; exit 143' TERM
sleep "$CHAOS_SECONDS" & wait $!
code=0; if [ "$A" -le "$CHAOS_FAIL_ATTEMPTS" ]; then code="$CHAOS_FAIL_CODE"; fi
echo "$J $A end $X $(now) $code" >> "$R"
exit $code
`;

/** exit 3 asks for a retry, exit 4 ends the job; anything else (lost hosts included) retries while attempts remain. */
const EVALUATE_ON_EXIT = [
  { onExitCode: '4', action: 'EXIT' },
  { onExitCode: '3', action: 'RETRY' },
] as const;

/** What the harness asked of a job, so the checker knows what to expect. */
export interface Expectation {
  jobId: string;
  /** job ids this job waits for (array parents stand for all their children) */
  dependsOn: string[];
  arraySize?: number;
  /** N_TO_N: child i waits for child i of this array; SEQUENTIAL: child i waits for i-1 */
  nToN?: string;
  sequential?: boolean;
  maxAttempts: number;
  failCode: number;
  failAttempts: number;
  timesOut: boolean;
  /** the harness cancelled or terminated it */
  stoppedByHarness?: 'cancel' | 'terminate';
}

export interface RunOptions {
  seed: number;
  /** how long the chaos lasts; then the harness waits for every job to end */
  durationMs: number;
  /** mean time between kills */
  killEveryMs: number;
  store?: StoreTarget;
  /** how long to wait for the farm to settle after the chaos */
  settleMs?: number;
  log?: (line: string) => void;
  /** kept for inspection; removed by the caller when the run passed */
  workDir?: string;
}

export interface RunResult {
  seed: number;
  store: string;
  workDir: string;
  /** PostgreSQL: the run's own database, dropped by cleanUp (kept with workDir after a failed run) */
  database?: { adminUrl: string; name: string };
  /** control planes killed (SIGKILL) or stopped (SIGTERM) and restarted */
  serverKills: number;
  /** control planes paused (SIGSTOP) for less than the agent lease and continued */
  serverPauses: number;
  agentKills: number;
  /** control-plane kills that took the leader (several control planes only) */
  leaderKills: number;
  /** for each leader kill: ms from the kill until another control plane led (-1: none within 30 s) */
  failoverMs: number[];
  /** for each restart: ms from listening again until every earlier local instance was heard again (-1: not within 30 s) */
  readoptMs: number[];
  /** for each kill: ms from the kill until that control plane listened again (its agents' silence, with readoptMs) */
  downtimeMs: number[];
  /** jobs whose SubmitJob answered (array children counted one by one): acked */
  jobs: number;
  submitted: number;
  attemptsRun: number;
  succeeded: number;
  failed: number;
  lost: number;
  doubleRuns: number;
  /**
   * attempts that failed for the control plane's sake: lost as a host would be (`Host EC2 …`)
   * on an instance whose agent the harness did not kill. Its restarts, pauses and failovers are
   * all shorter than the agent lease, so there should be none.
   */
  controlPlaneFailures: number;
  violations: string[];
}

interface RunRecord {
  jobId: string;
  attempt: number;
  kind: 'start' | 'term' | 'end' | 'double';
  /** the execution's random id */
  run: string;
  at: number;
  code: number;
}

function readRecords(file: string): RunRecord[] {
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const [jobId, attempt, kind, run, at, code] = l.split(' ');
      return { jobId, attempt: Number(attempt), kind: kind as RunRecord['kind'], run, at: Number(at), code: Number(code) };
    });
}

/** The control planes of a run: spawned, killed and restarted on the ports they had, or on new ones. */
class ControlPlanes {
  private readonly procs: (ServerProcess | undefined)[] = [];
  private readonly ports: number[] = [];

  constructor(
    private readonly dataDir: string,
    private readonly store: StoreTarget,
    private readonly logFile: string,
    /** the host directory the jobs write their records to, which the servers let them mount */
    private readonly jobsDir: string,
  ) {}

  private env(): Record<string, string> {
    return {
      ...this.store.env,
      OPENBATCH_HOST_VOLUME_ROOTS: this.jobsDir,
      // Sleep-only jobs: lend more slots than the machine's cores so the workload overlaps.
      OPENBATCH_HOST_VCPUS: '4',
      // Timeouts of 60 s fire after 1 s; idle instances go after 1 s, so instances churn too.
      OPENBATCH_TIME_DILATION: '60',
      // Every outage must stay shorter than the lease. A control plane's restart (killed to
      // listening again) takes 2-4 s, but up to 9 s on a 2-core machine at load 15-20: a
      // 10-s lease then ran out for agents that had done nothing wrong.
      OPENBATCH_AGENT_TIMEOUT_SECONDS: '20',
    };
  }

  /** Starts control plane i on the port it had, or on a new one (`moved`, or the first time). */
  async start(i: number, moved = false): Promise<void> {
    const p = await spawnServer(this.store.controlPlanes > 1 ? join(this.dataDir, `cp${i}`) : this.dataDir, moved ? 0 : (this.ports[i] ?? 0), this.env());
    const tag = `[cp${i} pid ${p.child.pid}] `;
    p.child.stdout!.on('data', (c: Buffer) => appendFileSync(this.logFile, c.toString().replace(/^(?=.)/gm, tag)));
    p.child.stderr!.on('data', (c: Buffer) => appendFileSync(this.logFile, c.toString().replace(/^(?=.)/gm, tag)));
    this.procs[i] = p;
    this.ports[i] = Number(new URL(p.url).port);
  }

  async startAll(): Promise<void> {
    for (let i = 0; i < this.store.controlPlanes; i++) await this.start(i);
  }

  urls(): string[] {
    return this.procs.filter((p): p is ServerProcess => !!p).map((p) => p.url);
  }

  /** Which control plane holds the leader lease now (its /healthz says so), or -1. */
  async leader(): Promise<number> {
    for (let i = 0; i < this.procs.length; i++) {
      const p = this.procs[i];
      if (!p) continue;
      try {
        const h = (await (await fetch(p.url + '/healthz', { signal: AbortSignal.timeout(2_000) })).json()) as { role?: string };
        if (h.role === 'leader') return i;
      } catch {
        // down or busy: not known to lead
      }
    }
    return -1;
  }

  live(): ServerProcess[] {
    return this.procs.filter((p): p is ServerProcess => !!p && p.child.exitCode === null && p.child.signalCode === null);
  }

  async kill(i: number, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    await this.procs[i]?.kill(signal);
    this.procs[i] = undefined;
  }

  /** SIGSTOP for `ms`, then SIGCONT. */
  async pause(i: number, ms: number): Promise<void> {
    const p = this.procs[i];
    if (!p) return;
    p.child.kill('SIGSTOP');
    await sleep(ms);
    p.child.kill('SIGCONT');
  }

  /**
   * How long after `since` (control plane i listening again) every local instance launched
   * before it had been heard again (its agent re-adopted and polling); -1 if not within 30 s.
   */
  async readoption(i: number, since: number): Promise<number> {
    const url = this.procs[i]?.url;
    if (!url) return -1;
    while (Date.now() - since < 30_000) {
      try {
        const { instances } = await requestOpenbatch<{ instances: InstanceView[] }>({ endpoint: url, region: 'us-east-1', credentials: { accessKeyId: 'chaos', secretAccessKey: 'chaos' } }, 'GET', '/openbatch/v1/instances', {});
        const waiting = instances.filter((x) => x.provider === 'local' && x.state === 'ACTIVE' && x.launchedAt < since && x.lastHeartbeatAt < since);
        if (waiting.length === 0) return Date.now() - since;
      } catch {
        // killed again meanwhile, or busy
      }
      await sleep(100);
    }
    return -1;
  }

  /** The local agents of every control plane (they outlive their control planes: found by work directory). */
  agentPids(): number[] {
    return agentsUnder(this.dataDir);
  }

  get count(): number {
    return this.store.controlPlanes;
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.procs.map((p) => p?.kill('SIGTERM')));
    await stopAgentsUnder(this.dataDir);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What happens to a control plane, in turn. */
const CONTROL_PLANE_FAULTS = ['SIGKILL', 'SIGTERM', 'SIGSTOP'] as const;

/** The longest pause of a control plane beyond 1 s: with the agent lease of 20 s (env() above), no agent's lease runs out. */
const PAUSE_MAX_MS = 5_000;

/** The instance an agent process serves (its --instance-id). */
function instanceOf(pid: number): string | undefined {
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    const at = argv.indexOf('--instance-id');
    return at >= 0 ? argv[at + 1] : undefined;
  } catch {
    return undefined;
  }
}

/** A client call that tolerates control planes being down: retried on connection errors until `deadline`. */
async function patiently<T>(clients: () => BatchClient[], fn: (c: BatchClient) => Promise<T>, deadline: number): Promise<T> {
  let last: unknown;
  for (let i = 0; Date.now() < deadline; i++) {
    const cs = clients();
    const c = cs[i % Math.max(cs.length, 1)];
    if (c) {
      try {
        return await fn(c);
      } catch (e) {
        last = e;
        if ((e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 400) throw e;
      }
    }
    await sleep(200);
  }
  throw new Error(`control plane unreachable until the deadline: ${(last as Error)?.message}`);
}

export async function runChaos(o: RunOptions): Promise<RunResult> {
  const rand = prng(o.seed);
  const log = o.log ?? (() => undefined);
  const store = o.store ?? sqliteTarget();
  const workDir = o.workDir ?? tempDir('openbatch-chaos-');
  const dataDir = join(workDir, 'data');
  const chaosDir = join(workDir, 'jobs');
  mkdirSync(join(chaosDir, 'locks'), { recursive: true });
  writeFileSync(join(chaosDir, 'records.log'), '');
  // The jobs' to write, through a volume of their definition: a root agent runs them as
  // nobody, and the host's directories are read-only to them.
  chmodSync(workDir, 0o711);
  for (const d of [chaosDir, join(chaosDir, 'locks')]) chmodSync(d, 0o777);
  chmodSync(join(chaosDir, 'records.log'), 0o666);
  const runStore = store.adminUrl ? { ...store, env: { ...store.env, OPENBATCH_DATABASE_URL: await createRunDatabase(store.adminUrl, workDir) } } : store;
  const planes = new ControlPlanes(dataDir, runStore, join(workDir, 'server.log'), chaosDir);
  await planes.startAll();
  let clients: BatchClient[] = planes.urls().map((u) => batchClient(u));
  const refreshClients = () => {
    for (const c of clients) c.destroy();
    clients = planes.urls().map((u) => batchClient(u));
  };
  const setupDeadline = Date.now() + 60_000;
  await patiently(() => clients, (c) => createCe(c, 'chaos-ce', { maxvCpus: 4 }), setupDeadline);
  await patiently(() => clients, (c) => createQueue(c, 'chaos-q', ['chaos-ce']), setupDeadline);
  await patiently(
    () => clients,
    (c) => registerDefinition(c, 'chaos', { command: ['sh', '-c', JOB_SCRIPT], resourceRequirements: [{ type: 'VCPU', value: '1' }, { type: 'MEMORY', value: '64' }], ...hostVolume(chaosDir) }),
    setupDeadline,
  );

  const expectations = new Map<string, Expectation>();
  let submitted = 0;
  let serverKills = 0;
  let serverPauses = 0;
  /** instances whose agent the harness killed: their attempts may fail as a lost host's */
  const killedInstances = new Set<string>();
  const readoptMs: number[] = [];
  const downtimeMs: number[] = [];
  let agentKills = 0;
  let leaderKills = 0;
  const failoverMs: number[] = [];
  const chaosEnd = Date.now() + o.durationMs;

  // ---- the workload: keeps submitting until the chaos ends
  const submitter = (async () => {
    while (Date.now() < chaosEnd) {
      const r = rand();
      const earlier = [...expectations.values()];
      const pick = () => earlier[Math.floor(rand() * earlier.length)];
      const e: Omit<Expectation, 'jobId'> = {
        dependsOn: [],
        maxAttempts: 1 + Math.floor(rand() * 4),
        failCode: 0,
        failAttempts: 0,
        timesOut: false,
      };
      const input: ConstructorParameters<typeof SubmitJobCommand>[0] = { jobName: 'chaos', jobQueue: 'chaos-q', jobDefinition: 'chaos' };
      let seconds = 0.2 + rand() * 2.5;
      if (r < 0.15) {
        e.failCode = 3; // retried: fails on its first attempt(s)
        e.failAttempts = 1 + Math.floor(rand() * 2);
      } else if (r < 0.22) {
        e.failCode = 4; // EXIT rule: fails for good
        e.failAttempts = 9;
      } else if (r < 0.27) {
        e.timesOut = true;
        seconds = 30;
        input.timeout = { attemptDurationSeconds: 60 };
      } else if (r < 0.45) {
        e.arraySize = 2 + Math.floor(rand() * 4);
        input.arrayProperties = { size: e.arraySize };
        const twin = earlier.filter((x) => x.arraySize === e.arraySize && !x.sequential && !x.nToN).pop();
        if (rand() < 0.4) {
          e.sequential = true;
          input.dependsOn = [{ type: 'SEQUENTIAL' }];
        } else if (twin && rand() < 0.6) {
          e.nToN = twin.jobId;
          input.dependsOn = [{ jobId: twin.jobId, type: 'N_TO_N' }];
        }
      }
      if (!e.nToN && earlier.length && rand() < 0.3) {
        const deps = [...new Set([pick().jobId, ...(rand() < 0.3 ? [pick().jobId] : [])])];
        e.dependsOn = deps;
        input.dependsOn = [...(input.dependsOn ?? []), ...deps.map((jobId) => ({ jobId }))];
      }
      input.retryStrategy = { attempts: e.maxAttempts, evaluateOnExit: EVALUATE_ON_EXIT.map((x) => ({ ...x })) } as RetryStrategy;
      input.containerOverrides = {
        environment: [
          { name: 'CHAOS_DIR', value: chaosDir },
          { name: 'CHAOS_SECONDS', value: seconds.toFixed(2) },
          { name: 'CHAOS_GRACE', value: (rand() * 1.5).toFixed(2) },
          { name: 'CHAOS_FAIL_CODE', value: String(e.failCode) },
          { name: 'CHAOS_FAIL_ATTEMPTS', value: String(e.failAttempts) },
        ],
      };
      submitted++;
      const c = clients[Math.floor(rand() * clients.length)];
      try {
        const res = await c.send(new SubmitJobCommand(input));
        expectations.set(res.jobId!, { ...e, jobId: res.jobId! });
      } catch {
        // Not accepted as far as the client knows (the control plane may be down): not counted.
        await sleep(200);
      }
      // Now and then stop a job the harness accepted earlier.
      if (earlier.length && rand() < 0.05) {
        const victim = pick();
        const how = rand() < 0.5 ? 'cancel' : 'terminate';
        try {
          const cmd = how === 'cancel' ? new CancelJobCommand({ jobId: victim.jobId, reason: 'chaos' }) : new TerminateJobCommand({ jobId: victim.jobId, reason: 'chaos' });
          await clients[0]?.send(cmd as never);
          victim.stoppedByHarness ??= how;
        } catch {
          // lost with the control plane: maybe applied, maybe not — allow both
          victim.stoppedByHarness ??= how;
        }
      }
      await sleep(100 + rand() * 400);
    }
  })();

  // ---- the killer: a control plane killed (SIGKILL), stopped (SIGTERM) or paused (SIGSTOP,
  // for less than the agent lease), or an agent killed, at random moments; what died restarts
  const readoptions: Promise<void>[] = [];
  let controlPlaneFaults = 0;
  const killer = (async () => {
    while (Date.now() < chaosEnd) {
      await sleep(o.killEveryMs * (0.5 + rand()));
      if (Date.now() >= chaosEnd) break;
      const agents = planes.agentPids();
      // With several control planes the first kill is always the leader's.
      const leaderFirst = planes.count > 1 && leaderKills === 0;
      if (!leaderFirst && agents.length && rand() < 0.45) {
        const pid = agents[Math.floor(rand() * agents.length)];
        const instance = instanceOf(pid);
        try {
          process.kill(pid, 'SIGKILL');
          agentKills++;
          if (instance) killedInstances.add(instance);
          log(`chaos: SIGKILL agent ${pid} (${instance})`);
        } catch {
          // exited meanwhile
        }
        continue;
      }
      // Several control planes: mostly the leader, so that another must take over.
      const leader = leaderFirst || (planes.count > 1 && rand() < 0.75) ? await planes.leader() : -1;
      const i = leader >= 0 ? leader : Math.floor(rand() * planes.count);
      // In turn, so that even a short run has each.
      const how = CONTROL_PLANE_FAULTS[controlPlaneFaults++ % CONTROL_PLANE_FAULTS.length];
      if (how === 'SIGSTOP') {
        // Paused, then continued: every request it holds waits, agents keep their jobs.
        const pauseMs = 1_000 + rand() * PAUSE_MAX_MS;
        serverPauses++;
        log(`chaos: SIGSTOP control plane ${i}${leader >= 0 ? ' (the leader)' : ''} for ${Math.round(pauseMs)} ms`);
        await planes.pause(i, pauseMs);
        continue;
      }
      const signal = how;
      const killedAt = Date.now();
      await planes.kill(i, signal);
      serverKills++;
      log(`chaos: ${signal} control plane ${i}${leader >= 0 ? ' (the leader)' : ''}`);
      if (leader >= 0) {
        // Restarted only once another control plane leads: the takeover is the others' to make.
        leaderKills++;
        let took = -1;
        while (Date.now() - killedAt < 30_000) {
          if ((await planes.leader()) >= 0) {
            took = Date.now() - killedAt;
            break;
          }
          await sleep(100);
        }
        failoverMs.push(took);
        log(`chaos: ${took >= 0 ? `control plane ${await planes.leader()} leads ${took} ms after the kill` : 'no control plane leads 30 s after the kill'}`);
      }
      await sleep(rand() * 1500);
      // Every second restart on another port (in turn, so that even a short run has one): its
      // local agents must follow it there.
      const moved = serverKills % 2 === 0;
      await planes.start(i, moved);
      downtimeMs.push(Date.now() - killedAt);
      if (moved) log(`chaos: control plane ${i} restarted on another port`);
      refreshClients();
      readoptions.push(planes.readoption(i, Date.now()).then((ms) => void readoptMs.push(ms)));
    }
  })();

  await Promise.all([submitter, killer]);
  await Promise.all(readoptions);
  log(`chaos over: ${expectations.size} accepted of ${submitted} submitted, ${serverKills} control-plane kills (${leaderKills} of the leader), ${serverPauses} pauses, ${agentKills} agent kills; settling`);

  // ---- settle: every accepted job must end
  const ids = [...expectations.keys()];
  const allIds = () => ids.flatMap((id) => {
    const e = expectations.get(id)!;
    return e.arraySize ? [id, ...Array.from({ length: e.arraySize }, (_, i) => `${id}:${i}`)] : [id];
  });
  const settleDeadline = Date.now() + (o.settleMs ?? 180_000);
  let details = new Map<string, JobDetail>();
  for (;;) {
    details = new Map();
    const wanted = allIds();
    for (let i = 0; i < wanted.length; i += 100) {
      const res = await patiently(() => clients, (c) => c.send(new DescribeJobsCommand({ jobs: wanted.slice(i, i + 100) })), settleDeadline + 30_000);
      for (const j of res.jobs ?? []) details.set(j.jobId!, j);
    }
    const open = wanted.filter((id) => !['SUCCEEDED', 'FAILED'].includes(details.get(id)?.status ?? ''));
    if (open.length === 0 || Date.now() > settleDeadline) break;
    await sleep(1000);
  }
  for (const c of clients) c.destroy();
  await planes.stopAll();

  const result = checkRun(expectations, details, readRecords(join(chaosDir, 'records.log')), killedInstances);
  return { seed: o.seed, store: store.name, workDir, database: runStore.env.OPENBATCH_DATABASE_URL && store.adminUrl ? { adminUrl: store.adminUrl, name: runDatabaseName(workDir) } : undefined, serverKills, serverPauses, agentKills, leaderKills, failoverMs, readoptMs, downtimeMs, submitted, ...result };
}

/** The checks of the file comment, on what the API said (`details`) and what ran (`records`). */
export function checkRun(
  expectations: Map<string, Expectation>,
  details: Map<string, JobDetail>,
  records: RunRecord[],
  killedInstances: Set<string> = new Set(),
): Omit<RunResult, 'seed' | 'store' | 'workDir' | 'database' | 'serverKills' | 'serverPauses' | 'agentKills' | 'leaderKills' | 'failoverMs' | 'readoptMs' | 'downtimeMs' | 'submitted'> {
  const violations: string[] = [];
  const v = (jobId: string, what: string) => violations.push(`${jobId}: ${what}`);
  const byJob = new Map<string, RunRecord[]>();
  for (const r of records) (byJob.get(r.jobId) ?? byJob.set(r.jobId, []).get(r.jobId)!).push(r);
  const doubleRuns = records.filter((r) => r.kind === 'double').length;
  for (const r of records) if (r.kind === 'double') v(r.jobId, `attempt ${r.attempt} started while another execution of the job held its lock`);

  /** When the job's successful run ended (for array parents: the last child's), or undefined. */
  const succeededAt = (jobId: string): number | undefined => {
    const e = expectations.get(jobId);
    const d = details.get(jobId);
    if (d?.status !== 'SUCCEEDED') return undefined;
    if (e?.arraySize) {
      const ends = Array.from({ length: e.arraySize }, (_, i) => succeededAt(`${jobId}:${i}`));
      return ends.some((x) => x === undefined) ? undefined : Math.max(...(ends as number[]));
    }
    const ok = (byJob.get(jobId) ?? []).filter((r) => r.kind === 'end' && r.code === 0);
    return ok.length ? Math.min(...ok.map((r) => r.at)) : undefined;
  };

  let jobs = 0;
  let succeeded = 0;
  let failed = 0;
  let lost = 0;
  let controlPlaneFailures = 0;
  const checkLeaf = (jobId: string, e: Expectation, deps: string[]) => {
    jobs++;
    const d = details.get(jobId);
    if (!d || !['SUCCEEDED', 'FAILED'].includes(d.status ?? '')) {
      lost++;
      return v(jobId, `accepted but ${d ? `still ${d.status} (${d.statusReason ?? ''})` : 'unknown to the API'} after the chaos stopped`);
    }
    if (d.status === 'SUCCEEDED') succeeded++;
    else failed++;
    const ran = byJob.get(jobId) ?? [];
    const starts = ran.filter((r) => r.kind === 'start');
    const attempts = d.attempts ?? [];
    for (const a of attempts) {
      const instance = a.container?.containerInstanceArn?.split('/').pop() ?? '';
      if (/^Host EC2|control plane/.test(a.statusReason ?? '') && !killedInstances.has(instance)) controlPlaneFailures++;
    }
    // once: no attempt number started twice, and executions never overlapped (flock above, timestamps here)
    const seen = new Set<number>();
    for (const s of starts) {
      if (seen.has(s.attempt)) v(jobId, `attempt ${s.attempt} ran twice`);
      seen.add(s.attempt);
      if (s.attempt > attempts.length) v(jobId, `attempt ${s.attempt} ran but attempts[] has ${attempts.length}`);
    }
    const intervals = starts.map((s) => ({ s, end: ran.find((r) => r.kind === 'end' && r.run === s.run)?.at })).sort((a, b) => a.s.at - b.s.at);
    for (let i = 1; i < intervals.length; i++) {
      const prev = intervals[i - 1];
      if (prev.end !== undefined && prev.end > intervals[i].s.at) v(jobId, `attempt ${intervals[i].s.attempt} started before attempt ${prev.s.attempt} ended`);
    }
    // deps
    const firstStart = starts.length ? Math.min(...starts.map((s) => s.at)) : undefined;
    for (const dep of deps) {
      const at = succeededAt(dep);
      if (firstStart !== undefined && (at === undefined || at > firstStart)) {
        v(jobId, `ran at ${firstStart} before its dependency ${dep} succeeded (${details.get(dep)?.status}${at ? ' at ' + at : ''})`);
      }
      if (d.status === 'SUCCEEDED' && at === undefined) v(jobId, `SUCCEEDED although its dependency ${dep} did not`);
    }
    // attempts: reported exit codes are ones the process exited with
    attempts.forEach((a, i) => {
      const code = a.container?.exitCode;
      if (code === undefined || code === null) return;
      const ends = ran.filter((r) => r.kind === 'end' && r.attempt === i + 1);
      // An attempt stopped (timeout, terminate) before its script got to its first line —
      // under load a sandbox takes a while to set up — dies of the signal without a record.
      const stoppedEarly = !ran.some((r) => r.kind === 'start' && r.attempt === i + 1) && (code === 143 || code === 137);
      if (stoppedEarly && (/timeout/.test(a.statusReason ?? '') || e.stoppedByHarness)) return;
      if (!ends.some((r) => r.code === code)) v(jobId, `attempts[${i}] reports exit code ${code} but the attempt ${ends.length ? `exited ${ends.map((r) => r.code).join(',')}` : 'recorded no exit'}`);
    });
    const last = attempts[attempts.length - 1];
    if (d.status === 'SUCCEEDED' && last?.container?.exitCode !== 0) v(jobId, `SUCCEEDED with last attempt exit code ${last?.container?.exitCode}`);
    if (d.status === 'FAILED' && last?.container?.exitCode === 0) v(jobId, 'FAILED although its last attempt exited 0');
    // strategy
    if (attempts.length > e.maxAttempts) v(jobId, `${attempts.length} attempts with retryStrategy.attempts ${e.maxAttempts}`);
    attempts.forEach((a, i) => {
      if (i === attempts.length - 1) return;
      if (a.container?.exitCode === 4) v(jobId, `attempt ${i + 1} exited 4 (EXIT rule) but was retried`);
      if (/timeout/.test(a.statusReason ?? '')) v(jobId, `attempt ${i + 1} timed out but was retried`);
    });
    if (d.status === 'FAILED' && last && attempts.length < e.maxAttempts && !e.stoppedByHarness) {
      const allowed = last.container?.exitCode === 4 || /timeout/.test(last.statusReason ?? '') || /timeout/.test(d.statusReason ?? '');
      if (!allowed) v(jobId, `FAILED after ${attempts.length} of ${e.maxAttempts} attempts; last: exit ${last.container?.exitCode} ${last.statusReason}`);
    }
    if (d.status === 'FAILED' && attempts.length === 0 && !e.stoppedByHarness) {
      if (!deps.some((dep) => details.get(dep)?.status === 'FAILED')) v(jobId, `FAILED without attempts and without a failed dependency: ${d.statusReason}`);
    }
  };

  for (const e of expectations.values()) {
    if (!e.arraySize) {
      checkLeaf(e.jobId, e, e.dependsOn);
      continue;
    }
    for (let i = 0; i < e.arraySize; i++) {
      const deps = [...e.dependsOn];
      if (e.sequential && i > 0) deps.push(`${e.jobId}:${i - 1}`);
      if (e.nToN) deps.push(`${e.nToN}:${i}`);
      checkLeaf(`${e.jobId}:${i}`, e, deps);
    }
    const d = details.get(e.jobId);
    const childrenOk = Array.from({ length: e.arraySize }, (_, i) => details.get(`${e.jobId}:${i}`)?.status === 'SUCCEEDED').every(Boolean);
    if (d && ['SUCCEEDED', 'FAILED'].includes(d.status ?? '') && (d.status === 'SUCCEEDED') !== childrenOk) {
      v(e.jobId, `array parent ${d.status} but its children ${childrenOk ? 'all succeeded' : 'did not all succeed'}`);
    }
  }
  return { jobs, attemptsRun: records.filter((r) => r.kind === 'start').length, succeeded, failed, lost, doubleRuns, controlPlaneFailures, violations };
}

export async function cleanUp(result: RunResult): Promise<void> {
  rmSync(result.workDir, { recursive: true, force: true });
  const d = result.database;
  if (d) await onServer(d.adminUrl, (c) => c.query(`DROP DATABASE IF EXISTS "${d.name}" WITH (FORCE)`));
}
