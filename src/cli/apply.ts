/**
 * `openbatch apply -f file.yaml`: makes the server match a declarative file.
 *
 * The file (YAML; several `---` documents allowed) has up to five sections, each a list
 * written in the AWS Batch API's own shapes, so anything the SDK or the aws CLI accepts can
 * be written here:
 *
 *   computeEnvironments   CreateComputeEnvironment input
 *   schedulingPolicies    CreateSchedulingPolicy input
 *   jobQueues             CreateJobQueue input (schedulingPolicyArn may be a policy's name)
 *   jobDefinitions        RegisterJobDefinition input
 *   jobs                  SubmitJob input plus `name` (unique in the file; the jobName by
 *                         default) and `dependsOn` by name: `[render]`, or
 *                         `[{job: render, type: N_TO_N}]`, `[{type: SEQUENTIAL}]`
 *
 * Resources are created when missing and updated when what the file says differs from what
 * the server has (only the fields the file gives are compared, so server defaults never
 * count as a change); a changed job definition is registered as a new revision. Running the
 * same file again changes nothing and says so. Jobs are submitted on every apply (each apply
 * of a pipeline is a run of it), in dependency order; `--resources-only` skips them and
 * `--dry-run` shows what would happen without changing anything.
 *
 * Every error names the file, the line, the document path and the field.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { Document, Node } from 'yaml';
import {
  CreateComputeEnvironmentCommand,
  CreateJobQueueCommand,
  CreateSchedulingPolicyCommand,
  DescribeComputeEnvironmentsCommand,
  DescribeJobDefinitionsCommand,
  DescribeJobQueuesCommand,
  DescribeSchedulingPoliciesCommand,
  ListSchedulingPoliciesCommand,
  RegisterJobDefinitionCommand,
  SubmitJobCommand,
  UpdateComputeEnvironmentCommand,
  UpdateJobQueueCommand,
  UpdateSchedulingPolicyCommand,
  type BatchClient,
} from '@aws-sdk/client-batch';
import { CliError, errorLine, withClient, type ConnectionFlags } from './client.js';
import { json, nameOfArn, wantsJson } from './output.js';

const SECTIONS = ['computeEnvironments', 'schedulingPolicies', 'jobQueues', 'jobDefinitions', 'jobs'] as const;
type Section = (typeof SECTIONS)[number];
const NAME_KEY: Record<Section, string> = {
  computeEnvironments: 'computeEnvironmentName',
  schedulingPolicies: 'name',
  jobQueues: 'jobQueueName',
  jobDefinitions: 'jobDefinitionName',
  jobs: 'name',
};

type Obj = Record<string, unknown>;

/** One entry of a section, with where it came from (for error messages). */
interface Entry {
  section: Section;
  name: string;
  value: Obj;
  /** `file:line: document 2: jobQueues[0]` */
  where: string;
  /** the line of a field of this entry, for errors about that field */
  lineOf(field: string[]): number | undefined;
}

export interface ApplyPlan {
  entries: Record<Section, Entry[]>;
}

