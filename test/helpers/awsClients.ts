/**
 * The clients users actually have besides the JS SDK: Debian's `aws` CLI and Debian's boto3,
 * run as child processes with an AWS configuration of their own, so that no user config
 * file, profile or endpoint setting from the environment can change what they do.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export const AWS = '/usr/bin/aws';
export const PYTHON = '/usr/bin/python3';

/** Why the aws CLI tests cannot run here, or false when they can. */
export const awsMissing: string | false = existsSync(AWS) ? false : `${AWS} is missing: install Debian's awscli (apt-get install awscli)`;

/** Why the boto3 tests cannot run here, or false when they can. */
export const boto3Missing: string | false = (() => {
  if (!existsSync(PYTHON)) return `${PYTHON} is missing: install python3 and python3-boto3`;
  const r = spawnSync(PYTHON, ['-c', 'import boto3'], { encoding: 'utf8' });
  return r.status === 0 ? false : `python3-boto3 is missing (import boto3 failed): apt-get install python3-boto3`;
})();

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Credentials and region for a client run against a test server. */
export const TEST_CREDENTIALS_ENV = { AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_DEFAULT_REGION: 'us-east-1' };

/**
 * Runs a command with /usr/bin first on PATH, HOME at `home` and AWS configuration files
 * there (none exist unless the test writes them); `extraEnv` adds to that, `stdin` is written
 * to its standard input.
 */
export function run(cmd: string, args: string[], home: string, extraEnv: Record<string, string> = {}, opts: { timeoutMs?: number; stdin?: string } = {}): Promise<Run> {
  const timeoutMs = opts.timeoutMs ?? 120_000;
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('AWS_')) env[k] = v;
  Object.assign(env, {
    PATH: `/usr/bin:/bin:${process.env.PATH ?? ''}`,
    HOME: home,
    AWS_CONFIG_FILE: join(home, 'aws-config'),
    AWS_SHARED_CREDENTIALS_FILE: join(home, 'aws-credentials'),
    AWS_PAGER: '',
    ...extraEnv,
  });
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: [opts.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    if (opts.stdin !== undefined) child.stdin!.end(opts.stdin);
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${cmd} ${args.join(' ').slice(0, 80)} did not finish in ${timeoutMs} ms\nstdout:\n${stdout}\nstderr:\n${stderr}`));
    }, timeoutMs);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** A run's outcome for a failure message. */
export function show(r: Run): string {
  return `exit ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;
}

/** `DescribeJobs` → `describe-jobs`, the aws CLI's name of an operation. */
export function cliCommand(operation: string): string {
  return operation.replace(/(?<!^)([A-Z])/g, '-$1').toLowerCase();
}
