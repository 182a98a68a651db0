/**
 * A job definition's `user` ("name", "uid", "name:group", "uid:gid") resolved against this
 * host's /etc/passwd and /etc/group, for the process executor. Containers resolve it against
 * their image instead (the runtime does that).
 */
import { readFileSync } from 'node:fs';

export interface HostUser {
  uid: number;
  gid: number;
  /** the passwd entry's name, when there is one (supplementary groups are looked up by it) */
  name?: string;
  home?: string;
}

function table(file: string): string[][] {
  try {
    return readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => l && !l.startsWith('#'))
      .map((l) => l.split(':'));
  } catch {
    return [];
  }
}

/** Resolves `spec`; throws an Error whose message says what is unknown. */
export function resolveUser(spec: string, etc = '/etc'): HostUser {
  const [userPart, groupPart] = spec.split(':', 2);
  const passwd = table(`${etc}/passwd`);
  const numeric = /^\d+$/.test(userPart);
  const entry = passwd.find((e) => (numeric ? e[2] === userPart : e[0] === userPart));
  if (!entry && !numeric) throw new Error(`user "${userPart}" does not exist on this host`);
  const uid = numeric ? Number(userPart) : Number(entry![2]);
  let gid = entry ? Number(entry[3]) : uid;
  if (groupPart !== undefined && groupPart !== '') {
    if (/^\d+$/.test(groupPart)) gid = Number(groupPart);
    else {
      const g = table(`${etc}/group`).find((e) => e[0] === groupPart);
      if (!g) throw new Error(`group "${groupPart}" does not exist on this host`);
      gid = Number(g[2]);
    }
  }
  return { uid, gid, name: entry?.[0], home: entry?.[5] };
}

/** The unprivileged user a root agent runs jobs as (`jobUser`): a name or uid; `nobody` is 65534 where the host has no such entry. */
export function defaultJobUser(spec: string, etc = '/etc'): HostUser {
  try {
    return resolveUser(spec, etc);
  } catch (e) {
    if (spec === 'nobody') return { uid: 65534, gid: 65534, name: undefined };
    throw e;
  }
}