class FileError extends CliError {}

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Reads and checks the file's structure; the fields themselves are the server's to check. */
export async function parseApplyFile(file: string, text: string): Promise<ApplyPlan> {
  // Loaded here, not with the CLI: every other command starts without the YAML parser.
  const { LineCounter, parseAllDocuments, isMap, isSeq } = await import('yaml');
  const lc = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter: lc, prettyErrors: false });
  const entries = Object.fromEntries(SECTIONS.map((s) => [s, [] as Entry[]])) as Record<Section, Entry[]>;
  const docList = Array.isArray(docs) ? docs : [docs];
  const line = (node: Node | null | undefined) => (node?.range ? lc.linePos(node.range[0]).line : undefined);
  const at = (l: number | undefined) => (l === undefined ? file : `${file}:${l}`);
  docList.forEach((doc: Document.Parsed, d) => {
    const docName = docList.length > 1 ? `document ${d + 1}: ` : '';
    const err = doc.errors[0];
    if (err) throw new FileError(`${file}:${lc.linePos(err.pos[0]).line}: ${docName}YAML: ${err.message.split('\n')[0]}`);
    const root = doc.toJS() as unknown;
    if (root === null || root === undefined) return;
    if (!isObj(root)) throw new FileError(`${at(line(doc.contents))}: ${docName}expected a mapping with sections ${SECTIONS.join(', ')}`);
    for (const [key, list] of Object.entries(root)) {
      if (!(SECTIONS as readonly string[]).includes(key)) {
        const keyNode = isMap(doc.contents) ? (doc.contents.items.find((p) => (p.key as { value?: unknown })?.value === key)?.key as Node) : undefined;
        throw new FileError(`${at(line(keyNode))}: ${docName}unknown section '${key}' (known: ${SECTIONS.join(', ')})`);
      }
      const section = key as Section;
      const seqNode = doc.get(key, true) as Node;
      if (!Array.isArray(list) || !isSeq(seqNode)) throw new FileError(`${at(line(seqNode))}: ${docName}${key} must be a list`);
      list.forEach((value, i) => {
        const node = doc.getIn([key, i], true) as Node;
        const path = `${docName}${key}[${i}]`;
        if (!isObj(value) || !isMap(node)) throw new FileError(`${at(line(node))}: ${path} must be a mapping`);
        const nameKey = NAME_KEY[section];
        const name = value[nameKey];
        if (typeof name !== 'string' || name === '') throw new FileError(`${at(line(node))}: ${path}.${nameKey} is required (a non-empty string)`);
        const dup = entries[section].find((e) => e.name === name);
        if (dup) throw new FileError(`${at(line(node))}: ${path}.${nameKey} '${name}' is already used by ${dup.where.replace(/^.*?: /, '')}`);
        entries[section].push({
          section,
          name,
          value: stringsWhereMeant(value) as Obj,
          where: `${at(line(node))}: ${path}`,
          lineOf: (field) => line(doc.getIn([key, i, ...field], true) as Node),
        });
      });
    }
  });
  checkJobs(file, entries.jobs);
  return { entries };
}

/** `file:line: path.field…` for an entry's field (the line of the field when the file has it). */
function whereField(e: Entry, field: (string | number)[], text: string): string {
  const l = e.lineOf(field as string[]);
  const where = l ? e.where.replace(/^(.*):\d+: /, `$1:${l}: `) : e.where;
  return `${where}${text}`;
}

interface Dep {
  job?: string;
  type?: string;
}

function depsOf(e: Entry): Dep[] {
  const raw = e.value.dependsOn;
  if (raw === undefined) return [];
  if (!Array.isArray(raw)) throw new FileError(whereField(e, ['dependsOn'], '.dependsOn must be a list of job names or {job, type}'));
  return raw.map((d, i) => {
    if (typeof d === 'string') return { job: d };
    if (isObj(d)) {
      for (const k of Object.keys(d)) {
        if (k !== 'job' && k !== 'type' && k !== 'jobId') throw new FileError(`${whereField(e, ['dependsOn', i], `.dependsOn[${i}]`)}: unknown field '${k}' (use job: <name in this file>, type: N_TO_N | SEQUENTIAL, or jobId: <an existing job id>)`);
      }
      if (d.jobId !== undefined) return { job: `id:${String(d.jobId)}`, type: d.type as string | undefined };
      return { job: d.job as string | undefined, type: d.type as string | undefined };
    }
    throw new FileError(whereField(e, ['dependsOn', i], `.dependsOn[${i}] must be a job name or {job, type}`));
  });
}

