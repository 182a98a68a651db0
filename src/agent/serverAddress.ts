/**
 * Where a server can be reached now, kept in its data directory for the agents it launched.
 *
 * Local agents outlive their server (compute/localProvider.ts), but the URL they were started
 * with does not: a server restarted on another port (`--port 0`, a changed setting, a port
 * taken meanwhile) would never hear from them again, their lease would run out and their jobs
 * stop. So a server writes its URL to `<dataDir>/server-url` each time it listens, and its
 * agents, given the file (`--server-file`), read it again whenever a request fails: an agent
 * launched by the previous server process finds its successor, on whatever port.
 *
 * The file is replaced by a rename, so a reader sees the old URL or the new one, never half.
 */
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** The file in a server's data directory that names the URL it listens on. */
export function serverUrlFile(dataDir: string): string {
  return join(dataDir, 'server-url');
}

/** Records `url` as where the server of `dataDir` listens (atomically; throws where the disk refuses). */
export function writeServerUrl(dataDir: string, url: string): void {
  const file = serverUrlFile(dataDir);
  const temp = `${file}.${process.pid}.tmp`;
  try {
    writeFileSync(temp, url + '\n', { mode: 0o644 });
    renameSync(temp, file);
  } catch (e) {
    rmSync(temp, { force: true });
    throw e;
  }
}

/** The URL the file names, without trailing slashes; undefined when it is missing, unreadable or empty. */
export function readServerUrl(file: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  const url = text.trim().replace(/\/+$/, '');
  return url || undefined;
}
