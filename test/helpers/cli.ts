/** Running the `openbatch` CLI as a real subprocess against a server. */
import { spawn } from 'node:child_process';
import { CLI } from './server.js';

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The environment without the caller's AWS_* and OPENBATCH_* settings, pointed at `url`. */
export function cliEnv(url: string, extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('AWS_') && !k.startsWith('OPENBATCH_')) env[k] = v;
  env.OPENBATCH_ENDPOINT = url;
  return { ...env, ...extra };
}

export function runCli(url: string, args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}): Promise<CliRun> {
  const child = spawn(process.execPath, [CLI, ...args], { env: cliEnv(url, opts.env), cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

export function showRun(r: CliRun): string {
  return `exit ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;
}
