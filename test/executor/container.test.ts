/**
 * The container executor against a scripted engine: a Docker Engine API on a unix socket
 * whose answers the test decides, so that what real engines do now and then (a follow
 * stream that ends before the container, an engine that stops mid-run or is not there, a
 * slow pull) happens every time. What every engine does is in behaviour.test.ts, against
 * Podman.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ContainerExecutor } from '../../src/executor/container.js';
import type { AttemptSpec, LogLine } from '../../src/executor/types.js';

/** One frame of Docker's multiplexed log stream. */
function frame(stream: 'stdout' | 'stderr', text: string): Buffer {
  const payload = Buffer.from(text);
  const header = Buffer.alloc(8);
  header[0] = stream === 'stdout' ? 1 : 2;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

interface Script {
  /** the image is not there: the pull answers once `release()` is called */
  pull?: boolean;
  /** frames the follow stream sends before it ends (early, while the container runs) */
  followFrames: Buffer[];
  /** every frame of the container's output, as the engine keeps it */
  allFrames: Buffer[];
  /** the wait answers with this exit code when released */
  wait: number;
  /** the first this many waits, once released, hang up instead: the engine went away meanwhile */
  hangUps?: number;
}

/** A Docker Engine API whose answers follow a script; `gate(name)` releases a held answer. */
class ScriptedEngine {
  readonly dir = mkdtempSync(join(tmpdir(), 'openbatch-engine-'));
  readonly socket = join(this.dir, 'engine.sock');
  readonly calls: string[] = [];
  script: Script = { followFrames: [], allFrames: [], wait: 0 };
  private server!: Server;
  /** answers held now, by name, with what releases each */
  private readonly holding = new Map<string, () => void>();
  /** who waits for an answer of that name to be held */
  private readonly waiting = new Map<string, (() => void)[]>();

  async listen(): Promise<void> {
    this.server = createServer((req, res) => void this.answer(req, res));
    await new Promise<void>((r) => this.server.listen(this.socket, r));
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** Resolves once the engine holds an answer named `name` (now, or the next one). */
  held(name: string): Promise<void> {
    if (this.holding.has(name)) return Promise.resolve();
    return new Promise((r) => this.waiting.set(name, [...(this.waiting.get(name) ?? []), r]));
  }

  /** Lets the held answer `name` go. */
  release(name: string): void {
    const go = this.holding.get(name);
    this.holding.delete(name);
    go?.();
  }

  private hold(name: string): Promise<void> {
    const released = new Promise<void>((r) => this.holding.set(name, r));
    for (const w of this.waiting.get(name) ?? []) w();
    this.waiting.delete(name);
    return released;
  }

  private async answer(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = (req.url ?? '').replace(/^\/v1\.\d+/, '');
    this.calls.push(`${req.method} ${url.split('?')[0]}`);
    for await (const _ of req);
    const json = (status: number, body?: unknown): void => void res.writeHead(status, { 'content-type': 'application/json' }).end(body === undefined ? undefined : JSON.stringify(body));
    if (req.method === 'GET' && url.startsWith('/images/')) return this.script.pull ? json(404, { message: 'no such image' }) : json(200, {});
    if (req.method === 'POST' && url.startsWith('/images/create')) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"status":"Pulling"}\n');
      await this.hold('pull');
      this.script.pull = false;
      return void res.end('{"status":"Downloaded"}\n');
    }
    if (req.method === 'POST' && url.startsWith('/containers/create')) return json(201, { Id: 'c1', Warnings: [] });
    if (req.method === 'POST' && /\/start$/.test(url)) return void res.writeHead(204).end();
    if (req.method === 'GET' && /\/logs\?/.test(url)) {
      res.writeHead(200, { 'content-type': 'application/vnd.docker.raw-stream' });
      if (url.includes('follow=1')) {
        for (const f of this.script.followFrames) res.write(f);
        return void res.end(); // ends while the container still runs
      }
      for (const f of this.script.allFrames) res.write(f);
      return void res.end();
    }
    if (req.method === 'POST' && /\/wait$/.test(url)) {
      await this.hold('wait');
      if (this.script.hangUps) {
        this.script.hangUps--;
        return void req.socket.destroy();
      }
      return json(200, { StatusCode: this.script.wait });
    }
    if (req.method === 'GET' && /\/json$/.test(url)) return json(200, { State: { ExitCode: this.script.wait, OOMKilled: false } });
    if (req.method === 'POST' && /\/kill/.test(url)) return void res.writeHead(204).end();
    if (req.method === 'DELETE') return void res.writeHead(204).end();
    json(404, { message: `no route ${req.method} ${url}` });
  }
}

