/**
 * The raw limit for workload 3 in Node: a minimal script that spawns `true` N times with
 * C in flight, as the process executor spawns (own process group, stdout/stderr piped), and
 * prints {"ms": …} — the time from the first spawn to the last exit.
 *
 *   node dist/bench/spawnLoop.js <N> <C>
 */
import { spawn } from 'node:child_process';

function one(): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('true', [], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.resume();
    child.stderr!.resume();
    child.once('error', reject);
    child.once('close', () => resolve());
  });
}

const n = Number(process.argv[2] ?? 100);
const c = Number(process.argv[3] ?? 1);
let next = 0;
const t0 = performance.now();
await Promise.all(
  Array.from({ length: Math.min(c, n) }, async () => {
    while (next < n) {
      next++;
      await one();
    }
  }),
);
process.stdout.write(JSON.stringify({ ms: performance.now() - t0 }) + '\n');
