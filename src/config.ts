/**
 * Server configuration, from one place: command-line flags > environment (OPENBATCH_*) >
 * config file (JSON, --config / OPENBATCH_CONFIG) > defaults. docs/configuration.md lists
 * every setting.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism, totalmem } from 'node:os';
import { resolve } from 'node:path';

export interface ServerConfig {
  host: string;
  port: number;
  /** the configuration file these settings were read from (--config, OPENBATCH_CONFIG), absolute; empty: none. Set by loadConfig, not a setting */
  configFile: string;
  dataDir: string;
  /**
   * postgres://user:pass@host:port/db to keep state in PostgreSQL (several servers may share
   * it; one of them leads); empty: SQLite in dataDir. Job files stay in dataDir either way.
   */
  databaseUrl: string;
  /**
   * With PostgreSQL: how long the leader lease lasts without renewal, i.e. the longest a dead
   * leader goes unreplaced (the leader renews it five times per period).
   */
  leaderLeaseSeconds: number;
  /** the AWS account id in ARNs */
  account: string;
  /** region for requests that carry no SigV4 scope (unsigned requests when auth is off) */
  defaultRegion: string;
  /** "AKID:SECRET[,…]"; empty = no authentication (loopback only) */
  credentials: string;
  /** file with one AKID:SECRET per line */
  credentialsFile: string;
  logLevel: string;
  /** auto (pretty lines on a terminal, JSON otherwise), json or pretty */
  logFormat: string;
  /** vCPUs this host lends to local instances, in total */
  hostVcpus: number;
  /** memory (MiB) this host lends to local instances, in total */
  hostMemoryMiB: number;
  /** an idle local instance above minvCpus is terminated after this long */
  scaleDownDelaySeconds: number;
  /** SIGTERM → SIGKILL grace for terminated, timed-out and interrupted attempts */
  terminateGraceSeconds: number;
  /** an agent that has not polled for this long is declared lost */
  agentTimeoutSeconds: number;
  /** the secret agents present to join UNMANAGED compute environments; empty: made once and kept in <dataDir>/agent-join-token */
  agentJoinToken: string;
  /**
   * Time dilation for testing pipelines: attempt timeouts, scale-down delays and
   * jobStateTimeLimitActions run this many times faster than the wall clock (60 → a 60 s
   * timeout fires after 1 s). Reported times stay wall-clock times.
   */
  timeDilation: number;
  /** log events older than this many days are deleted; 0 keeps them forever */
  logRetentionDays: number;
  /** executor of compute environments without an `openbatch:executor` tag: 'process' or 'container' (docs/executors.md) */
  defaultExecutor: string;
  /** Docker Engine API socket for the container executor (unix:///…); empty: DOCKER_HOST, else /run/podman/podman.sock */
  dockerHost: string;
  /** JSON file of secret names to values for job definitions' `secrets` (see src/secrets/store.ts) */
  secretsFile: string;
  /**
   * bubblewrap sandbox for process jobs: 'on' (required: where it cannot be used, local
   * instances start no jobs and say why) or 'off' (the operator's explicit opt-out, logged at
   * warn level); 'auto', its former name, means 'on'
   */
  sandbox: string;
  /** network of sandboxed process jobs: 'none' (own namespace, loopback only) or 'host' */
  sandboxNetwork: string;
  /** how VCPU is enforced: 'quota' (a cap of VCPU × CPU period) or 'shares' (ECS's 1,024 CPU shares per vCPU, no cap); a CE's tag `openbatch:vcpu-limit` overrides it */
  vcpuLimit: string;
  /**
   * Where agents run as root: the user (name or uid) jobs run as unless their definition
   * names a `user` or is `privileged`. Their working directories and scratch volumes are theirs.
   */
  jobUser: string;
  /**
   * Directories under which job definitions may name host paths (volumes' host.sourcePath,
   * devices' hostPath); none by default. A JSON list, or in the environment also
   * comma-separated. compute/hostAccess.ts applies it.
   */
  hostVolumeRoots: string[];
  /** whether job definitions may set `privileged` (root with every host device and capability) */
  allowPrivileged: boolean;
  /** most vCPUs one joining agent may claim (0: no limit); an UNMANAGED CE's unmanagedvCpus also caps all its agents together */
  maxJoinVcpus: number;
  /** whether GET /metrics needs the API's authentication (a SigV4 signature, or a dashboard session) */
  metricsAuth: boolean;
  /** URLs that receive every job state change (JSON list; src/events/webhooks.ts checks it) */
  webhooks: unknown;
  /** directory watch rules that submit a job per new file (JSON list; src/triggers/rules.ts checks it) */
  triggers: unknown;
  /** price table for cost reports (JSON object; src/model/cost.ts checks it, docs/cost.md) */
  prices: unknown;
  /** Slurm partition of Slurm compute environments without an `openbatch:slurm-partition` tag; empty: Slurm's default partition */
  slurmPartition: string;
  /** Slurm account (`sbatch --account`) of Slurm compute environments without an `openbatch:slurm-account` tag; empty: none */
  slurmAccount: string;
  /** Slurm QOS (`sbatch --qos`) of Slurm compute environments without an `openbatch:slurm-qos` tag; empty: none */
  slurmQos: string;
  /** directory for attempts' batch scripts and output files, visible at the same path on every Slurm node; empty: <dataDir>/slurm */
  slurmWorkDir: string;
  /** directory of Slurm's commands (sbatch, squeue, …); empty: found on PATH */
  slurmBinDir: string;
  /** how often Slurm jobs are followed with one squeue call, in seconds */
  slurmPollSeconds: number;
  /**
   * Named launch templates a compute environment's `launchTemplate` selects (bootstrap script,
   * extra environment, mounts). JSON list; see docs/compute.md and compute/launchTemplates.ts.
   */
  launchTemplates: unknown;
  /** Spot chaos: how many interruptions per hour each SPOT/FARGATE_SPOT instance suffers on average (0: only on command) */
  spotInterruptionsPerHour: number;
  /** the warning a Spot instance gets before it is terminated (AWS: two minutes); scaled by timeDilation */
  spotNoticeSeconds: number;
  /** agent-loss chaos: how many times per hour each local instance's agent is killed without warning, as a host loss (0: never) */
  agentLossesPerHour: number;
  /** slow-start chaos: the chance (0 to 1) that a launched instance boots slowStartSeconds late (0: never) */
  slowStartProbability: number;
  /** how late a slow-starting instance boots; scaled by timeDilation */
  slowStartSeconds: number;
  /** largest request body the AWS APIs take, in bytes (larger: 413 ClientException) */
  maxRequestBytes: number;
  /** an attempt's log output kept at most (its agent drops the rest and says how much in a last line); 0: no cap */
  maxLogBytesPerAttempt: number;
  /** how often agents sample what a running attempt uses (memory over time; docs/usage.md); 0: only at its end */
  usageSampleSeconds: number;
  /** sustained API requests per second per access key (token bucket); 0: no limit */
  rateLimitPerSecond: number;
  /** requests per access key that may arrive at once above the sustained rate */
  rateLimitBurst: number;
  /** how many partitions' worth of jobs are kept submitted to Slurm at once (1: only what it can run now; more: the next jobs wait in Slurm, started without a round trip) */
  slurmQueueDepth: number;
}

