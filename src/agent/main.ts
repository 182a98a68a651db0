/**
 * `openbatch agent`: runs an agent for one instance.
 *
 * Two ways to start:
 *   joining   `--ce NAME` with the server's join token: the agent registers its capacity
 *             (`--vcpus`, `--memory`, `--gpus`; default: this machine) with an UNMANAGED
 *             compute environment and gets an instance of its own. This is how another
 *             machine adds capacity.
 *   assigned  `--instance-id ID` with that instance's token: how the local provider starts
 *             the agents of the instances it launched.
 *
 * Tokens come from OPENBATCH_AGENT_TOKEN (or --token), so that they do not show in `ps`.
 * Local instances' agents run in a session of their own and outlive their server (a restarted
 * server adopts them: compute/localProvider.ts). --exit-with-parent makes an agent stop its
 * jobs and exit when its standard input closes, for whoever wants it tied to its parent.
 */
import { mkdirSync, realpathSync } from 'node:fs';
import { availableParallelism, hostname, totalmem } from 'node:os';
import pino from 'pino';
import { createLogger } from '../logging.js';
import { closeInheritedDescriptors } from '../processes.js';
import { ContainerExecutor } from '../executor/container.js';
import { ProcessExecutor } from '../executor/process.js';
import { Agent, serverList } from './agent.js';
import { readServerUrl } from './serverAddress.js';
import { killOrphans, ORPHANS, setAsideOrphans } from './pidFiles.js';

export interface AgentCliOptions {
  server: string;
  /** a file naming where the server listens now, read again when it cannot be reached (a local agent: its server's <dataDir>/server-url) */
  serverFile?: string;
  instanceId?: string;
  ce?: string;
  token?: string;
  vcpus?: string;
  memory?: string;
  gpus?: string;
  workDir: string;
  exitWithParent?: boolean;
  logLevel?: string;
  /** bubblewrap sandbox for process jobs: 'on' (required) or 'off' ('auto': 'on') */
  sandbox?: string;
  /** network of sandboxed jobs: 'none' or 'host' */
  sandboxNetwork?: string;
  /** Docker Engine API socket of the container executor */
  dockerHost?: string;
  /** host paths sandboxed jobs must not see, beyond the work directory and the Docker socket */
  hide?: string[];
  /** whom jobs run as when the agent is root and their definition names no user (default nobody) */
  jobUser?: string;
}

/** Where the container executor finds the Docker Engine API when not told: DOCKER_HOST, else Podman's system socket. */
export const DEFAULT_DOCKER_HOST = 'unix:///run/podman/podman.sock';

function oneOf<T extends string>(value: string | undefined, flag: string, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(value)) throw new Error(`${flag} must be one of ${allowed.join(', ')} (got '${value}')`);
  return value as T;
}