/** Names resolve, types are known, and there is no cycle. */
function checkJobs(file: string, jobs: Entry[]): void {
  const names = new Set(jobs.map((j) => j.name));
  for (const j of jobs) {
    depsOf(j).forEach((d, i) => {
      if (d.type !== undefined && d.type !== 'N_TO_N' && d.type !== 'SEQUENTIAL') {
        throw new FileError(whereField(j, ['dependsOn', i], `.dependsOn[${i}].type '${d.type}' is not N_TO_N or SEQUENTIAL`));
      }
      if (d.job === undefined) {
        if (d.type !== 'SEQUENTIAL') throw new FileError(whereField(j, ['dependsOn', i], `.dependsOn[${i}] names no job (only type: SEQUENTIAL stands alone)`));
        return;
      }
      if (d.job.startsWith('id:')) return;
      if (d.job === j.name) throw new FileError(`${whereField(j, ['dependsOn', i], `.dependsOn[${i}]`)}: job '${j.name}' cannot depend on itself (type: SEQUENTIAL orders an array's children)`);
      if (!names.has(d.job)) throw new FileError(`${whereField(j, ['dependsOn', i], `.dependsOn[${i}]`)}: no job named '${d.job}' in ${file} (jobs: ${[...names].join(', ')})`);
    });
  }
  jobOrder(jobs);
}

/** Jobs in an order where each comes after what it depends on. */
function jobOrder(jobs: Entry[]): Entry[] {
  const byName = new Map(jobs.map((j) => [j.name, j]));
  const out: Entry[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (j: Entry, chain: string[]) => {
    if (state.get(j.name) === 'done') return;
    if (state.get(j.name) === 'visiting') throw new FileError(`${j.where}: dependsOn makes a cycle: ${[...chain, j.name].join(' → ')}`);
    state.set(j.name, 'visiting');
    for (const d of depsOf(j)) if (d.job && !d.job.startsWith('id:')) visit(byName.get(d.job)!, [...chain, j.name]);
    state.set(j.name, 'done');
    out.push(j);
  };
  for (const j of jobs) visit(j, []);
  return out;
}

/**
 * The paths where `want` differs from `have`, looking only at what `want` gives: a field the
 * server added (a default) is no difference.
 */
export function differences(want: unknown, have: unknown, path = ''): string[] {
  if (Array.isArray(want)) {
    if (!Array.isArray(have) || have.length !== want.length) return [path];
    return want.flatMap((w, i) => differences(w, have[i], `${path}[${i}]`));
  }
  if (isObj(want)) {
    if (!isObj(have)) return [path];
    return Object.entries(want).flatMap(([k, v]) => differences(v, have[k], path ? `${path}.${k}` : k));
  }
  if (want === have) return [];
  // YAML numbers for string fields (value: 1) and the reverse are the same value to a person.
  if ((typeof want === 'number' || typeof want === 'string') && (typeof have === 'number' || typeof have === 'string') && String(want) === String(have)) return [];
  return [path];
}

/**
 * YAML reads `value: 1` as a number where the API wants the string "1" (resource
 * requirements, environment values, parameters, tags, log options): made strings, as a
 * person writing the file means.
 */
export function stringsWhereMeant(v: unknown, key = ''): unknown {
  const str = (x: unknown) => (typeof x === 'number' || typeof x === 'boolean' ? String(x) : x);
  if (Array.isArray(v)) {
    if (key === 'resourceRequirements' || key === 'environment') return v.map((x) => (isObj(x) ? { ...x, value: str(x.value) } : x));
    if (key === 'command') return v.map(str);
    return v.map((x) => stringsWhereMeant(x));
  }
  if (!isObj(v)) return v;
  if (key === 'parameters' || key === 'tags' || key === 'options') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, str(x)]));
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, stringsWhereMeant(x, k)]));
}

function pick(o: Obj, keys: string[]): Obj {
  return Object.fromEntries(keys.filter((k) => o[k] !== undefined).map((k) => [k, o[k]]));
}

function without(o: Obj, keys: string[]): Obj {
  return Object.fromEntries(Object.entries(o).filter(([k]) => !keys.includes(k)));
}

interface Outcome {
  kind: string;
  name: string;
  action: 'created' | 'updated' | 'registered' | 'unchanged' | 'submitted';
  detail?: string;
  id?: string;
}

class Applier {
  readonly outcomes: Outcome[] = [];
  private policyArns = new Map<string, string>();