const DEFAULTS: ServerConfig = {
  host: '127.0.0.1',
  port: 8770,
  configFile: '',
  dataDir: '.openbatch',
  databaseUrl: '',
  leaderLeaseSeconds: 5,
  account: '000000000000',
  defaultRegion: 'us-east-1',
  credentials: '',
  credentialsFile: '',
  logLevel: 'info',
  logFormat: 'auto',
  hostVcpus: availableParallelism(),
  hostMemoryMiB: Math.floor(totalmem() / 1024 / 1024),
  scaleDownDelaySeconds: 60,
  terminateGraceSeconds: 30,
  agentTimeoutSeconds: 30,
  agentJoinToken: '',
  timeDilation: 1,
  logRetentionDays: 0,
  defaultExecutor: 'process',
  dockerHost: '',
  secretsFile: '',
  sandbox: 'on',
  sandboxNetwork: 'none',
  vcpuLimit: 'quota',
  jobUser: 'nobody',
  hostVolumeRoots: [],
  allowPrivileged: false,
  maxJoinVcpus: 256,
  metricsAuth: false,
  webhooks: [],
  triggers: [],
  prices: {},
  slurmPartition: '',
  slurmAccount: '',
  slurmQos: '',
  slurmWorkDir: '',
  slurmBinDir: '',
  slurmPollSeconds: 1,
  launchTemplates: [],
  spotInterruptionsPerHour: 0,
  spotNoticeSeconds: 120,
  agentLossesPerHour: 0,
  slowStartProbability: 0,
  slowStartSeconds: 120,
  maxRequestBytes: 1024 * 1024,
  // Far above what a job's log is read for, far below what a runaway loop printing fills a disk with.
  maxLogBytesPerAttempt: 64 * 1024 * 1024,
  usageSampleSeconds: 10,
  // Far above what one client does (a signed no-op peaks near 2,000/s on 2 cores): it stops
  // a runaway script, not a busy pipeline.
  rateLimitPerSecond: 5000,
  rateLimitBurst: 10000,
  slurmQueueDepth: 2,
};

