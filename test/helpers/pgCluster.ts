/**
 * A throwaway PostgreSQL cluster of a test's own (initdb, pg_ctl), as scripts/ci/postgres.sh
 * makes the suite's: for tests that stop and start the database under a running control
 * plane, which they cannot do to the server other tests share. Needs Debian's PostgreSQL and
 * root (the cluster belongs to the postgres user); `unavailable()` says why not otherwise.
 */
import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import pg from 'pg';

function binDir(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root).sort((a, b) => Number(b) - Number(a));
  const bin = versions.map((v) => join(root, v, 'bin')).find((b) => existsSync(join(b, 'initdb')));
  return bin;
}

function postgresUser(): { uid: number; gid: number } | undefined {
  try {
    return { uid: Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' })), gid: Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' })) };
  } catch {
    return undefined;
  }
}

/** Why a cluster cannot be made here, or undefined when it can. */
export function pgClusterUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'a PostgreSQL cluster of its own needs root (it runs as the postgres user)';
  if (!binDir()) return 'PostgreSQL is not installed (scripts/ci/postgres.sh installs it)';
  if (!postgresUser()) return 'there is no postgres user';
  return undefined;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export interface PgCluster {
  /** postgres://… of a database `openbatch` (C collation) */
  url: string;
  stop(mode?: 'fast' | 'immediate'): void;
  start(): void;
  destroy(): void;
}

export async function startPgCluster(): Promise<PgCluster> {
  const bin = binDir()!;
  const user = postgresUser()!;
  // Not under the suite's temporary directory, which only its owner may enter: the cluster is the postgres user's.
  const dir = mkdtempSync('/var/tmp/openbatch-pg-');
  chownSync(dir, user.uid, user.gid);
  const port = await freePort();
  const password = 'pw' + Math.random().toString(36).slice(2);
  writeFileSync(join(dir, 'pw'), password);
  chownSync(join(dir, 'pw'), user.uid, user.gid);
  const as = (cmd: string, ...args: string[]) => execFileSync('runuser', ['-u', 'postgres', '--', join(bin, cmd), ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  as('initdb', '-D', join(dir, 'data'), '-U', 'openbatch', `--pwfile=${join(dir, 'pw')}`, '-A', 'scram-sha-256', '--locale=C', '-E', 'UTF8');
  const start = () => as('pg_ctl', '-D', join(dir, 'data'), '-l', join(dir, 'log'), '-w', '-o', `-c listen_addresses=127.0.0.1 -p ${port} -c unix_socket_directories=${dir} -c fsync=off`, 'start');
  start();
  const base = `postgres://openbatch:${password}@127.0.0.1:${port}`;
  const admin = new pg.Client({ connectionString: `${base}/postgres` });
  await admin.connect();
  try {
    await admin.query("CREATE DATABASE openbatch TEMPLATE template0 LC_COLLATE 'C' LC_CTYPE 'C'");
  } finally {
    await admin.end();
  }
  return {
    url: `${base}/openbatch`,
    stop(mode = 'fast') {
      as('pg_ctl', '-D', join(dir, 'data'), '-m', mode, '-w', 'stop');
    },
    start,
    destroy() {
      try {
        as('pg_ctl', '-D', join(dir, 'data'), '-m', 'immediate', '-w', 'stop');
      } catch {
        // not running
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
