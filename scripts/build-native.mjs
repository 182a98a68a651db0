// Compiles the agent's native helpers into dist/native/. Part of `npm run build`. Without a C
// compiler the build goes on, without them:
//   openbatch-forkserver       (src/executor/forkserver.c, with its sandbox, sandbox.c) agents
//                              then start jobs with Node's own spawn, which works but costs far
//                              more per job (docs/benchmarks.md);
//   openbatch-metadata-relay   (src/executor/metadata-relay.c) sandboxed jobs with a network of
//                              their own then have no task metadata endpoint
//                              (ECS_CONTAINER_METADATA_URI_V4, docs/executors.md).
import { spawnSync } from 'node:child_process';
import { mkdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const mtime = (f) => { try { return statSync(f).mtimeMs; } catch { return -1; } };
const cc = process.env.CC || 'cc';
const helpers = [
  { srcs: ['forkserver.c', 'sandbox.c', 'sandbox.h', 'relay.c', 'relay.h'], out: 'openbatch-forkserver', without: "agents will start jobs with Node's spawn, which is slower" },
  { srcs: ['metadata-relay.c', 'relay.c', 'relay.h'], out: 'openbatch-metadata-relay', without: 'sandboxed jobs with a network of their own will have no task metadata endpoint' },
];
for (const h of helpers) {
  const srcs = h.srcs.map((f) => `${root}src/executor/${f}`);
  const out = `${root}dist/native/${h.out}`;
  // A source not there (a package that does not ship it) is said, never taken as up to date.
  const missing = h.srcs.filter((f, i) => mtime(srcs[i]) < 0);
  if (missing.length) {
    console.warn(`openbatch: ${missing.join(', ')} is missing from this copy of openbatch; ${h.without}`);
    continue;
  }
  if (srcs.every((src) => mtime(out) >= mtime(src))) continue;
  mkdirSync(`${root}dist/native`, { recursive: true });
  const r = spawnSync(cc, ['-O2', '-Wall', '-o', out, ...srcs.filter((f) => f.endsWith('.c'))], { stdio: 'inherit' });
  if (r.status !== 0) {
    console.warn(`openbatch: could not compile ${h.srcs[0]} with '${cc}' (${r.error?.message ?? `exit ${r.status}`}); ${h.without}`);
  }
}
