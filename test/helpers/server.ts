/**
 * Test servers: a real openbatch server on a free port with its own data directory, and the
 * real AWS SDK client pointed at it. The data directory is kept when a test fails (its path
 * is printed) and removed when it passes. With OPENBATCH_TEST_DATABASE_URL set, each server
 * keeps its state in a PostgreSQL database of its own instead (helpers/postgres.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BatchClient, type MountPoint, type Volume } from '@aws-sdk/client-batch';
import pino from 'pino';
import { loadConfig, type ServerConfig } from '../../src/config.js';
import { startServer, type RunningServer } from '../../src/server.js';
import { dropTestDatabase, testDatabaseFor } from './postgres.js';
import { stopAgentsUnder } from './agents.js';

export { agentsUnder, stopAgentsUnder } from './agents.js';

export const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

export interface TestServer {
  server: RunningServer;
  url: string;
  dataDir: string;
  client: BatchClient;
  /** The server's latest warnings and errors (its log lines at warn and above), for failure messages. */
  warnings(): string[];
  close(opts?: { keepData?: boolean }): Promise<void>;
}

/** How many of a server's latest warning lines a test keeps for its failure messages. */
const WARNINGS_KEPT = 50;

/** Keeps the last WARNINGS_KEPT pino lines at warn (40) and above of `text`, appended to `lines`. */
function keepWarnings(lines: string[], text: string): void {
  for (const line of text.split('\n')) {
    const m = /"level":(\d+)/.exec(line);
    if (!m || Number(m[1]) < 40) continue;
    lines.push(line.length > 2000 ? `${line.slice(0, 2000)}…` : line);
    if (lines.length > WARNINGS_KEPT) lines.shift();
  }
}

export function tempDir(prefix = 'openbatch-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/**
 * A temporary directory that jobs may read (0755): gates they wait for, inputs. A job run by a
 * root agent runs as nobody, and the host's directories are read-only to it: what a job
 * writes on the host goes through a volume of its job definition (hostVolumeDir).
 */
export function sharedDir(prefix = 'openbatch-shared-'): string {
  const dir = tempDir(prefix);
  chmodSync(dir, 0o755);
  return dir;
}

/** A temporary directory that jobs may write (0777), through a volume (hostVolume) where they run sandboxed. */
export function writableDir(prefix = 'openbatch-out-'): string {
  const dir = tempDir(prefix);
  chmodSync(dir, 0o777);
  return dir;
}

/**
 * The containerProperties members that give a job the host directory `dir`, read-write, at
 * the same path: how a job definition writes on the host. The server must allow the path
 * (hostVolumeRoots).
 */
export function hostVolume(dir: string, name = 'shared'): { volumes: Volume[]; mountPoints: MountPoint[] } {
  return { volumes: [{ name, host: { sourcePath: dir } }], mountPoints: [{ sourceVolume: name, containerPath: dir, readOnly: false }] };
}

export function batchClient(url: string, credentials = { accessKeyId: 'test', secretAccessKey: 'test' }, region = 'us-east-1'): BatchClient {
  return new BatchClient({ endpoint: url, region, credentials, maxAttempts: 1 });
}

export async function startTestServer(overrides: Partial<ServerConfig> = {}, opts: { dataDir?: string; random?: () => number } = {}): Promise<TestServer> {
  const dataDir = opts.dataDir ?? tempDir();
  const config = loadConfig({ port: 0, dataDir, logLevel: process.env.OPENBATCH_TEST_LOG ?? 'silent' }, {});
  config.databaseUrl = await testDatabaseFor(dataDir);
  Object.assign(config, overrides);
  // Silent by default, yet a failing test can still say what the server warned about.
  const warnings: string[] = [];
  const logger = process.env.OPENBATCH_TEST_LOG ? pino({ level: config.logLevel }) : pino({ level: 'warn' }, { write: (s: string) => keepWarnings(warnings, s) });
  const server = await startServer(config, { logger, random: opts.random });
  const client = batchClient(server.url);
  return {
    server,
    url: server.url,
    dataDir,
    client,
    warnings: () => [...warnings],
    async close({ keepData } = {}) {
      client.destroy();
      // Agents outlive their server; a test leaves none behind.
      await server.close({ stopAgents: true });
      if (!keepData) {
        rmSync(dataDir, { recursive: true, force: true });
        await dropTestDatabase(dataDir);
      }
    },
  };
}

/** A server as a separate process (`openbatch server`), for tests that kill or restart it. */
export interface ServerProcess {
  child: ChildProcess;
  url: string;
  dataDir: string;
  /** The server's latest warnings and errors (its log lines at warn and above), for failure messages. */
  warnings(): string[];
  /** Signals the server process alone and waits for it to exit; its agents live on (as they do in production). */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** The end of a test: SIGTERM to the server, then its data directory's agents are stopped and waited for. */
  stop(): Promise<void>;
}

export async function spawnServer(dataDir: string, port = 0, env: Record<string, string> = {}): Promise<ServerProcess> {
  const databaseUrl = await testDatabaseFor(dataDir);
  const child = spawn(process.execPath, [CLI, 'server', '--port', String(port), '--data-dir', dataDir, '--log-level', 'info'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...(databaseUrl ? { OPENBATCH_DATABASE_URL: databaseUrl } : {}), ...env },
  });
  let buf = '';
  const url = await new Promise<string>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      buf += chunk.toString();
      const m = /"url":"(http:\/\/[^"]+)"/.exec(buf);
      if (m) {
        child.stdout!.off('data', onData);
        resolve(m[1]);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (c: Buffer) => (buf += c.toString()));
    child.once('exit', (code) => reject(new Error(`server exited early with code ${code}: ${buf}`)));
  });
  const warnings: string[] = [];
  keepWarnings(warnings, buf);
  let partial = '';
  child.stdout!.on('data', (c: Buffer) => {
    const text = partial + c.toString();
    const cut = text.lastIndexOf('\n') + 1;
    partial = text.slice(cut);
    keepWarnings(warnings, text.slice(0, cut));
  });
  child.stderr!.resume();
  const kill = (signal: NodeJS.Signals = 'SIGKILL') =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill(signal);
    });
  return {
    child,
    url,
    dataDir,
    warnings: () => [...warnings],
    kill,
    async stop() {
      await kill('SIGTERM');
      await stopAgentsUnder(dataDir);
    },
  };
}
