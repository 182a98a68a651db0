/**
 * `openbatch instances`: the capacity compute environments have (local instances, Fargate
 * tasks, joined agents) with what each holds and why it ended; `openbatch instances
 * interrupt <id>` gives a SPOT / FARGATE_SPOT instance its interruption notice.
 */
import type { Command } from 'commander';
import type { InstanceView } from '../api/instances.js';
import { withClient, withConnection, type ConnectionFlags } from './client.js';
import { json, table } from './output.js';

function num(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(2).replace(/0+$/, '');
}

function time(ms: number | null): string {
  return ms === null ? '-' : new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

function stateColour(state: string) {
  return state === 'ACTIVE' ? ('green' as const) : state === 'TERMINATED' ? ('dim' as const) : ('yellow' as const);
}

async function list(flags: ConnectionFlags & { ce?: string; state?: string[]; all?: boolean; json?: boolean }): Promise<void> {
  await withClient(flags, async (c) => {
    const query: Record<string, string | string[]> = {};
    if (flags.ce) query.computeEnvironment = flags.ce;
    if (flags.state?.length) query.state = flags.state;
    else if (flags.all) query.state = ['PENDING', 'LAUNCHING', 'ACTIVE', 'TERMINATING', 'TERMINATED'];
    const { instances } = await c.openbatchHttp<{ instances: InstanceView[] }>('GET', '/openbatch/v1/instances', query);
    if (flags.json) return void process.stdout.write(json(instances));
    if (instances.length === 0) return void process.stdout.write('no instances\n');
    process.stdout.write(
      table(instances, [
        { header: 'INSTANCE', value: (i) => i.instanceId },
        { header: 'TYPE', value: (i) => i.instanceType + (i.capped ? ' (capped)' : '') },
        { header: 'CE', value: (i) => i.computeEnvironment },
        { header: 'HOST', value: (i) => i.address ?? i.hostname ?? '-' },
        { header: 'STATE', value: (i) => i.state + (i.interruptionAt !== null && i.state !== 'TERMINATED' ? ' (Spot notice)' : '') + (i.state === 'PENDING' && i.slowStartMs ? ' (slow start)' : ''), colour: (i) => stateColour(i.state) },
        { header: 'VCPUS', value: (i) => `${num(i.used.vcpus)}/${num(i.capacity.vcpus)}`, right: true },
        { header: 'MEMORY', value: (i) => `${i.used.memoryMiB}/${i.capacity.memoryMiB}`, right: true },
        { header: 'JOBS', value: (i) => String(i.used.jobs), right: true },
        { header: 'TEMPLATE', value: (i) => (i.launchTemplate ? `${i.launchTemplate.launchTemplateName ?? i.launchTemplate.launchTemplateId}:${i.launchTemplate.version ?? '$Default'}` : '-') },
        { header: 'LAUNCHED', value: (i) => time(i.launchedAt) },
        { header: 'TERMINATED', value: (i) => time(i.terminatedAt) },
        { header: 'WHY', value: (i) => i.terminationReason ?? '' },
      ]),
    );
  });
}

async function interrupt(id: string, flags: ConnectionFlags & { json?: boolean }): Promise<void> {
  await withClient(flags, async (c) => {
    const { instance } = await c.openbatchHttp<{ instance: InstanceView }>('POST', `/openbatch/v1/instances/${encodeURIComponent(id)}/interrupt`);
    if (flags.json) return void process.stdout.write(json(instance));
    process.stdout.write(`instance ${instance.instanceId} interrupted: terminated at ${time(instance.interruptionAt)} after its Spot notice\n`);
  });
}

export function registerInstanceCommands(program: Command): void {
  const cmd = withConnection(
    program
      .command('instances')
      .description('list instances: type, compute environment, state, capacity used, launch template, launched/terminated and why'),
  )
    .option('--ce <name>', 'only this compute environment')
    .option('--state <state...>', 'only these states (PENDING LAUNCHING ACTIVE TERMINATING TERMINATED)')
    .option('--all', 'include TERMINATED instances')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExamples:\n  openbatch instances\n  openbatch instances --ce spot --all\n  openbatch instances interrupt i-0123456789abcdef0')
    .action((flags) => list(flags));
  // --endpoint/--region/--json are the parent's options: commander hands them to `instances` wherever they stand.
  cmd
    .command('interrupt <instanceId>')
    .description('give a SPOT or FARGATE_SPOT instance its interruption notice (terminated when it ends)')
    .action((id: string) => interrupt(id, cmd.opts()));
}
