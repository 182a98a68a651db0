/**
 * The leader role: what only one server of a database runs — the scheduler, the compute
 * providers (local instances, Slurm), webhook delivery, triggers and log retention. On SQLite
 * the one server leads from its start; on PostgreSQL the holder of the leader lease does
 * (cluster/leadership.ts, docs/design/leader.md), and every write of the role goes through
 * the fenced unit of work it is given, so that a deposed leader's late write is refused.
 *
 * Every server, leader or not, is a control plane (server.ts): it serves the API and the
 * agents' protocol, and writes what it is asked; the role is started when the server is
 * elected and stopped when it is deposed or shuts down.
 */
import type { Core, KickReason } from './core.js';
import type { Invoke } from './api/invoke.js';
import { AgentSilence, type LeaseTimes } from './compute/agentLease.js';
import { makeChaos, type Random } from './compute/chaos.js';
import type { JoinedAgents } from './compute/joinedAgents.js';
import { LocalProvider } from './compute/localProvider.js';
import { Providers } from './compute/providers.js';
import { SlurmProvider } from './compute/slurmProvider.js';
import { Webhooks, type Webhook, type WebhookOptions } from './events/webhooks.js';
import type { SandboxCheck } from './executor/sandbox.js';
import { LogRetention } from './logs/retention.js';
import type { Metrics } from './metrics/metrics.js';
import type { PriceTable } from './model/cost.js';
import { SchedulerLoop } from './scheduler/loop.js';
import type { TriggerRule } from './triggers/rules.js';
import { Triggers } from './triggers/watcher.js';

export interface LeaderRoleOptions extends Core {
  /** the URL this server's local agents reach it at */
  url(): string;
  /** wake the agent of an instance, wherever it polls */
  notifyInstance(instanceId: string): void;
  metrics: Metrics;
  joined: JoinedAgents;
  lease: LeaseTimes;
  sandbox: SandboxCheck;
  /** the random source of chaos decisions; default Math.random */
  random?: Random;
  prices: PriceTable | null;
  hooks: Webhook[];
  triggerRules: TriggerRule[];
  /** the API's operations, for triggers' SubmitJobs */
  invoke: Invoke;
  /** the events of state changes, as webhooks deliver them */
  render: WebhookOptions['render'];
}

export class LeaderRole {
  readonly provider: LocalProvider;
  readonly slurm: SlurmProvider;
  private readonly loop: SchedulerLoop;
  private readonly delivery: Webhooks;
  private readonly triggers: Triggers;
  private readonly retention: LogRetention;
  /** the scheduler runs (after the providers recovered the instances of the previous leader) */
  private running = false;

  constructor(o: LeaderRoleOptions) {
    // Agents are judged from now: time before this server led does not count against them.
    const silence = new AgentSilence(o.lease, o.clock.now());
    this.provider = new LocalProvider({ ...o, serverUrl: o.url, silence, chaos: makeChaos(o.config, o.random), scaled: o.metrics });
    this.slurm = new SlurmProvider(o);
    this.loop = new SchedulerLoop({
      uow: o.uow,
      clock: o.clock,
      timers: o.timers,
      ids: o.ids,
      logger: o.logger,
      provider: new Providers([this.slurm, this.provider]),
      prices: o.prices,
      ceDefaults: o.config,
      timeDilation: o.config.timeDilation,
      afterPass: (usage, farm) => o.joined.afterPass(silence, usage, farm),
      onPass: (ms) => o.metrics.observePass(ms / 1000),
      onPlaced: (instances) => {
        instances.forEach((i) => o.notifyInstance(i));
        this.slurm.kick();
      },
    });
    this.delivery = new Webhooks({ db: o.db, clock: o.clock, timers: o.timers, logger: o.logger, hooks: o.hooks, render: o.render });
    this.triggers = new Triggers({ db: o.db, clock: o.clock, timers: o.timers, logger: o.logger, invoke: o.invoke, rules: o.triggerRules });
    this.retention = new LogRetention({ db: o.db, clock: o.clock, timers: o.timers, logger: o.logger, days: o.config.logRetentionDays });
  }

  /** Takes over this host's local instances, then starts the scheduler and the rest. */
  async start(): Promise<void> {
    await this.provider.recover();
    this.running = true;
    this.loop.start();
    await this.delivery.start();
    await this.triggers.start();
    this.slurm.start();
    this.retention.start();
  }

  /** The scheduler loop, once it runs. */
  get scheduler(): SchedulerLoop | undefined {
    return this.running ? this.loop : undefined;
  }

  /** Asks for a scheduler pass soon (coalesced). */
  kick(why?: KickReason): void {
    this.scheduler?.kick(why);
  }

  /** Webhook events were committed: deliver them. */
  deliver(): void {
    this.delivery.kick();
  }

  /** Stops everything started, the scheduler's pass in progress included. Agents run on. */
  async stop(): Promise<void> {
    this.running = false;
    await this.triggers.stop();
    await this.loop.stop();
    await this.delivery.stop();
    await this.retention.stop();
    await this.provider.close();
    await this.slurm.close();
  }
}