function positiveInt(value: string | undefined, flag: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${flag} must be a whole number (got '${value}')`);
  return n;
}

async function post<T>(url: string, token: string, body: unknown): Promise<T> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify(body), signal: AbortSignal.timeout(10_000) });
  const text = await res.text();
  if (!res.ok) {
    let message = text;
    try {
      message = (JSON.parse(text) as { message?: string }).message ?? text;
    } catch {
      // not JSON: keep the text
    }
    throw new Error(`${new URL(url).pathname}: ${message}`);
  }
  return JSON.parse(text) as T;
}

/** POSTs to the first of the control planes that answers (several share one database). */
async function postAny<T>(servers: string[], path: string, token: string, body: unknown): Promise<T> {
  let last: unknown;
  for (const s of servers) {
    try {
      return await post<T>(s + path, token, body);
    } catch (e) {
      last = e;
      // An answer (e.g. a refused token) is final; only unreachable or silent servers are skipped.
      if (!(e instanceof TypeError) && (e as Error).name !== 'TimeoutError') throw e;
    }
  }
  throw last;
}

export async function runAgent(opts: AgentCliOptions): Promise<void> {
  const servers = serverList(opts.server);
  // The file names where the server listens now: it takes the place of the URL it supersedes.
  const moved = opts.serverFile ? readServerUrl(opts.serverFile) : undefined;
  if (moved && !servers.includes(moved)) servers[0] = moved;
  const server = servers.join(',');
  const sandboxFlag = oneOf(opts.sandbox, '--sandbox', ['on', 'off', 'auto'] as const, 'on');
  const sandbox = sandboxFlag === 'auto' ? 'on' : sandboxFlag;
  const sandboxNetwork = oneOf(opts.sandboxNetwork, '--sandbox-network', ['none', 'host'] as const, 'none');
  const given = opts.token ?? process.env.OPENBATCH_AGENT_TOKEN;
  if (!given) throw new Error('a token is required: --token or OPENBATCH_AGENT_TOKEN (the join token with --ce, the instance token with --instance-id)');
  if (!opts.instanceId && !opts.ce) throw new Error('give --ce NAME to join an UNMANAGED compute environment (or --instance-id for an instance the server launched)');
  // A local agent's log is a file in its instance directory: on a full disk its lines are
  // lost, the agent is not (a write error would otherwise end the process).
  const destination = pino.destination(2);
  destination.on('error', () => undefined);
  const base = createLogger(opts.logLevel ?? 'info', destination);
  const stray = closeInheritedDescriptors();
  if (stray) base.info({ descriptors: stray }, 'closed descriptors inherited from the launcher, so that no job inherits them');
  mkdirSync(opts.workDir, { recursive: true });
  // Jobs see their own working directory and nothing else of the agent's: not the other
  // attempts' directories, not the socket that makes containers (docs/security.md).
  const workRoot = realpathSync(opts.workDir);
  const dockerHost = opts.dockerHost || process.env.DOCKER_HOST || DEFAULT_DOCKER_HOST;
  const hidden = [workRoot, ...(opts.hide ?? [])];
  if (dockerHost.startsWith('unix://')) hidden.push(dockerHost.slice('unix://'.length));
  else if (dockerHost.startsWith('/')) hidden.push(dockerHost);
  const processExecutor = new ProcessExecutor({ sandbox, sandboxNetwork, hidden, jobUser: opts.jobUser });
  const containerExecutor = new ContainerExecutor({ dockerHost, hidden });
  // No silent fallback: a machine that cannot sandbox jobs joins only when told to run them
  // unsandboxed. (A local instance's agent is placed by its server, which checked this host
  // before launching it; should the two disagree, its attempts fail to start, saying why.)
  if (processExecutor.refusal && !opts.instanceId) throw new Error(`this agent would start no job: ${processExecutor.refusal}`);
  let instanceId = opts.instanceId;
  let token = given;
  if (!instanceId) {
    const joined = await postAny<{ instanceId: string; token: string }>(servers, '/agent/v1/register', given, {
      computeEnvironment: opts.ce,
      vcpus: positiveInt(opts.vcpus, '--vcpus', availableParallelism()),
      memoryMiB: positiveInt(opts.memory, '--memory', Math.floor(totalmem() / 1024 / 1024)),
      gpus: positiveInt(opts.gpus, '--gpus', 0),
      hostname: hostname(),
    });
    instanceId = joined.instanceId;
    token = joined.token;
    process.stdout.write(`joined compute environment ${opts.ce} as instance ${instanceId}\n`);
  }
  const logger = base.child({ instance: instanceId });
  // Jobs a previous agent on this machine left running when it died: their attempts have
  // been failed and may be running elsewhere now. Containers whose engine does not answer yet
  // are tried again until it does.
  setAsideOrphans(opts.workDir);
  const stopOrphans = async (): Promise<void> => {
    const { stopped, pending } = await killOrphans(opts.workDir, ORPHANS);
    if (stopped) logger.warn({ orphans: stopped }, 'stopped jobs left running by a previous agent');
    if (pending.length) {
      logger.warn({ containers: pending }, 'containers left by a previous agent cannot be removed yet: their engine does not answer; trying again');
      setTimeout(() => void stopOrphans(), 10_000).unref();
    }
  };
  await stopOrphans();
  if (processExecutor.refusal) logger.warn(`process executor: no job will start: ${processExecutor.refusal}`);
  else if (sandbox === 'off') logger.warn('process executor: the sandbox is off (--sandbox off): jobs run unsandboxed and see this host as the agent\'s job user does');
  for (const why of processExecutor.unavailable) logger.warn(`process executor: ${why}`);
  logger.info(`process executor: ${processExecutor.describe()}`);
  const agent = new Agent({ server, serverFile: opts.serverFile, instanceId, token, executors: { process: processExecutor, container: containerExecutor }, workRoot, logger, exitWhenOrphaned: !!opts.instanceId });
  // SIGTERM stops every attempt (its containers too) and sends the last reports; run() returns
  // only once that is done, so the process never exits with a container still running.
  const stop = () => void agent.stop();
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  if (opts.exitWithParent) {
    process.stdin.on('data', () => undefined);
    process.stdin.once('end', stop);
    process.stdin.once('close', stop);
  }
  const ending = await agent.run();
  await processExecutor.dispose();
  // Gone for good: its instance is closed now rather than when it is missed. A local agent
  // leaves only when its server asked it to (stopped otherwise, its server sees it exit).
  if (ending !== 'refused' && (!opts.instanceId || ending === 'shutdown')) {
    await postAny(agent.controlPlanes(), '/agent/v1/leave', token, { instanceId }).catch((err: Error) => logger.warn({ err: err.message }, 'could not say goodbye to the control plane'));
  }
  process.exit(0);
}