const NUMERIC: (keyof ServerConfig)[] = ['maxJoinVcpus', 'port', 'leaderLeaseSeconds', 'hostVcpus', 'hostMemoryMiB', 'scaleDownDelaySeconds', 'terminateGraceSeconds', 'agentTimeoutSeconds', 'timeDilation', 'logRetentionDays', 'slurmPollSeconds', 'spotInterruptionsPerHour', 'spotNoticeSeconds', 'agentLossesPerHour', 'slowStartProbability', 'slowStartSeconds', 'maxRequestBytes', 'maxLogBytesPerAttempt', 'usageSampleSeconds', 'rateLimitPerSecond', 'rateLimitBurst', 'slurmQueueDepth'];

/**
 * Settings whose value is a JSON object or array (tables such as launch templates, prices,
 * webhooks). In the config file they are plain JSON; in the environment a JSON string. Each
 * feature checks the shape of its own table where it is used, naming the setting.
 */
const STRUCTURED: (keyof ServerConfig)[] = ['webhooks', 'triggers', 'prices', 'launchTemplates', 'hostVolumeRoots'];
/** Settings that are true or false ("true"/"false" in the environment and on the command line). */
const BOOLEAN: (keyof ServerConfig)[] = ['allowPrivileged', 'metricsAuth'];

function envName(key: string): string {
  return 'OPENBATCH_' + key.replace(/[A-Z]/g, (c) => '_' + c).toUpperCase();
}

function coerce(key: keyof ServerConfig, value: unknown, source: string): unknown {
  if (BOOLEAN.includes(key)) {
    if (value === true || value === 'true') return true;
    if (value === false || value === 'false') return false;
    throw new Error(`${source}: ${key} must be true or false (got '${String(value)}')`);
  }
  if (key === 'hostVolumeRoots' && typeof value === 'string' && !value.trim().startsWith('[')) {
    return value.split(',').map((p) => p.trim()).filter(Boolean);
  }
  if (STRUCTURED.includes(key)) {
    if (typeof value !== 'string') return value;
    try {
      return JSON.parse(value) as unknown;
    } catch (e) {
      throw new Error(`${source}: ${key} must be JSON (${(e as Error).message})`);
    }
  }
  if (NUMERIC.includes(key)) {
    const n = typeof value === 'number' ? value : Number(value);
    if (!Number.isFinite(n) || n < 0) throw new Error(`${source}: ${key} must be a non-negative number (got '${String(value)}')`);
    return n;
  }
  return String(value);
}

/**
 * Builds the configuration. `flags` holds only what was given on the command line.
 */
