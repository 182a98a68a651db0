/**
 * `openbatch agent`: runs an agent for one instance. The local provider starts one per local
 * instance as a child process; on another machine an operator runs it by hand.
 *
 * The token comes from OPENBATCH_AGENT_TOKEN (or --token), so that it does not show in `ps`.
 * With --exit-with-parent the agent stops its jobs and exits when its standard input closes,
 * which is how a local instance dies with the server that launched it.
 */
import { mkdirSync } from 'node:fs';
import pino from 'pino';
import { ProcessExecutor } from '../executor/process.js';
import { Agent } from './agent.js';

export interface AgentCliOptions {
  server: string;
  instanceId: string;
  token?: string;
  workDir: string;
  exitWithParent?: boolean;
  logLevel?: string;
}

export async function runAgent(opts: AgentCliOptions): Promise<void> {
  const logger = pino({ level: opts.logLevel ?? 'info', base: { instance: opts.instanceId } }, pino.destination(2));
  const token = opts.token ?? process.env.OPENBATCH_AGENT_TOKEN;
  if (!token) throw new Error('an agent token is required: --token or OPENBATCH_AGENT_TOKEN');
  mkdirSync(opts.workDir, { recursive: true });
  const agent = new Agent({
    server: opts.server.replace(/\/$/, ''),
    instanceId: opts.instanceId,
    token,
    executor: new ProcessExecutor(),
    workRoot: opts.workDir,
    logger,
  });
  const stop = () => void agent.stop().then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  if (opts.exitWithParent) {
    process.stdin.on('data', () => undefined);
    process.stdin.once('end', stop);
    process.stdin.once('close', stop);
  }
  await agent.run();
  process.exit(0);
}
