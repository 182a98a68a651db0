/**
 * Prometheus metrics at `GET /metrics`.
 *
 * Counters and histograms are fed as things happen (API requests, scheduler passes, job
 * state changes); gauges that describe the whole farm (jobs by queue and status, instances
 * and vCPUs by compute environment) are read from the database when scraped, so they are
 * always true and cost nothing between scrapes.
 */
import { backlogByHook } from '../store/webhookOutbox.js';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { JobStateChange } from '../model/jobStateMachine.js';
import { failureCode } from '../model/reasons.js';
import type { Db } from '../store/db.js';
import { liveInstances } from '../store/instances.js';
import { countByQueueAndStatus, createdAtOf } from '../store/jobs.js';

export class Metrics {
  readonly registry = new Registry();
  private readonly apiLatency = new Histogram({
    name: 'openbatch_api_request_duration_seconds',
    help: 'API request latency by operation and HTTP status',
    labelNames: ['operation', 'status'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [this.registry],
  });
  private readonly passDuration = new Histogram({
    name: 'openbatch_scheduler_pass_duration_seconds',
    help: 'Duration of a scheduler pass',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [this.registry],
  });
  private readonly submitToStart = new Histogram({
    name: 'openbatch_job_submit_to_running_seconds',
    help: 'Time from SubmitJob (or array child creation) to RUNNING',
    buckets: [0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 5, 30, 120, 600],
    registers: [this.registry],
  });
  private readonly transitions = new Counter({
    name: 'openbatch_job_transitions_total',
    help: 'Job state changes by target status',
    labelNames: ['status'],
    registers: [this.registry],
  });
  private readonly failures = new Counter({
    name: 'openbatch_job_failures_total',
    help: 'Jobs that ended FAILED, by a code of their statusReason: essential_container_exited, task_failed_to_start, dependent_job_failed, array_child_failed, timeout, host_terminated, main_node_exited, other (CancelJob and TerminateJob reasons among them)',
    labelNames: ['reason'],
    registers: [this.registry],
  });
  // Launch and termination rates: rate() over these. The labels stay few: compute
  // environments are bounded (AWS allows 50) and the reasons are codes, not texts.
  private readonly launches = new Counter({
    name: 'openbatch_instance_launches_total',
    help: 'Local instances launched, by compute environment and why (demand: waiting work; minvCpus)',
    labelNames: ['compute_environment', 'reason'],
    registers: [this.registry],
  });
  private readonly terminations = new Counter({
    name: 'openbatch_instance_terminations_total',
    help: 'Local instances terminated, by compute environment and why (idle, yield, ce_disabled, fargate_done, spot, agent_lost, agent_exited, bootstrap_failed, restart)',
    labelNames: ['compute_environment', 'reason'],
    registers: [this.registry],
  });

  constructor(private readonly db: Db) {
    // Node's default metrics under their usual names (process_cpu_seconds_total, nodejs_*),
    // which stock Node.js dashboards and alerts look for; a prefix would hide them from those.
    collectDefaultMetrics({ register: this.registry });
    const store = this.db;
    new Gauge({
      name: 'openbatch_jobs',
      help: 'Jobs by queue and status',
      labelNames: ['queue', 'status'],
      registers: [this.registry],
      async collect() {
        this.reset();
        for (const r of await countByQueueAndStatus(store)) this.set({ queue: r.queue, status: r.status }, r.count);
      },
    });
    new Gauge({
      name: 'openbatch_webhook_backlog',
      help: 'Job state change events not yet accepted by each webhook',
      labelNames: ['webhook'],
      registers: [this.registry],
      async collect() {
        this.reset();
        for (const b of await backlogByHook(store)) this.set({ webhook: b.hook }, b.n);
      },
    });
    // Both instance gauges read the instances themselves: prom-client collects gauges one
    // after another, so one filling the other would report the previous scrape's values.
    new Gauge({
      name: 'openbatch_instance_vcpus',
      help: 'vCPUs of live instances by compute environment',
      labelNames: ['compute_environment'],
      registers: [this.registry],
      async collect() {
        this.reset();
        for (const i of await liveInstances(store)) this.inc({ compute_environment: i.ce_name }, i.vcpus);
      },
    });
    new Gauge({
      name: 'openbatch_instances',
      help: 'Live instances by compute environment',
      labelNames: ['compute_environment'],
      registers: [this.registry],
      async collect() {
        this.reset();
        for (const i of await liveInstances(store)) this.inc({ compute_environment: i.ce_name });
      },
    });
  }

  observeApi(operation: string, status: number, seconds: number): void {
    this.apiLatency.observe({ operation, status: String(status) }, seconds);
  }

  /** A local instance was launched (ScaleEvents). */
  launched(ce: string, why: string): void {
    this.launches.inc({ compute_environment: ce, reason: why });
  }

  /** A local instance was terminated (ScaleEvents). */
  terminated(ce: string, why: string): void {
    this.terminations.inc({ compute_environment: ce, reason: why });
  }

  observePass(seconds: number): void {
    this.passDuration.observe(seconds);
  }

  /** Fed with every committed batch of job state changes. */
  async onChanges(changes: JobStateChange[]): Promise<void> {
    const started: JobStateChange[] = [];
    for (const c of changes) {
      this.transitions.inc({ status: c.to });
      if (c.to === 'FAILED') this.failures.inc({ reason: failureCode(c.statusReason) });
      if (c.to === 'RUNNING') started.push(c);
    }
    if (started.length) {
      const created = await createdAtOf(this.db, started.map((c) => c.jobId));
      for (const c of started) {
        const at = created.get(c.jobId);
        if (at !== undefined) this.submitToStart.observe(Math.max(c.at - at, 0) / 1000);
      }
    }
  }
}
