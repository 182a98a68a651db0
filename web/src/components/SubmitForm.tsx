import { useState } from 'react';
import { quoteShellWords, splitShellWords } from '../../../src/cli/shellWords.js';
import { batchWrite, type JobDefinition, type JobDetail, type JobQueue } from '../api';
import { navigate } from '../route';
import { Confirm } from './Confirm';

/** What the form holds: SubmitJob's input as a person edits it. */
export interface SubmitDraft {
  jobName: string;
  jobQueue: string;
  jobDefinition: string;
  /** shell words; empty: the definition's command */
  command: string;
  /** KEY=value lines */
  environment: string;
  vcpus: string;
  memory: string;
  /** empty: a single job */
  arraySize: string;
  /** key=value lines (Ref:: parameters) */
  parameters: string;
}

/** AWS Batch's own variables, which SubmitJob refuses in an override. */
const INJECTED = /^AWS_BATCH_/;

const lines = (pairs: [string, string][]) => pairs.map(([k, v]) => `${k}=${v}`).join('\n');

/** A draft that submits the job again as it was (clone and resubmit). */
export function draftOfJob(job: JobDetail, queue: string): SubmitDraft {
  const req = (type: string) => job.container?.resourceRequirements?.find((r) => r.type === type)?.value ?? '';
  return {
    jobName: job.jobName,
    jobQueue: queue,
    jobDefinition: job.jobDefinition.slice(job.jobDefinition.lastIndexOf('/') + 1),
    command: job.container?.command ? quoteShellWords(job.container.command) : '',
    environment: lines((job.container?.environment ?? []).filter((e) => e.name && !INJECTED.test(e.name)).map((e) => [e.name!, e.value ?? ''])),
    vcpus: req('VCPU'),
    memory: req('MEMORY'),
    arraySize: job.arrayProperties?.size !== undefined && job.arrayProperties.index === undefined ? String(job.arrayProperties.size) : '',
    parameters: lines(Object.entries(job.parameters ?? {})),
  };
}

/** A draft for a new job of a definition, with its defaults shown. */
export function draftOfDefinition(d: JobDefinition, queue: string): SubmitDraft {
  return {
    jobName: d.jobDefinitionName,
    jobQueue: queue,
    jobDefinition: `${d.jobDefinitionName}:${d.revision}`,
    command: '',
    environment: '',
    vcpus: '',
    memory: '',
    arraySize: '',
    parameters: lines(Object.entries(d.parameters ?? {})),
  };
}

function pairs(text: string, what: string): [string, string][] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .map((l) => {
      const i = l.indexOf('=');
      if (i <= 0) throw new Error(`${what}: '${l}' is not NAME=value`);
      return [l.slice(0, i), l.slice(i + 1)];
    });
}

/** SubmitJob's input from a draft; a mistake the server would refuse is said here, naming the field. */
export function submitInput(d: SubmitDraft): Record<string, unknown> {
  const command = d.command.trim() ? splitShellWords(d.command) : undefined;
  const environment = pairs(d.environment, 'Environment').map(([name, value]) => ({ name, value }));
  const resourceRequirements = [
    ...(d.vcpus.trim() ? [{ type: 'VCPU', value: d.vcpus.trim() }] : []),
    ...(d.memory.trim() ? [{ type: 'MEMORY', value: d.memory.trim() }] : []),
  ];
  const overrides = {
    ...(command ? { command } : {}),
    ...(environment.length ? { environment } : {}),
    ...(resourceRequirements.length ? { resourceRequirements } : {}),
  };
  const parameters = Object.fromEntries(pairs(d.parameters, 'Parameters'));
  return {
    jobName: d.jobName,
    jobQueue: d.jobQueue,
    jobDefinition: d.jobDefinition,
    ...(Object.keys(overrides).length ? { containerOverrides: overrides } : {}),
    ...(Object.keys(parameters).length ? { parameters } : {}),
    ...(d.arraySize.trim() ? { arrayProperties: { size: Number(d.arraySize) } } : {}),
  };
}

/**
 * The form that submits a job — a clone of one (with edits) or a new job of a definition —
 * confirmed and behind the session's write grant like every action; on success the page
 * moves to the new job.
 */
export function SubmitForm({
  initial,
  queues,
  definitions,
  label,
  testId,
  open,
  onCancel,
}: {
  initial: SubmitDraft;
  queues: JobQueue[];
  /** offered in a list when given (submit from a definition); otherwise the draft's is kept */
  definitions?: JobDefinition[];
  label: string;
  testId: string;
  open?: boolean;
  onCancel?: () => void;
}) {
  const [d, setD] = useState(initial);
  const field = (key: keyof SubmitDraft) => ({ value: d[key], onChange: (e: { target: { value: string } }) => setD({ ...d, [key]: e.target.value }) });
  return (
    <Confirm
      label={label}
      confirmLabel="Submit"
      testId={testId}
      open={open}
      onCancel={onCancel}
      question={<p>Submit this job to queue <b>{d.jobQueue}</b>?</p>}
      act={async () => {
        const r = await batchWrite<{ jobId: string }>('SubmitJob', submitInput(d));
        navigate(`jobs/${r.jobId}`);
      }}
    >
      <div className="form-grid">
        <label>
          Name
          <input {...field('jobName')} required aria-label="Job name" />
        </label>
        <label>
          Queue
          <select {...field('jobQueue')} aria-label="Job queue">
            {queues.map((q) => (
              <option key={q.jobQueueName} value={q.jobQueueName}>
                {q.jobQueueName}
                {q.state !== 'ENABLED' ? ' (disabled)' : ''}
              </option>
            ))}
          </select>
        </label>
        <label>
          Definition
          {definitions ? (
            <select {...field('jobDefinition')} aria-label="Job definition">
              {definitions.map((x) => (
                <option key={x.jobDefinitionArn} value={`${x.jobDefinitionName}:${x.revision}`}>
                  {x.jobDefinitionName}:{x.revision}
                </option>
              ))}
            </select>
          ) : (
            <input value={d.jobDefinition} readOnly aria-label="Job definition" className="mono" />
          )}
        </label>
        <label className="wide">
          Command <span className="muted small">(shell words; empty: the definition's)</span>
          <input {...field('command')} aria-label="Command" className="mono" />
        </label>
        <label>
          vCPUs
          <input {...field('vcpus')} inputMode="decimal" aria-label="vCPUs" placeholder="the definition's" />
        </label>
        <label>
          Memory (MiB)
          <input {...field('memory')} inputMode="numeric" aria-label="Memory" placeholder="the definition's" />
        </label>
        <label>
          Array size <span className="muted small">(empty: one job)</span>
          <input {...field('arraySize')} inputMode="numeric" aria-label="Array size" />
        </label>
        <label className="wide">
          Environment <span className="muted small">(NAME=value, one a line)</span>
          <textarea {...field('environment')} rows={3} aria-label="Environment" className="mono" />
        </label>
        <label className="wide">
          Parameters <span className="muted small">(Ref::name, name=value one a line)</span>
          <textarea {...field('parameters')} rows={2} aria-label="Parameters" className="mono" />
        </label>
      </div>
    </Confirm>
  );
}