let seq = 0;
function spec(): AttemptSpec {
  return { attemptId: `scripted-${++seq}#1`, command: ['work'], env: {}, workDir: tmpdir(), vcpus: 1, memoryMiB: 64, settings: { image: 'example/job:1' } };
}

describe('container executor against a scripted engine', () => {
  const engine = new ScriptedEngine();
  let ex: ContainerExecutor;
  before(async () => {
    await engine.listen();
    ex = new ContainerExecutor({ dockerHost: `unix://${engine.socket}`, cgroups: false });
  });
  after(async () => engine.close());

  test('an attempt is running only once its container started: not while its image is pulled', async () => {
    engine.script = { pull: true, followFrames: [], allFrames: [], wait: 0 };
    const run = ex.start(spec(), () => undefined);
    let runningAt: number | undefined;
    void run.whenRunning!.then((at) => (runningAt = at));
    await engine.held('pull');
    await new Promise((r) => setImmediate(r));
    assert.equal(runningAt, undefined, 'not running while the image is pulled');
    engine.release('pull');
    await engine.held('wait');
    assert.equal(typeof (await run.whenRunning), 'number');
    engine.release('wait');
    assert.deepEqual(await run.exited, { exitCode: 0 });
  });

  test('no line is lost when the follow stream ends before the container: the rest is read after the exit', async () => {
    const all = [frame('stdout', 'one\n'), frame('stderr', 'warn\n'), frame('stdout', 'two\nthr'), frame('stdout', 'ee\n'), frame('stdout', 'last, unterminated')];
    engine.script = { followFrames: all.slice(0, 2), allFrames: all, wait: 3 };
    const lines: LogLine[] = [];
    const run = ex.start(spec(), (batch) => lines.push(...batch));
    await engine.held('wait');
    engine.release('wait');
    assert.deepEqual(await run.exited, { exitCode: 3 });
    assert.deepEqual(
      lines.map((l) => `${l.stream}:${l.message}`),
      ['stdout:one', 'stderr:warn', 'stdout:two', 'stdout:three', 'stdout:last, unterminated'],
    );
  });

  test('an engine that cannot be reached: CannotCreateContainerError saying so, and the attempt never started', async () => {
    const gone = new ContainerExecutor({ dockerHost: `unix://${join(engine.dir, 'no-engine.sock')}`, cgroups: false });
    const run = gone.start(spec(), () => undefined);
    const exit = await run.exited;
    assert.equal(exit.exitCode, null);
    assert.equal(exit.neverStarted, true);
    assert.match(exit.reason ?? '', /^CannotCreateContainerError: cannot reach the Docker API at .*no-engine\.sock/);
    assert.equal(await run.whenRunning, undefined);
  });

  test('an engine that stops answering while the container runs: the attempt runs on, and the container is waited for again once it answers', async () => {
    // The container outlives its engine's API: failing the attempt would let its retry run beside it.
    const all = [frame('stdout', 'working\n'), frame('stdout', 'done\n')];
    engine.script = { followFrames: all.slice(0, 1), allFrames: all, wait: 5, hangUps: 1 };
    const lines: LogLine[] = [];
    const run = ex.start(spec(), (batch) => lines.push(...batch));
    let ended = false;
    void run.exited.then(() => (ended = true));
    await engine.held('wait');
    engine.release('wait'); // the engine hangs up
    await engine.held('wait'); // and is asked again
    assert.equal(ended, false, 'the attempt did not end while its exit was unknown');
    engine.release('wait');
    assert.deepEqual(await run.exited, { exitCode: 5 });
    assert.deepEqual(lines.map((l) => l.message), ['working', 'done'], 'its output, the part the engine kept meanwhile included');
  });

  test('terminated while its image is pulled: it never starts', async () => {
    engine.script = { pull: true, followFrames: [], allFrames: [], wait: 0 };
    engine.calls.length = 0;
    const run = ex.start(spec(), () => undefined);
    await engine.held('pull');
    run.terminate(0);
    engine.release('pull');
    assert.deepEqual(await run.exited, { exitCode: null, neverStarted: true });
    assert.ok(!engine.calls.includes('POST /containers/create'), 'no container was made');
  });
});
