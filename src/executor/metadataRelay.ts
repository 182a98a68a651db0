/**
 * The task metadata endpoint inside a sandbox that has a network of its own (loopback only):
 * the relay (src/executor/metadata-relay.c, built into dist/native/) runs first in the sandbox,
 * listens on the sandbox's loopback and forwards to the attempt's unix socket, then runs the
 * job. See agent/taskMetadata.ts.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Where `npm run build` puts the relay: dist/native/, beside dist/src/. */
export const METADATA_RELAY_PATH = fileURLToPath(new URL('../../native/openbatch-metadata-relay', import.meta.url));

/**
 * The relay's address in the sandbox. ECS serves the endpoint at 169.254.170.2:80, which a
 * loopback-only namespace cannot route; the URI the job is given says where it is instead.
 */
export const RELAY_ADDRESS = '127.0.0.1:51679';

/** The name of the attempt's socket in its working directory (visible to the sandboxed job, and to it alone). */
export const RELAY_SOCKET = '.openbatch-task-metadata.sock';

/** Whether this build has the relay (it needs a C compiler at build time). */
export function haveRelay(): boolean {
  return existsSync(METADATA_RELAY_PATH);
}
