/**
 * What attempts used, read from fake cgroup and /proc files: the counters relative to when an
 * attempt took its (reused) cgroup, the peak reset per attempt, the v1 host whose cpuacct is a
 * hierarchy of its own, the processes of an attempt in /proc, the engine's stats.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { CgroupHost } from '../../src/executor/cgroups.js';
import { attemptProcesses, CgroupMeter, CounterFile, cpuStatSeconds, taskFigures, timesCpuSeconds, engineFigures, ioBytes, parseProcStat, ProcWatch, scanProc } from '../../src/executor/usage.js';

const root = mkdtempSync(join(tmpdir(), 'openbatch-usage-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
function dir(files: Record<string, string | number>): string {
  const d = join(root, `d${++n}`);
  mkdirSync(d, { recursive: true });
  write(d, files);
  return d;
}
function write(d: string, files: Record<string, string | number>): void {
  for (const [f, v] of Object.entries(files)) writeFileSync(join(d, f), String(v));
}
const MiB = 1024 * 1024;

describe('usage from a cgroup v1', () => {
  test('counters count from when the attempt took the cgroup; the peak is reset for it', () => {
    const d = dir({
      'cpuacct.usage': 5e9,
      'memory.usage_in_bytes': 10 * MiB,
      'memory.max_usage_in_bytes': 900 * MiB, // the last attempt's peak
      'blkio.throttle.io_service_bytes_recursive': '8:0 Read 1000\n8:0 Write 2000\n8:0 Sync 0\n8:0 Total 3000\nTotal 3000\n',
    });
    const meter = new CgroupMeter({ memory: { version: 1, dir: d }, cpu: { version: 1, dir: d }, io: { version: 1, dir: d } });
    meter.start(false);
    // The kernel resets the high-water mark to the usage on a write of 0; the fake file keeps the 0.
    write(d, {
      'cpuacct.usage': 7.5e9,
      'memory.usage_in_bytes': 300 * MiB,
      'memory.max_usage_in_bytes': 310 * MiB,
      'blkio.throttle.io_service_bytes_recursive': '8:0 Read 5096\n8:0 Write 2000\n8:16 Write 8192\nTotal 15288\n',
    });
    assert.deepEqual(meter.read(), { source: 'cgroup', cpuSeconds: 2.5, memoryBytes: 300 * MiB, peakMemoryBytes: 310 * MiB, readBytes: 4096, writeBytes: 8192 });
  });

  test("the next attempt in a reused cgroup counts from the last one's end, without the last one's late writeback", () => {
    const d = dir({ 'cpuacct.usage': 1e9, 'memory.usage_in_bytes': 0, 'memory.max_usage_in_bytes': 0, 'blkio.throttle.io_service_bytes_recursive': '8:0 Write 0\n' });
    const meter = new CgroupMeter({ memory: { version: 1, dir: d }, cpu: { version: 1, dir: d }, io: { version: 1, dir: d } });
    meter.start(true);
    write(d, { 'cpuacct.usage': 3e9, 'blkio.throttle.io_service_bytes_recursive': '8:0 Write 4096\n' });
    assert.equal(meter.read(true).cpuSeconds, 2);
    meter.stop();
    // Between the attempts the kernel writes back the first one's dirty pages; its CPU time stands still.
    write(d, { 'blkio.throttle.io_service_bytes_recursive': '8:0 Write 12288\n' });
    meter.start(false);
    write(d, { 'cpuacct.usage': 3.5e9, 'blkio.throttle.io_service_bytes_recursive': '8:0 Write 16384\n' });
    const next = meter.read();
    assert.equal(next.cpuSeconds, 0.5);
    assert.equal(next.writeBytes, 4096, 'only what was written after the second attempt took the cgroup');
  });

  test('a fresh cgroup is read as it is', () => {
    const d = dir({ 'cpuacct.usage': 0, 'memory.usage_in_bytes': 0, 'memory.max_usage_in_bytes': 0 });
    const meter = new CgroupMeter({ memory: { version: 1, dir: d }, cpu: { version: 1, dir: d } });
    meter.start(true);
    write(d, { 'cpuacct.usage': 1.25e9, 'memory.usage_in_bytes': 50 * MiB, 'memory.max_usage_in_bytes': 200 * MiB });
    assert.deepEqual(meter.read(), { source: 'cgroup', cpuSeconds: 1.25, memoryBytes: 50 * MiB, peakMemoryBytes: 200 * MiB });
  });
});

describe('a counter file kept open', () => {
  test('each read gives what the file says now; a file that is not there reads as nothing', () => {
    const d = dir({ 'cpuacct.usage': 5 });
    const f = new CounterFile(join(d, 'cpuacct.usage'));
    assert.equal(f.number(), 5);
    write(d, { 'cpuacct.usage': 123456789 });
    assert.equal(f.number(), 123456789, 'read again through the same descriptor');
    write(d, { 'cpuacct.usage': 7 });
    assert.equal(f.read(), '7');
    const long = 'x'.repeat(40_000);
    write(d, { 'cpuacct.usage': long });
    assert.equal(f.read(), long, 'longer than the buffer: read whole');
    f.close();
    assert.equal(new CounterFile(join(d, 'absent')).read(), undefined);
    assert.equal(new CounterFile(join(d, 'absent')).number(), undefined);
  });
});

describe('usage from a cgroup v2', () => {
  test('cpu.stat, memory.current and memory.peak, io.stat', () => {
    const d = dir({ 'cpu.stat': 'usage_usec 1000000\nuser_usec 800000\nsystem_usec 200000\n', 'memory.current': MiB, 'memory.peak': MiB, 'io.stat': '' });
    const meter = new CgroupMeter({ memory: { version: 2, dir: d }, cpu: { version: 2, dir: d }, io: { version: 2, dir: d } });
    meter.start(true);
    write(d, {
      'cpu.stat': 'usage_usec 4500000\nuser_usec 4000000\nsystem_usec 500000\n',
      'memory.current': 64 * MiB,
      'memory.peak': 128 * MiB,
      'io.stat': '8:0 rbytes=4096 wbytes=1048576 rios=1 wios=8 dbytes=0 dios=0\n253:0 rbytes=4096 wbytes=0 rios=1 wios=0 dbytes=0 dios=0\n',
    });
    assert.deepEqual(meter.read(), { source: 'cgroup', cpuSeconds: 3.5, memoryBytes: 64 * MiB, peakMemoryBytes: 128 * MiB, readBytes: 8192, writeBytes: MiB });
  });

  test("a reused cgroup whose peak cannot be reset: the largest sample, never the last attempt's peak", () => {
    const d = dir({ 'cpu.stat': 'usage_usec 0\n', 'memory.current': 2 * MiB, 'memory.peak': 900 * MiB });
    const meter = new CgroupMeter({ memory: { version: 2, dir: d }, cpu: { version: 2, dir: d } });
    // A regular file takes the write of "reset" and reads back no number: the reset did not take.
    meter.start(false);
    write(d, { 'memory.current': 40 * MiB, 'memory.peak': 900 * MiB });
    assert.equal(meter.read().peakMemoryBytes, 40 * MiB);
    write(d, { 'memory.current': 30 * MiB });
    assert.equal(meter.read().peakMemoryBytes, 40 * MiB);
  });

  test('the files parsed', () => {
    assert.equal(cpuStatSeconds('usage_usec 2500000\nuser_usec 1\n'), 2.5);
    assert.equal(cpuStatSeconds('nr_periods 0\n'), undefined);
    assert.deepEqual(ioBytes('8:0 Read 10\n8:0 Write 20\n8:0 Async 30\n8:0 Total 60\nTotal 60\n', 1), { readBytes: 10, writeBytes: 20 });
    assert.deepEqual(ioBytes('8:0 rbytes=1 wbytes=2 rios=3\n', 2), { readBytes: 1, writeBytes: 2 });
  });
});

describe('a cgroup v1 host whose cpuacct is a hierarchy of its own', () => {
  test('attempts are placed in cpuacct and blkio beside memory, cpu and pids, and their CPU time is read from cpuacct', () => {
    const sys = join(root, 'sys');
    const proc = join(root, 'proc-v1');
    const hierarchies = ['cpu', 'cpuacct', 'memory', 'pids', 'blkio'];
    for (const h of hierarchies) mkdirSync(join(sys, h, 'agent'), { recursive: true });
    mkdirSync(join(proc, 'self'), { recursive: true });
    writeFileSync(
      join(proc, 'self/mountinfo'),
      hierarchies.map((h, i) => `${40 + i} 31 0:${30 + i} / ${join(sys, h)} rw,relatime - cgroup cgroup rw,${h}`).join('\n') + '\n',
    );
    writeFileSync(join(proc, 'self/cgroup'), hierarchies.map((h, i) => `${i + 1}:${h}:/agent`).join('\n') + '\n0::/\n');
    const host = CgroupHost.probe({ procRoot: proc });
    assert.deepEqual(host.controllers.sort(), ['blkio', 'cpu', 'cpuacct', 'memory', 'pids']);
    const cg = host.create({ memoryMiB: 512, vcpus: 1, swapMiB: 0, pidsMax: 100 });
    assert.equal(cg.dirs.get('cpuacct')!.dir.startsWith(join(sys, 'cpuacct', 'agent', 'openbatch')), true);
    assert.equal(cg.procsFiles().length, 5, 'a process joins every hierarchy');
    write(cg.dirs.get('cpuacct')!.dir, { 'cpuacct.usage': 3e9 });
    write(cg.dirs.get('memory')!.dir, { 'memory.usage_in_bytes': 5 * MiB, 'memory.max_usage_in_bytes': 6 * MiB });
    assert.deepEqual(cg.usage(), { source: 'cgroup', cpuSeconds: 3, memoryBytes: 5 * MiB, peakMemoryBytes: 6 * MiB });
  });
});

describe('usage from /proc', () => {
  const stat = (pid: number, comm: string, ppid: number, sid: number, ticks: [number, number, number, number], rss: number) =>
    `${pid} (${comm}) S ${ppid} ${pid} ${sid} 0 -1 4194560 100 0 0 0 ${ticks.join(' ')} 20 0 1 0 100 1000000 ${rss} 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0`;

  test('a stat line whose command holds spaces and parentheses', () => {
    assert.deepEqual(parseProcStat(stat(42, 'my (odd) job', 1, 42, [10, 5, 3, 2], 256)), { pid: 42, ppid: 1, sid: 42, ticks: 20, rssPages: 256 });
    assert.equal(parseProcStat('garbage'), undefined);
  });

  test("an attempt's processes: the leader's descendants and its session, nobody else's", () => {
    const table = new Map(
      [
        { pid: 100, ppid: 1, sid: 100, ticks: 0, rssPages: 1 },
        { pid: 101, ppid: 100, sid: 100, ticks: 0, rssPages: 1 },
        { pid: 102, ppid: 101, sid: 102, ticks: 0, rssPages: 1 }, // setsid() below the leader
        { pid: 103, ppid: 1, sid: 100, ticks: 0, rssPages: 1 }, // daemonized, still in the session
        { pid: 200, ppid: 1, sid: 200, ticks: 0, rssPages: 1 },
        { pid: 201, ppid: 200, sid: 200, ticks: 0, rssPages: 1 },
      ].map((e) => [e.pid, e]),
    );
    assert.deepEqual(attemptProcesses(table, 100).map((e) => e.pid).sort(), [100, 101, 102, 103]);
    assert.deepEqual(attemptProcesses(table, 999), []);
  });

  test('sums over the processes, each figure the largest sum seen', () => {
    const proc = join(root, 'proc');
    const set = (pid: number, line: string, io?: string) => {
      mkdirSync(join(proc, String(pid)), { recursive: true });
      writeFileSync(join(proc, String(pid), 'stat'), line);
      if (io) writeFileSync(join(proc, String(pid), 'io'), io);
    };
    set(300, stat(300, 'sh', 1, 300, [50, 10, 0, 0], 100), 'rchar: 1\nread_bytes: 4096\nwrite_bytes: 0\n');
    set(301, stat(301, 'python3', 300, 300, [100, 40, 0, 0], 1000), 'read_bytes: 0\nwrite_bytes: 8192\n');
    set(400, stat(400, 'other', 1, 400, [999, 999, 0, 0], 9999));
    const watch = new ProcWatch(proc, 60_000, { tick: 0.01, page: 4096 });
    const t = watch.watch(300);
    assert.deepEqual(t.read(), { source: 'proc', cpuSeconds: 2, memoryBytes: 1100 * 4096, peakMemoryBytes: 1100 * 4096, readBytes: 4096, writeBytes: 8192 });
    // The child exited and was reaped by the shell: its time is in the shell's children's times.
    rmSync(join(proc, '301'), { recursive: true });
    set(300, stat(300, 'sh', 1, 300, [50, 10, 100, 45], 100), 'read_bytes: 4096\nwrite_bytes: 8192\n');
    watch.sampleAll([t]);
    assert.deepEqual(t.read(), { source: 'proc', cpuSeconds: 2.05, memoryBytes: 100 * 4096, peakMemoryBytes: 1100 * 4096, readBytes: 4096, writeBytes: 8192 });
    t.stop();
    assert.equal(scanProc(proc).size, 2);
  });
});

describe("usage from the container engine's stats", () => {
  test("Podman's answer (no peak: the sample is the peak) and Docker's on v1 (max_usage)", () => {
    assert.deepEqual(
      engineFigures({ cpu_stats: { cpu_usage: { total_usage: 30_244_753 } }, memory_stats: { usage: 253_952 }, blkio_stats: { io_service_bytes_recursive: [] } }),
      { source: 'engine', cpuSeconds: 0.030244753, memoryBytes: 253_952, peakMemoryBytes: 253_952, readBytes: 0, writeBytes: 0 },
    );
    assert.deepEqual(
      engineFigures({
        cpu_stats: { cpu_usage: { total_usage: 2e9 } },
        memory_stats: { usage: 10 * MiB, max_usage: 90 * MiB },
        blkio_stats: { io_service_bytes_recursive: [{ op: 'Read', value: 10 }, { op: 'Write', value: 20 }, { op: 'Total', value: 30 }] },
      }),
      { source: 'engine', cpuSeconds: 2, memoryBytes: 10 * MiB, peakMemoryBytes: 90 * MiB, readBytes: 10, writeBytes: 20 },
    );
    assert.deepEqual(engineFigures({}), { source: 'engine' });
  });
});

describe("a task's figures from its containers'", () => {
  test('CPU time and bytes add up; memory now is what the running ones hold; the peak is at least the largest together or alone', () => {
    const web = { source: 'engine' as const, cpuSeconds: 2, memoryBytes: 100 * MiB, peakMemoryBytes: 300 * MiB, readBytes: 10, writeBytes: 20 };
    const sidecar = { source: 'engine' as const, cpuSeconds: 0.5, memoryBytes: 50 * MiB, peakMemoryBytes: 60 * MiB };
    assert.deepEqual(taskFigures([web, sidecar, undefined], 200 * MiB, true), {
      source: 'engine',
      cpuSeconds: 2.5,
      memoryBytes: 150 * MiB,
      peakMemoryBytes: 300 * MiB,
      readBytes: 10,
      writeBytes: 20,
    });
    // Together they once held more than either alone: that is the peak. At the end, no memory now.
    assert.deepEqual(taskFigures([web, sidecar], 350 * MiB, false), { source: 'engine', cpuSeconds: 2.5, peakMemoryBytes: 350 * MiB, readBytes: 10, writeBytes: 20 });
    assert.equal(taskFigures([undefined, undefined], 0, false), undefined, 'nothing measured');
  });
});

describe("a shell's times", () => {
  test('the CPU time of what it waited for, user and system, as dash and bash print it', () => {
    assert.equal(timesCpuSeconds('0m0.000000s 0m0.000000s\n0m0.140000s 0m0.250000s\n'), 0.39);
    assert.equal(timesCpuSeconds('0m0.001s 0m0.002s\n2m1.500s 0m0.500s\n'), 122);
    assert.equal(timesCpuSeconds('0m0.001s 0m0.002s\n'), undefined);
    assert.equal(timesCpuSeconds(''), undefined);
  });
});
