/** `openbatch join-token rotate`: a new join token for the agents that join UNMANAGED compute environments. */
import type { Command } from 'commander';
import type { RotatedJoinToken } from '../compute/joinedAgents.js';
import { withClient, type ConnectionFlags } from './client.js';
import { json, keyValues, wantsJson } from './output.js';

export function registerJoinTokenCommand(program: Command): void {
  const cmd = program
    .command('join-token')
    .description('the token agents present to join UNMANAGED compute environments')
    .addHelpText('after', '\nExample:\n  openbatch join-token rotate     # a new token; the old one is refused from now on');
  cmd
    .command('rotate')
    .description('replace the join token on every server of the database: the old one is refused from now on')
    .option('--json', 'print the answer as JSON')
    .addHelpText(
      'after',
      '\nAgents already joined keep working (each has an instance token of its own); new ones need the new token,\nwhich is printed this once and kept in the server\'s <data-dir>/agent-join-token (0600). A token set by\nthe configuration (agentJoinToken) is changed there instead.\n\nExample:\n  openbatch join-token rotate',
    )
    .action((flags: ConnectionFlags & { json?: boolean }) =>
      withClient(flags, async (c) => {
        const r = await c.openbatch<RotatedJoinToken>('rotateJoinToken', {});
        if (wantsJson(flags)) return void process.stdout.write(json(r));
        process.stdout.write(keyValues([['token', r.token], ['kept in', `${r.file} (on the server)`], ['old token', 'refused from now on; joined agents carry on']]));
      }),
    );
}
