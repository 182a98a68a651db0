/**
 * Runs the trigger rules: scans each rule's directory every `pollSeconds` and submits one
 * job per new file that matches its glob.
 *
 * - Scanning (not inotify): works the same on local disks, NFS and bind mounts, and a
 *   restart misses nothing, because what was taken is in the database, not in memory.
 * - A file still being written is left alone: it is taken only once two scans at least
 *   `settleSeconds` apart saw the same size and mtime, and its mtime is that old.
 * - Once: a file version (path, size, mtime) is claimed in the `trigger_files` ledger before
 *   its job is submitted and completed with the job id after. A claim a crash left without
 *   job is resolved at start by finding the job tagged `openbatch:trigger-file` with that
 *   path; only if there is none is the file submitted again. A file rewritten later (new
 *   size or mtime) is a new file and is submitted again.
 * - A submission the server refuses (queue not created yet, bad override) is logged and
 *   retried after 30 s; the claim is released so nothing is lost.
 *
 * The job gets the file's absolute path as parameter `file` (Ref::file; `parameterName`
 * changes it) and as environment variables OPENBATCH_TRIGGER_FILE and OPENBATCH_TRIGGER_RULE.
 *
 * A rule with `then` submits a chain: the file's job, then each follow-up depending on the
 * job before it. Every job of the chain carries the rule and file tags; follow-ups also
 * `openbatch:trigger-step` (then[i]). A crash in the middle of a chain is resolved at start
 * like a crash before the first submission: the jobs already there are found by their tags
 * and only the missing rest of the chain is submitted.
 */
import { jobTagsOf } from '../store/jobs.js';
import { readdir, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { Logger } from 'pino';
import type { Invoke } from '../api/invoke.js';
import type { Clock, Timer, Timers } from '../model/ids.js';
import type { Db } from '../store/db.js';
import { claimFile, completeFile, inDoubt, isClaimed, jobsCreatedSince, releaseFile, type FileKey } from '../store/triggerFiles.js';
import type { FollowUp, TriggerRule } from './rules.js';

const RETRY_REFUSED_MS = 30_000;
export const FILE_TAG = 'openbatch:trigger-file';
export const RULE_TAG = 'openbatch:trigger';
export const STEP_TAG = 'openbatch:trigger-step';

export interface TriggerOptions {
  db: Db;
  clock: Clock;
  timers: Timers;
  logger: Logger;
  invoke: Invoke;
  rules: TriggerRule[];
}

interface Seen {
  size: number;
  mtimeMs: number;
  /** when this size/mtime was first seen */
  since: number;
}

async function walk(dir: string, depth: number, rel: string, out: string[]): Promise<void> {
  if (depth <= 0) return;
  let entries;
  try {
    entries = await readdir(join(dir, rel), { withFileTypes: true });
  } catch {
    return; // not there (yet), or unreadable: nothing to take
  }
  for (const e of entries) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) await walk(dir, depth - 1, r, out);
    else if (e.isFile()) out.push(r);
  }
}

function jobNameFor(rule: TriggerRule, path: string): string {
  const base = rule.jobName ?? `${rule.name}-${basename(path)}`;
  return base.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 128);
}

/** A follow-up's job name: its own, or the file's job name and the definition's name (`scenes-a_pov-stitch`). */
function followUpName(f: FollowUp, fileJobName: string): string {
  const definition = f.jobDefinition.split('/').pop()!.split(':')[0];
  return (f.jobName ?? `${fileJobName}-${definition}`).replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 128);
}

class RuleRunner {
  private readonly seen = new Map<string, Seen>();
  /** path → "size:mtime" of the version already taken (saves a ledger read per scan) */
  private readonly taken = new Map<string, string>();
  private readonly refusedUntil = new Map<string, number>();
  private timer: Timer | undefined;
  private scanning: Promise<void> | undefined;
  private stopped = false;

  constructor(
    readonly rule: TriggerRule,
    private readonly o: TriggerOptions,
  ) {}

  start(): void {
    const tick = () => {
      if (this.stopped) return;
      this.scanning = this.scan()
        .catch((err) => this.o.logger.warn({ err, trigger: this.rule.name }, 'trigger scan failed'))
        .finally(() => {
          this.scanning = undefined;
          if (!this.stopped) this.timer = this.o.timers.after(this.rule.pollSeconds * 1000, tick);
        });
    };
    tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.timer?.clear();
    await this.scanning;
  }

  private async scan(): Promise<void> {
    const { glob } = this.rule;
    const files: string[] = [];
    await walk(glob.base, glob.depth, '', files);
    const now = this.o.clock.now();
    const settleMs = this.rule.settleSeconds * 1000;
    const present = new Set<string>();
    for (const rel of files.filter((f) => glob.matches(f)).sort()) {
      if (this.stopped) return;
      const path = join(glob.base, rel);
      present.add(path);
      let st;
      try {
        st = await stat(path);
      } catch {
        continue;
      }
      const version = `${st.size}:${Math.trunc(st.mtimeMs)}`;
      if (this.taken.get(path) === version) continue;
      const prev = this.seen.get(path);
      if (!prev || prev.size !== st.size || prev.mtimeMs !== Math.trunc(st.mtimeMs)) {
        this.seen.set(path, { size: st.size, mtimeMs: Math.trunc(st.mtimeMs), since: now });
        continue; // changed since the last scan (or new): still being written, perhaps
      }
      if (now - prev.since < settleMs || now - prev.mtimeMs < settleMs) continue;
      if ((this.refusedUntil.get(path) ?? 0) > now) continue;
      const key: FileKey = { rule: this.rule.name, path, size: prev.size, mtimeMs: prev.mtimeMs };
      if (await isClaimed(this.o.db, key)) {
        this.taken.set(path, version);
        continue;
      }
      if (await this.take(key)) this.taken.set(path, version);
    }
    for (const p of this.seen.keys()) if (!present.has(p)) this.seen.delete(p);
    for (const p of this.taken.keys()) if (!present.has(p)) this.taken.delete(p);
  }

