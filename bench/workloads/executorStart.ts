/**
 * Workload 8 — what an executor adds to starting a job.
 *
 * One attempt of `true` at a time, N times per executor, each in a working directory of its
 * own as on an agent, timed from `start()` to `exited`
 * (the agent's whole cost of a job, less the protocol): the process executor without and
 * with its bubblewrap sandbox (both with cgroups where the host has them, as agents run),
 * and the container executor when a Docker API socket is given (OPENBATCH_TEST_DOCKER_HOST,
 * image OPENBATCH_TEST_IMAGE, as for the tests). Limit, in the same run: Node's spawn of
 * `true` until 'exit' (spawnTrue, workload 2). Each figure is reported as its ratio to it.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ContainerExecutor } from '../../src/executor/container.js';
import { socketPath } from '../../src/executor/dockerApi.js';
import { ProcessExecutor } from '../../src/executor/process.js';
import type { Executor } from '../../src/executor/types.js';
import { percentiles, type Percentiles } from '../lib.js';
import { spawnTrue } from './latency.js';

export interface ExecutorStartRow {
  executor: string;
  /** start() → exited, ms */
  ms: Percentiles;
  /** p50 ÷ p50 of spawn('true') → 'exit' */
  ratio: number;
  /** why it was not measured */
  skipped?: string;
}

export interface ExecutorStartResult {
  samples: number;
  spawnExitMs: Percentiles;
  rows: ExecutorStartRow[];
}

async function timeExecutor(ex: Executor, samples: number, image?: string): Promise<Percentiles> {
  const dir = mkdtempSync(join(tmpdir(), 'openbatch-bench-exec-'));
  const one = async (i: number) => {
    // A working directory of its own per attempt, made just before, as the agent makes it:
    // with one directory for all, a sandboxed start measured half what agents see.
    const workDir = mkdtempSync(join(dir, 'attempt-'));
    const t0 = performance.now();
    const exit = await ex.start({ attemptId: `bench-${i}#1`, command: ['true'], env: {}, workDir, vcpus: 1, memoryMiB: 128, settings: image ? { image } : {} }, () => undefined).exited;
    if (exit.exitCode !== 0) throw new Error(`${ex.name}: true exited ${exit.exitCode} (${exit.reason ?? ''})`);
    return performance.now() - t0;
  };
  try {
    for (let i = 0; i < 3; i++) await one(-i - 1);
    const times: number[] = [];
    for (let i = 0; i < samples; i++) times.push(await one(i));
    return percentiles(times);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function executorStart(o: { samples: number; containerSamples: number }): Promise<ExecutorStartResult> {
  const exits: number[] = [];
  for (let i = 0; i < 5; i++) await spawnTrue();
  for (let i = 0; i < o.samples; i++) exits.push((await spawnTrue()).exitMs);
  const spawnExitMs = percentiles(exits);
  const row = (executor: string, ms: Percentiles): ExecutorStartRow => ({ executor, ms, ratio: ms.p50 / spawnExitMs.p50 });
  const rows: ExecutorStartRow[] = [];

  const bare = new ProcessExecutor({ sandbox: 'off' });
  rows.push(row(`process, no sandbox (${bare.describe()})`, await timeExecutor(bare, o.samples)));
  bare.close();
  const boxed = new ProcessExecutor({ sandbox: 'auto' });
  if (boxed.capabilities.sandbox) rows.push(row(`process, sandbox (${boxed.describe()})`, await timeExecutor(boxed, o.samples)));
  else rows.push({ executor: 'process, sandbox', ms: percentiles([]), ratio: NaN, skipped: boxed.unavailable.join('; ') });
  boxed.close();

  const host = process.env.OPENBATCH_TEST_DOCKER_HOST ?? '';
  if (host && existsSync(socketPath(host))) {
    const image = process.env.OPENBATCH_TEST_IMAGE ?? 'localhost/openbatch-test/busybox:latest';
    rows.push(row(`container (${host.replace(/^unix:\/\//, '')})`, await timeExecutor(new ContainerExecutor({ dockerHost: host }), o.containerSamples, image)));
  } else rows.push({ executor: 'container', ms: percentiles([]), ratio: NaN, skipped: 'no Docker API socket (OPENBATCH_TEST_DOCKER_HOST)' });
  return { samples: o.samples, spawnExitMs, rows };
}