export function loadConfig(flags: Partial<Record<keyof ServerConfig, unknown>> & { config?: string }, env: NodeJS.ProcessEnv = process.env): ServerConfig {
  const out: Record<string, unknown> = { ...DEFAULTS };
  const file = flags.config ?? env.OPENBATCH_CONFIG;
  if (file) {
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    } catch (e) {
      throw new Error(`config file ${file}: ${(e as Error).message}`);
    }
    for (const [k, v] of Object.entries(parsed)) {
      if (!(k in DEFAULTS)) throw new Error(`config file ${file}: unknown setting '${k}'`);
      out[k] = coerce(k as keyof ServerConfig, v, `config file ${file}`);
    }
  }
  for (const key of Object.keys(DEFAULTS) as (keyof ServerConfig)[]) {
    const v = env[envName(key)];
    if (v !== undefined && v !== '') out[key] = coerce(key, v, envName(key));
  }
  for (const [k, v] of Object.entries(flags)) {
    if (k === 'config' || v === undefined) continue;
    if (!(k in DEFAULTS)) continue;
    out[k] = coerce(k as keyof ServerConfig, v, `--${k}`);
  }
  const cfg = out as unknown as ServerConfig;
  if (!(cfg.leaderLeaseSeconds >= 1)) throw new Error(`leaderLeaseSeconds must be at least 1 (got ${cfg.leaderLeaseSeconds})`);
  const oneOf = (key: keyof ServerConfig, allowed: string[]) => {
    if (!allowed.includes(String(cfg[key]))) throw new Error(`${key} must be one of ${allowed.join(', ')} (got '${String(cfg[key])}')`);
  };
  oneOf('defaultExecutor', ['process', 'container']);
  oneOf('sandbox', ['on', 'off', 'auto']);
  if (cfg.sandbox === 'auto') cfg.sandbox = 'on';
  oneOf('logFormat', ['auto', 'json', 'pretty']);
  oneOf('sandboxNetwork', ['none', 'host']);
  oneOf('vcpuLimit', ['quota', 'shares']);
  if (!(cfg.timeDilation > 0)) throw new Error(`timeDilation must be a positive number (got ${cfg.timeDilation})`);
  if (cfg.slowStartProbability > 1) throw new Error(`slowStartProbability must be a chance from 0 to 1 (got ${cfg.slowStartProbability})`);
  if (!Number.isInteger(cfg.maxRequestBytes) || cfg.maxRequestBytes < 1024) throw new Error(`maxRequestBytes must be a whole number of bytes, at least 1024 (got ${cfg.maxRequestBytes})`);
  if (!Number.isInteger(cfg.maxLogBytesPerAttempt)) throw new Error(`maxLogBytesPerAttempt must be a whole number of bytes, 0 for no cap (got ${cfg.maxLogBytesPerAttempt})`);
  if (!(cfg.usageSampleSeconds === 0 || cfg.usageSampleSeconds >= 0.1)) throw new Error(`usageSampleSeconds must be 0 (only at the end of each attempt) or at least 0.1 seconds (got ${cfg.usageSampleSeconds})`);
  if (cfg.rateLimitPerSecond > 0 && cfg.rateLimitBurst < 1) throw new Error(`rateLimitBurst must be at least 1 when rateLimitPerSecond is set (got ${cfg.rateLimitBurst})`);
  if (!Number.isInteger(cfg.logRetentionDays)) throw new Error(`logRetentionDays must be a whole number of days, 0 to keep logs forever (got ${cfg.logRetentionDays})`);
  cfg.dataDir = resolve(cfg.dataDir);
  cfg.configFile = file ? resolve(file) : '';
  if (!Array.isArray(cfg.hostVolumeRoots) || cfg.hostVolumeRoots.some((r) => typeof r !== 'string' || !r.startsWith('/'))) {
    throw new Error(`hostVolumeRoots must list absolute directories (got ${JSON.stringify(cfg.hostVolumeRoots).slice(0, 200)})`);
  }
  cfg.hostVolumeRoots = cfg.hostVolumeRoots.map((r) => resolve(r));
  const rootInData = cfg.hostVolumeRoots.find((r) => r === cfg.dataDir || r.startsWith(cfg.dataDir + '/'));
  if (rootInData) throw new Error(`hostVolumeRoots: ${rootInData} is in the data directory (${cfg.dataDir}), which no job may see`);
  if (!cfg.jobUser) throw new Error('jobUser must name a user or uid (default nobody)');
  return cfg;
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}
