// Compiles the agent's fork server (src/executor/forkserver.c, with its sandbox, sandbox.c) into dist/native/. Part of
// `npm run build`. Without a C compiler the build goes on: agents then start jobs with Node's
// own spawn, which works but costs far more per job (docs/benchmarks.md).
import { spawnSync } from 'node:child_process';
import { mkdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const srcs = ['forkserver.c', 'sandbox.c', 'sandbox.h'].map((f) => `${root}src/executor/${f}`);
const out = `${root}dist/native/openbatch-forkserver`;
const mtime = (f) => { try { return statSync(f).mtimeMs; } catch { return -1; } };
if (srcs.every((src) => mtime(out) >= mtime(src))) process.exit(0);
mkdirSync(`${root}dist/native`, { recursive: true });
const cc = process.env.CC || 'cc';
const r = spawnSync(cc, ['-O2', '-Wall', '-o', out, ...srcs.filter((f) => f.endsWith('.c'))], { stdio: 'inherit' });
if (r.status !== 0) {
  console.warn(`openbatch: could not compile the fork server with '${cc}' (${r.error?.message ?? `exit ${r.status}`}); agents will start jobs with Node's spawn, which is slower`);
}
