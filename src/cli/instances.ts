/**
 * `openbatch instances`: the capacity compute environments have (local instances, Fargate
 * tasks, joined agents) with what each holds and why it ended; `openbatch instances
 * interrupt <id>` gives a SPOT / FARGATE_SPOT instance its interruption notice.
 */
import type { Command } from 'commander';
import type { InstanceView } from '../api/instances.js';
import { withClient, type ConnectionFlags } from './client.js';
import { fullTime, json, shortTime, table, timeHeader, wantsJson } from './output.js';

function num(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(2).replace(/0+$/, '');
}

function stateColour(state: string) {
  return state === 'ACTIVE' ? ('green' as const) : state === 'TERMINATED' ? ('dim' as const) : ('yellow' as const);
}

async function list(flags: ConnectionFlags & { ce?: string; state?: string[]; all?: boolean; json?: boolean }): Promise<void> {
  await withClient(flags, async (c) => {
    const query: Record<string, string | string[]> = {};
    if (flags.ce) query.computeEnvironment = flags.ce;
    if (flags.state?.length) query.state = flags.state;
    else if (flags.all) query.state = ['PENDING', 'LAUNCHING', 'ACTIVE', 'IMPAIRED', 'TERMINATING', 'TERMINATED'];
    const { instances } = await c.openbatchHttp<{ instances: InstanceView[] }>('GET', '/openbatch/v1/instances', query);
    if (wantsJson(flags)) return void process.stdout.write(json(instances));
    if (instances.length === 0) return void process.stdout.write('no instances\n');
    process.stdout.write(
      table(instances, [
        { header: 'INSTANCE', value: (i) => i.instanceId },
        { header: 'TYPE', value: (i) => i.instanceType + (i.capped ? ' (capped)' : '') },
        { header: 'CE', value: (i) => i.computeEnvironment },
        { header: 'HOST', value: (i) => i.address ?? i.hostname ?? '-' },
        { header: 'STATE', value: (i) => i.state + (i.interruptionAt !== null && i.state !== 'TERMINATED' ? ' (Spot notice)' : '') + (i.state === 'PENDING' && i.slowStartMs ? ' (slow start)' : '') + (i.state === 'PENDING' && i.stateReason ? ' (held)' : ''), colour: (i) => stateColour(i.state) },
        { header: 'VCPUS', value: (i) => `${num(i.used.vcpus)}/${num(i.capacity.vcpus)}`, right: true },
        { header: 'MEMORY', value: (i) => `${i.used.memoryMiB}/${i.capacity.memoryMiB}`, right: true },
        { header: 'JOBS', value: (i) => String(i.used.jobs), right: true },
        { header: 'TEMPLATE', value: (i) => (i.launchTemplate ? `${i.launchTemplate.launchTemplateName ?? i.launchTemplate.launchTemplateId}:${i.launchTemplate.version ?? '$Default'}` : '-') },
        { header: timeHeader('LAUNCHED'), value: (i) => shortTime(i.launchedAt) },
        { header: 'TERMINATED', value: (i) => shortTime(i.terminatedAt) },
        { header: 'WHY', value: (i) => i.terminationReason ?? i.stateReason ?? '' },
      ]),
    );
  });
}

async function interrupt(id: string, flags: ConnectionFlags & { json?: boolean }): Promise<void> {
  await withClient(flags, async (c) => {
    const { instance } = await c.openbatchHttp<{ instance: InstanceView }>('POST', `/openbatch/v1/instances/${encodeURIComponent(id)}/interrupt`);
    if (wantsJson(flags)) return void process.stdout.write(json(instance));
    process.stdout.write(`instance ${instance.instanceId} interrupted: terminated at ${fullTime(instance.interruptionAt) ?? '-'} after its Spot notice\n`);
  });
}

export function registerInstanceCommands(program: Command): void {
  const cmd = program
    .command('instances')
    .description('list instances: type, compute environment, state, capacity used, launch template, launched/terminated and why')
    .option('--ce <name>', 'only this compute environment')
    .option('--state <state...>', 'only these states (PENDING LAUNCHING ACTIVE IMPAIRED TERMINATING TERMINATED)')
    .option('--all', 'include TERMINATED instances')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExamples:\n  openbatch instances\n  openbatch instances --ce spot --all\n  openbatch instances interrupt i-0123456789abcdef0')
    .action((flags) => list(flags));
  // --json is the parent's option: commander hands it to `instances` wherever it stands.
  cmd
    .command('interrupt <instanceId>')
    .description('give a SPOT or FARGATE_SPOT instance its interruption notice (terminated when it ends)')
    .action((id: string) => interrupt(id, cmd.opts()));
}