  constructor(
    private readonly batch: BatchClient,
    private readonly dryRun: boolean,
    private readonly print: (line: string) => void,
  ) {}

  private report(o: Outcome): void {
    this.outcomes.push(o);
    const verb = this.dryRun && o.action !== 'unchanged' ? `would be ${o.action}` : o.action;
    this.print(`${o.kind} ${o.name}: ${verb}${o.detail ? ` (${o.detail})` : ''}`);
  }

  /** Runs a server call for an entry; a refusal names the entry. */
  private async call<T>(e: Entry, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof CliError) throw err;
      const msg = errorLine(err);
      // Point at the field the server names, when the file has it.
      const field = /^([A-Za-z][\w.[\]]*)\b/.exec(msg)?.[1];
      const parts = field ? field.split(/\.|\[(\d+)\]/).filter(Boolean).map((p) => (/^\d+$/.test(p) ? Number(p) : p)) : [];
      const l = parts.length ? e.lineOf(parts as string[]) : undefined;
      const where = l ? e.where.replace(/^([^:]+):\d+:/, `$1:${l}:`) : e.where;
      throw new CliError(`${where} (${e.name}): ${msg}`);
    }
  }

  async computeEnvironment(e: Entry): Promise<void> {
    const want = e.value;
    const res = await this.call(e, () => this.batch.send(new DescribeComputeEnvironmentsCommand({ computeEnvironments: [e.name] })));
    const have = res.computeEnvironments?.[0] as unknown as Obj | undefined;
    if (!have) {
      if (!this.dryRun) await this.call(e, () => this.batch.send(new CreateComputeEnvironmentCommand(want as never)));
      return this.report({ kind: 'compute environment', name: e.name, action: 'created' });
    }
    const diff = differences(without(want, ['tags']), have).filter((p) => p !== 'computeResources.desiredvCpus');
    if (!diff.length) return this.report({ kind: 'compute environment', name: e.name, action: 'unchanged' });
    if (diff.includes('type') || diff.includes('computeResources.type')) {
      throw new CliError(`${e.where} (${e.name}): ${diff.includes('type') ? 'type' : 'computeResources.type'} of an existing compute environment cannot change; give it another name, or delete it first`);
    }
    const update: Obj = { computeEnvironment: e.name, ...pick(want, diff.filter((p) => !p.startsWith('computeResources')).map((p) => p.split(/[.[]/)[0])) };
    const crKeys = [...new Set(diff.filter((p) => p.startsWith('computeResources.')).map((p) => p.split(/[.[]/)[1]))];
    if (crKeys.length) update.computeResources = pick(want.computeResources as Obj, crKeys);
    if (!this.dryRun) await this.call(e, () => this.batch.send(new UpdateComputeEnvironmentCommand(update as never)));
    this.report({ kind: 'compute environment', name: e.name, action: 'updated', detail: diff.join(', ') });
  }

  private async policyArn(name: string): Promise<string | undefined> {
    if (this.policyArns.has(name)) return this.policyArns.get(name);
    let nextToken: string | undefined;
    do {
      const res = await this.batch.send(new ListSchedulingPoliciesCommand({ nextToken }));
      for (const p of res.schedulingPolicies ?? []) if (nameOfArn(p.arn) === name) this.policyArns.set(name, p.arn!);
      nextToken = res.nextToken;
    } while (nextToken && !this.policyArns.has(name));
    return this.policyArns.get(name);
  }

  async schedulingPolicy(e: Entry): Promise<void> {
    const arn = await this.call(e, () => this.policyArn(e.name));
    if (!arn) {
      if (!this.dryRun) {
        const res = await this.call(e, () => this.batch.send(new CreateSchedulingPolicyCommand(e.value as never)));
        this.policyArns.set(e.name, res.arn!);
      }
      return this.report({ kind: 'scheduling policy', name: e.name, action: 'created' });
    }
    const have = (await this.call(e, () => this.batch.send(new DescribeSchedulingPoliciesCommand({ arns: [arn] })))).schedulingPolicies?.[0] as unknown as Obj;
    const diff = differences(pick(e.value, ['fairsharePolicy']), have);
    if (!diff.length) return this.report({ kind: 'scheduling policy', name: e.name, action: 'unchanged' });
    if (!this.dryRun) await this.call(e, () => this.batch.send(new UpdateSchedulingPolicyCommand({ arn, fairsharePolicy: e.value.fairsharePolicy as never })));
    this.report({ kind: 'scheduling policy', name: e.name, action: 'updated', detail: diff.join(', ') });
  }

  async jobQueue(e: Entry): Promise<void> {
    const want = { ...e.value };
    const policy = want.schedulingPolicyArn;
    if (typeof policy === 'string' && !policy.startsWith('arn:')) {
      // A name: the policy of that name (created above, or already there).
      const arn = await this.call(e, () => this.policyArn(policy));
      if (!arn && !this.dryRun) throw new CliError(`${e.where} (${e.name}): schedulingPolicyArn '${policy}' names no scheduling policy`);
      want.schedulingPolicyArn = arn ?? `(new) ${policy}`;
    }
    const res = await this.call(e, () => this.batch.send(new DescribeJobQueuesCommand({ jobQueues: [e.name] })));
    const have = res.jobQueues?.[0] as unknown as Obj | undefined;
    if (!have) {
      if (!this.dryRun) await this.call(e, () => this.batch.send(new CreateJobQueueCommand(want as never)));
      return this.report({ kind: 'job queue', name: e.name, action: 'created' });
    }
    // The server answers ARNs where the file may have names: compare names.
    const order = (o: unknown) =>
      Array.isArray(o) ? (o as Obj[]).map((x): Obj => ({ ...x, computeEnvironment: nameOfArn(x.computeEnvironment as string) })).sort((a, b) => Number(a.order) - Number(b.order)) : o;
    const diff = differences(
      { ...without(want, ['tags']), computeEnvironmentOrder: order(want.computeEnvironmentOrder) },
      { ...have, computeEnvironmentOrder: order(have.computeEnvironmentOrder) },
    ).map((p) => p.split(/[.[]/)[0]);
    const keys = [...new Set(diff)];
    if (!keys.length) return this.report({ kind: 'job queue', name: e.name, action: 'unchanged' });
    if (!this.dryRun) await this.call(e, () => this.batch.send(new UpdateJobQueueCommand({ jobQueue: e.name, ...pick(want, keys) } as never)));
    this.report({ kind: 'job queue', name: e.name, action: 'updated', detail: keys.join(', ') });
  }

  async jobDefinition(e: Entry): Promise<void> {
    const res = await this.call(e, () => this.batch.send(new DescribeJobDefinitionsCommand({ jobDefinitionName: e.name, status: 'ACTIVE' })));
    const latest = (res.jobDefinitions ?? []).sort((a, b) => (b.revision ?? 0) - (a.revision ?? 0))[0] as unknown as Obj | undefined;
    const diff = latest ? differences(without(e.value, ['tags']), latest) : [];
    if (latest && !diff.length) return this.report({ kind: 'job definition', name: e.name, action: 'unchanged', detail: `revision ${latest.revision}` });
    let revision = latest ? `${Number(latest.revision) + 1}` : '1';
    if (!this.dryRun) revision = String((await this.call(e, () => this.batch.send(new RegisterJobDefinitionCommand(e.value as never)))).revision);
    this.report({ kind: 'job definition', name: e.name, action: 'registered', detail: `revision ${revision}${latest ? `; changed: ${diff.join(', ')}` : ''}` });
  }

  async jobs(entries: Entry[]): Promise<void> {
    const ids = new Map<string, string>();
    for (const e of jobOrder(entries)) {
      const deps = depsOf(e).map((d) => {
        const jobId = d.job === undefined ? undefined : d.job.startsWith('id:') ? d.job.slice(3) : (ids.get(d.job) ?? `<${d.job}>`);
        return { ...(jobId ? { jobId } : {}), ...(d.type ? { type: d.type } : {}) };
      });
      const input = { jobName: e.name, ...without(e.value, ['name', 'dependsOn']), ...(deps.length ? { dependsOn: deps } : {}) };
      const size = (e.value.arrayProperties as Obj | undefined)?.size;
      const after = depsOf(e)
        .map((d) => (d.job ? `${d.job.replace(/^id:/, '')}${d.type ? ` ${d.type}` : ''}` : d.type))
        .join(', ');
      const detail = [size !== undefined ? `array of ${size}` : '', after ? `after ${after}` : ''].filter(Boolean).join(', ');
      let id = `<${e.name}>`;
      if (!this.dryRun) id = (await this.call(e, () => this.batch.send(new SubmitJobCommand(input as never)))).jobId!;
      ids.set(e.name, id);
      this.report({ kind: 'job', name: e.name, action: 'submitted', id: this.dryRun ? undefined : id, detail: this.dryRun ? detail : [id, detail].filter(Boolean).join(', ') });
    }
  }
}

interface ApplyFlags extends ConnectionFlags {
  file: string;
  dryRun?: boolean;
  resourcesOnly?: boolean;
  json?: boolean;
}

async function apply(flags: ApplyFlags): Promise<void> {
  let text: string;
  try {
    text = flags.file === '-' ? readFileSync(0, 'utf8') : readFileSync(flags.file, 'utf8');
  } catch (e) {
    throw new CliError(`cannot read ${flags.file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  const file = flags.file === '-' ? '<stdin>' : flags.file;
  const plan = await parseApplyFile(file, text);
  await withClient(flags, async ({ batch }) => {
    const lines: string[] = [];
    const applier = new Applier(batch, !!flags.dryRun, (l) => (wantsJson(flags) ? lines.push(l) : process.stdout.write(l + '\n')));
    for (const e of plan.entries.computeEnvironments) await applier.computeEnvironment(e);
    for (const e of plan.entries.schedulingPolicies) await applier.schedulingPolicy(e);
    for (const e of plan.entries.jobQueues) await applier.jobQueue(e);
    for (const e of plan.entries.jobDefinitions) await applier.jobDefinition(e);
    if (!flags.resourcesOnly) await applier.jobs(plan.entries.jobs);
    const changed = applier.outcomes.filter((o) => o.action !== 'unchanged').length;
    if (wantsJson(flags)) return void process.stdout.write(json({ dryRun: !!flags.dryRun, changes: applier.outcomes }));
    if (applier.outcomes.length === 0) process.stdout.write(`${file} declares nothing\n`);
    else if (flags.dryRun) process.stdout.write(`dry run: ${changed} change${changed === 1 ? '' : 's'} would be made; nothing was changed\n`);
    else if (changed === 0) process.stdout.write('nothing to change\n');
  });
}

export function registerApplyCommand(program: Command): void {
  program
    .command('apply')
    .description('create or update compute environments, scheduling policies, job queues and job definitions to match a YAML file, then submit its jobs')
    .requiredOption('-f, --file <file.yaml>', 'the file (- reads standard input)')
    .option('--dry-run', 'print what would change, change nothing')
    .option('--resources-only', 'converge the resources; do not submit the jobs')
    .option('--json', 'print the changes as JSON')
    .addHelpText(
      'after',
      `
Sections (AWS Batch API shapes): computeEnvironments, schedulingPolicies, jobQueues,
jobDefinitions, jobs. A job's dependsOn names other jobs of the file:
  dependsOn: [render]                       # after the whole job (or array)
  dependsOn: [{job: render, type: N_TO_N}]  # child i after child i of an array of the same size

Example (docs/examples/pipeline.yaml: a render array, then a stitch job):
  openbatch apply -f docs/examples/pipeline.yaml --dry-run
  openbatch apply -f docs/examples/pipeline.yaml
  openbatch apply -f docs/examples/pipeline.yaml --resources-only   # again: nothing to change`,
    )
    .action(apply);
}
