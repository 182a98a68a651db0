/**
 * openbatch installed as a user installs it: the npm package (`npm pack`) installed globally
 * puts `openbatch` on PATH, ships no tests or benches, and runs a server whose local agents
 * run jobs from the installed files; `npm start` logs JSON into a pipe and stops its server
 * on SIGTERM (npm's `sh -c` used to die alone and leave the server running).
 */
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { processExists } from '../../src/processes.js';
import { stopAgentsUnder } from '../helpers/agents.js';
import { tempDir } from '../helpers/server.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

/** An environment without the caller's openbatch and AWS settings. */
function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('AWS_') && !k.startsWith('OPENBATCH_') && !k.startsWith('npm_')) env[k] = v;
  return { ...env, ...extra };
}

/** Waits for the JSON log line saying where the server listens; returns its url and pid. */
function listening(child: ChildProcess): Promise<{ url: string; pid: number }> {
  return new Promise((resolve, reject) => {
    let out = '';
    const onData = (c: Buffer) => {
      out += c.toString();
      for (const line of out.split('\n')) {
        if (!line.startsWith('{')) continue;
        const o = JSON.parse(line) as { url?: string; pid: number; msg: string };
        if (o.url && /listening/.test(o.msg)) {
          child.stdout!.off('data', onData);
          resolve({ url: o.url, pid: o.pid });
        }
      }
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`exited ${code} before listening:\n${out}`)));
  });
}

async function until(what: string, check: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('openbatch installed with npm', () => {
  let dir: string;
  const started: ChildProcess[] = [];
  /** servers known by pid only (npm's child): stopped after, even when a test failed */
  const pids: number[] = [];

  before(() => {
    dir = tempDir('openbatch-install-');
  });
  after(async () => {
    for (const c of started) if (c.exitCode === null) c.kill('SIGKILL');
    await stopAgentsUnder(dir);
    for (const pid of pids) if (processExists(pid)) process.kill(pid, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  test('npm pack + npm install -g: openbatch is on PATH, the package holds no tests, and its server runs jobs', { timeout: 300_000 }, async () => {
    // --ignore-scripts: pack the build that is there (prepare would rebuild dist/ under the other tests).
    const packed = JSON.parse((await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: ROOT, env: cleanEnv() })).stdout) as { filename: string; files: { path: string }[] }[];
    const files = packed[0].files.map((f) => f.path);
    assert.ok(files.includes('dist/src/cli/main.js') && files.includes('dist/web/index.html'));
    assert.deepEqual(files.filter((f) => /^(dist\/)?(test|bench|examples|docs)\//.test(f)), [], 'no tests, benches, examples or docs');

    const prefix = join(dir, 'prefix');
    // Its dependencies come from the registry as for any user. Scripts are skipped: better-sqlite3's
    // compile would test better-sqlite3's build, for minutes; its module is taken from this checkout
    // (the same Node), and the package's own install step is run below.
    await run('npm', ['install', '-g', '--prefix', prefix, '--ignore-scripts', '--no-audit', '--no-fund', join(dir, packed[0].filename)], { env: cleanEnv(), timeout: 240_000 });
    const pkg = join(prefix, 'lib', 'node_modules', 'openbatch');
    const native = join('node_modules', 'better-sqlite3', 'build', 'Release');
    mkdirSync(join(pkg, native), { recursive: true });
    for (const f of readdirSync(join(ROOT, native)).filter((f) => f.endsWith('.node'))) copyFileSync(join(ROOT, native, f), join(pkg, native, f));
    await run(process.execPath, [join(pkg, 'scripts', 'build-native.mjs')], { cwd: pkg });
    // Its native helpers are built from the sources the package ships, as `npm install` does.
    for (const helper of ['openbatch-forkserver', 'openbatch-metadata-relay']) assert.ok(existsSync(join(pkg, 'dist', 'native', helper)), `${helper} is built at install`);

    const env = cleanEnv({ PATH: `${join(prefix, 'bin')}:${process.env.PATH}` });
    const version = await run('openbatch', ['--version'], { env });
    assert.equal(version.stdout, `openbatch ${VERSION} (Node.js ${process.versions.node})\n`);

    const server = spawn('openbatch', ['server', '--port', '0', '--data-dir', join(dir, 'data')], { env, cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    started.push(server);
    const { url } = await listening(server);
    const page = await fetch(`${url}/`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<div id="root">/);
    const cli = (...args: string[]) => run('openbatch', ['--endpoint-url', url, ...args], { env, cwd: dir });
    await cli('init');
    const r = await cli('submit', '--wait', '--', 'sh', '-c', 'echo installed');
    assert.match(r.stderr, /SUCCEEDED \(exit 0\)/);
    assert.equal((await cli('logs', r.stdout.trim())).stdout, 'installed\n');
    server.kill('SIGTERM');
    await until('the server to stop', () => server.exitCode !== null);
    assert.ok(existsSync(join(dir, 'data')));
    // Its local agents outlive it, by design: stopped here, as an operator retiring the host would.
    await stopAgentsUnder(join(dir, 'data'));
  });

  test('npm start logs JSON into a pipe and stops its server on SIGTERM', async () => {
    const data = join(dir, 'npm-start');
    const npm = spawn('npm', ['start', '--', '--port', '0', '--data-dir', data], { cwd: ROOT, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    started.push(npm);
    const { pid } = await listening(npm);
    pids.push(pid);
    assert.notEqual(pid, npm.pid, 'the server is npm’s child');
    npm.kill('SIGTERM');
    await until('npm to exit', () => npm.exitCode !== null || npm.signalCode !== null);
    await until(`the server (pid ${pid}) to stop`, () => !processExists(pid));
  });
});
