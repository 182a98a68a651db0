import { closeSync, readdirSync, readFileSync } from 'node:fs';

/** Whether a process with this pid exists on this host (one we may not signal exists too). */
export function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * When a process started (clock ticks since boot, field 22 of /proc/<pid>/stat), or undefined
 * when there is no such process (or it has exited and waits to be reaped). With the pid it names one process for good: a pid the
 * kernel hands out again belongs to a process that started later.
 */
export function processStartTime(pid: number): number | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may hold spaces and parentheses itself.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  if (fields[0] === 'Z' || fields[0] === 'X') return undefined; // exited, not yet reaped
  const start = Number(fields[19]);
  return Number.isFinite(start) ? start : undefined;
}

/** Whether the process that had `pid` and started at `startTime` (processStartTime) still runs. */
export function isSameProcess(pid: number, startTime: number | undefined): boolean {
  const now = processStartTime(pid);
  return now !== undefined && (startTime === undefined || now === startTime);
}

/** O_CLOEXEC as /proc/<pid>/fdinfo shows it (octal flags). */
const O_CLOEXEC = 0o2000000;

/**
 * Closes the descriptors this process inherited without close-on-exec (a launcher's stray
 * pipe or file), so that nothing it starts inherits them: Node marks every descriptor it
 * opens close-on-exec, and inherited ones too up to the first gap above 15, not beyond. Only
 * such descriptors are closed, never Node's own. Answers how many were closed (Linux; 0
 * elsewhere).
 */
export function closeInheritedDescriptors(): number {
  let fds: string[];
  try {
    fds = readdirSync('/proc/self/fd');
  } catch {
    return 0;
  }
  let closed = 0;
  for (const name of fds) {
    const fd = Number(name);
    if (fd < 3) continue;
    try {
      const flags = /^flags:\s*([0-7]+)/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'));
      if (!flags || Number.parseInt(flags[1], 8) & O_CLOEXEC) continue;
      closeSync(fd);
      closed++;
    } catch {
      // gone meanwhile (the directory's own descriptor)
    }
  }
  return closed;
}