  /** Submits the file's job; false when the server refused it (retried later). */
  private async take(key: FileKey): Promise<boolean> {
    if (!(await claimFile(this.o.db, key, this.o.clock.now()))) return true;
    try {
      const jobId = await this.submit(key.path);
      await completeFile(this.o.db, key, { jobId });
      this.o.logger.info({ trigger: this.rule.name, file: key.path, jobId }, 'trigger submitted a job');
      return true;
    } catch (e) {
      await releaseFile(this.o.db, key);
      this.refusedUntil.set(key.path, this.o.clock.now() + RETRY_REFUSED_MS);
      this.o.logger.warn({ trigger: this.rule.name, file: key.path, error: (e as Error).message }, 'trigger could not submit a job; retrying in 30 s');
      return false;
    }
  }

  /** Submits the file's chain of jobs; `have` holds the ids of those submitted before a crash. Returns the first job's id. */
  async submit(path: string, have: (string | undefined)[] = []): Promise<string> {
    const r = this.rule;
    const steps: (TriggerRule | FollowUp)[] = [r, ...r.then];
    const ids: string[] = [];
    for (let i = 0; i < steps.length; i++) {
      const known = have[i];
      if (known) {
        ids.push(known);
        continue;
      }
      const step = steps[i];
      const follow = i > 0 ? (step as FollowUp) : undefined;
      const overrides = { ...(step.containerOverrides ?? {}) } as { environment?: { name: string; value: string }[] };
      overrides.environment = [
        ...(overrides.environment ?? []),
        { name: 'OPENBATCH_TRIGGER_FILE', value: path },
        { name: 'OPENBATCH_TRIGGER_RULE', value: r.name },
      ];
      const baseName = jobNameFor(r, path);
      const out = (await this.o.invoke('SubmitJob', {
        jobName: follow ? followUpName(follow, baseName) : baseName,
        jobQueue: follow?.jobQueue ?? r.jobQueue,
        jobDefinition: step.jobDefinition,
        parameters: { ...r.parameters, ...(follow?.parameters ?? {}), [r.parameterName]: path },
        containerOverrides: overrides,
        ...(step.arrayProperties ? { arrayProperties: step.arrayProperties } : {}),
        ...(follow ? { dependsOn: [{ jobId: ids[i - 1], ...(follow.dependencyType ? { type: follow.dependencyType } : {}) }] } : {}),
        ...(step.retryStrategy ? { retryStrategy: step.retryStrategy } : {}),
        ...(step.timeout ? { timeout: step.timeout } : {}),
        tags: { ...(r.tags ?? {}), [RULE_TAG]: r.name, [FILE_TAG]: path.slice(-256), ...(follow ? { [STEP_TAG]: `then[${i - 1}]` } : {}) },
      })) as { jobId: string };
      ids.push(out.jobId);
    }
    return ids[0];
  }
}

export class Triggers {
  private readonly runners: RuleRunner[];

  constructor(private readonly o: TriggerOptions) {
    this.runners = o.rules.map((r) => new RuleRunner(r, o));
  }

  async start(): Promise<void> {
    await this.resolveInDoubt();
    for (const r of this.runners) r.start();
    if (this.o.rules.length) this.o.logger.info({ triggers: this.o.rules.map((r) => `${r.name}: ${r.watch}`) }, 'watching for files');
  }

  /**
   * Claims a crash left between claim and submission: find their jobs (the file's job and
   * any follow-ups already submitted) and submit the rest of the chain, or release them.
   */
  private async resolveInDoubt(): Promise<void> {
    for (const row of await inDoubt(this.o.db)) {
      const key: FileKey = { rule: row.rule, path: row.path, size: Number(row.size), mtimeMs: Number(row.mtime_ms) };
      const runner = this.runners.find((x) => x.rule.name === row.rule);
      const rule = runner?.rule;
      const have: (string | undefined)[] = [];
      if (rule) {
        const queues = [rule.jobQueue, ...rule.then.map((f) => f.jobQueue ?? rule.jobQueue)];
        for (let i = 0; i < queues.length; i++) {
          const jobs = await jobsCreatedSince(this.o.db, queues[i], Number(row.submitted_at));
          have.push(
            jobs.find((j) => {
              const tags = jobTagsOf(j);
              return tags[RULE_TAG] === row.rule && tags[FILE_TAG] === row.path.slice(-256) && tags[STEP_TAG] === (i === 0 ? undefined : `then[${i - 1}]`);
            })?.id,
          );
        }
      }
      if (!runner || !have[0]) {
        await releaseFile(this.o.db, key);
        continue;
      }
      try {
        await runner.submit(row.path, have);
      } catch (e) {
        this.o.logger.warn({ trigger: row.rule, file: row.path, error: (e as Error).message }, 'trigger could not submit the rest of a chain a crash interrupted');
      }
      await completeFile(this.o.db, key, { jobId: have[0] });
    }
  }

  async stop(): Promise<void> {
    await Promise.all(this.runners.map((r) => r.stop()));
  }
}
