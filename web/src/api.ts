/**
 * The dashboard's calls. What the AWS API answers goes to the AWS API (restJson1 for Batch,
 * JSON 1.1 for CloudWatch Logs); the rest to the dashboard's read-only endpoints. With
 * credentials configured the session cookie authenticates every one of them (reads only).
 */
import type { CostRow } from '../../src/model/cost.js';
import type { AttemptUsageDetail } from '../../src/model/usage.js';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

type Listener = () => void;
const signedOutListeners = new Set<Listener>();
/** Called when the server refuses the session (expired, key removed): the app shows the sign-in. */
export function onSignedOut(l: Listener): () => void {
  signedOutListeners.add(l);
  return () => signedOutListeners.delete(l);
}

/** `keepSession`: a refusal says nothing about the session (a sign-in with a wrong secret). */
async function call<T>(url: string, init: RequestInit = {}, keepSession = false): Promise<T> {
  const res = await fetch(url, { credentials: 'same-origin', ...init });
  const text = await res.text();
  let body: Record<string, unknown> = {};
  try {
    body = text ? (JSON.parse(text) as Record<string, unknown>) : {};
  } catch {
    body = { message: text };
  }
  if (!res.ok) {
    const code = String(body.__type ?? res.headers.get('x-amzn-errortype') ?? res.status).replace(/:.*$/, '');
    // 403: the session is gone (expired, key removed) — except a write this session may not
    // make (AccessDeniedException), which the page that asked explains itself.
    if (res.status === 403 && code !== 'AccessDeniedException' && !keepSession) signedOutListeners.forEach((l) => l());
    throw new ApiError(res.status, code, String(body.message ?? res.statusText));
  }
  return body as T;
}

/** An AWS Batch operation, e.g. batch('DescribeJobs', { jobs: [id] }). */
export function batch<T>(operation: string, input: object): Promise<T> {
  return call<T>(`/v1/${operation.toLowerCase()}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(input) });
}

/**
 * An AWS Batch write behind one of the dashboard's buttons (SubmitJob, CancelJob,
 * TerminateJob, UpdateJobQueue, UpdateComputeEnvironment): with credentials configured it
 * needs a session granted writes, and the header that shows it comes from this app.
 */
export function batchWrite<T>(operation: string, input: object): Promise<T> {
  return call<T>(`/v1/${operation.toLowerCase()}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-openbatch-dashboard': '1' },
    body: JSON.stringify(input),
  });
}

/** A CloudWatch Logs operation, e.g. logs('GetLogEvents', {...}). */
export function logs<T>(operation: string, input: object): Promise<T> {
  return call<T>('/', {
    method: 'POST',
    headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': `Logs_20140328.${operation}` },
    body: JSON.stringify(input),
  });
}

/** An openbatch operation (POST /openbatch/v1/<name>), e.g. why-pending. */
export function openbatch<T>(name: string, input: object): Promise<T> {
  return call<T>(`/openbatch/v1/${name}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(input) });
}

/**
 * One of the dashboard's writes (e.g. rerunFailed): with credentials configured it needs a
 * session granted writes at sign-in, and the header that shows it comes from this app.
 */
export function openbatchWrite<T>(name: string, input: object): Promise<T> {
  return call<T>(`/openbatch/v1/${name}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-openbatch-dashboard': '1' },
    body: JSON.stringify(input),
  });
}

/** A dashboard endpoint: GET /openbatch/v1/dashboard/<path>?<params>. */
export function dash<T>(path: string, params: Record<string, string | number | undefined> = {}): Promise<T> {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, String(v));
  const qs = q.toString();
  return call<T>(`/openbatch/v1/dashboard/${path}${qs ? `?${qs}` : ''}`);
}

export interface Session {
  authRequired: boolean;
  accessKeyId: string | null;
  /** whether the dashboard may make its writes (granted at sign-in; always without credentials) */
  writes: boolean;
}

export const getSession = () => call<Session>('/openbatch/v1/dashboard/session');
export const signOut = () => call<Session>('/openbatch/v1/dashboard/session', { method: 'DELETE' });

/**
 * Proves the key by signing one request (the signer loads only here); the answer sets the
 * session cookie. `writes` asks for the dashboard's writes too (inside the signed body).
 */
export async function signIn(accessKeyId: string, secretAccessKey: string, region: string, writes = false): Promise<Session> {
  const { signedSessionRequest } = await import('./sign');
  const { headers, body } = await signedSessionRequest(accessKeyId, secretAccessKey, region, writes);
  return call<Session>('/openbatch/v1/dashboard/session', { method: 'POST', headers, body }, true);
}

// ---- shapes the pages read (the parts of AWS's shapes the dashboard uses) ----

export type JobStatus = 'SUBMITTED' | 'PENDING' | 'RUNNABLE' | 'STARTING' | 'RUNNING' | 'SUCCEEDED' | 'FAILED';
export const STATUSES: JobStatus[] = ['SUBMITTED', 'PENDING', 'RUNNABLE', 'STARTING', 'RUNNING', 'SUCCEEDED', 'FAILED'];

export interface KeyValue {
  name?: string;
  value?: string;
}

export interface AttemptDetail {
  container?: { containerInstanceArn?: string; taskArn?: string; exitCode?: number; reason?: string; logStreamName?: string };
  startedAt?: number;
  stoppedAt?: number;
  statusReason?: string;
}

export interface JobDetail {
  jobArn: string;
  jobName: string;
  jobId: string;
  jobQueue: string;
  status: JobStatus;
  statusReason?: string;
  createdAt: number;
  startedAt?: number;
  stoppedAt?: number;
  jobDefinition: string;
  parameters?: Record<string, string>;
  dependsOn?: { jobId?: string; type?: string }[];
  attempts?: AttemptDetail[];
  retryStrategy?: { attempts?: number };
  timeout?: { attemptDurationSeconds?: number };
  tags?: Record<string, string>;
  container?: {
    image?: string;
    command?: string[];
    vcpus?: number;
    memory?: number;
    environment?: KeyValue[];
    secrets?: { name?: string; valueFrom?: string }[];
    resourceRequirements?: { type?: string; value?: string }[];
    exitCode?: number;
    reason?: string;
    logStreamName?: string;
    logConfiguration?: { logDriver?: string; options?: Record<string, string> };
  };
  arrayProperties?: { size?: number; index?: number; statusSummary?: Record<string, number> };
  isCancelled?: boolean;
  isTerminated?: boolean;
}

export interface JobQueue {
  jobQueueName: string;
  state: string;
  status: string;
  priority: number;
  computeEnvironmentOrder: { order: number; computeEnvironment: string }[];
}

export interface ComputeEnvironment {
  computeEnvironmentName: string;
  computeEnvironmentArn: string;
  type: string;
  state: string;
  status: string;
  statusReason?: string;
  computeResources?: { type?: string; minvCpus?: number; maxvCpus?: number; desiredvCpus?: number; instanceTypes?: string[] };
}

/** Job queues and compute environments, all pages. */
export async function allQueues(): Promise<JobQueue[]> {
  const out: JobQueue[] = [];
  let nextToken: string | undefined;
  do {
    const r = await batch<{ jobQueues: JobQueue[]; nextToken?: string }>('DescribeJobQueues', { nextToken, maxResults: 100 });
    out.push(...r.jobQueues);
    nextToken = r.nextToken;
  } while (nextToken);
  return out.sort((a, b) => a.jobQueueName.localeCompare(b.jobQueueName));
}

export async function allComputeEnvironments(): Promise<ComputeEnvironment[]> {
  const out: ComputeEnvironment[] = [];
  let nextToken: string | undefined;
  do {
    const r = await batch<{ computeEnvironments: ComputeEnvironment[]; nextToken?: string }>('DescribeComputeEnvironments', { nextToken, maxResults: 100 });
    out.push(...r.computeEnvironments);
    nextToken = r.nextToken;
  } while (nextToken);
  return out.sort((a, b) => a.computeEnvironmentName.localeCompare(b.computeEnvironmentName));
}

export interface JobDefinition {
  jobDefinitionName: string;
  jobDefinitionArn: string;
  revision: number;
  parameters?: Record<string, string>;
  containerProperties?: { command?: string[]; environment?: KeyValue[]; resourceRequirements?: { type?: string; value?: string }[] };
}

/** The ACTIVE job definitions, newest revision of each name first. */
export async function activeDefinitions(): Promise<JobDefinition[]> {
  const out: JobDefinition[] = [];
  let nextToken: string | undefined;
  do {
    const r = await batch<{ jobDefinitions: JobDefinition[]; nextToken?: string }>('DescribeJobDefinitions', { status: 'ACTIVE', nextToken, maxResults: 100 });
    out.push(...r.jobDefinitions);
    nextToken = r.nextToken;
  } while (nextToken);
  return out.sort((a, b) => a.jobDefinitionName.localeCompare(b.jobDefinitionName) || b.revision - a.revision);
}

export async function describeJob(jobId: string): Promise<JobDetail | undefined> {
  const r = await batch<{ jobs: JobDetail[] }>('DescribeJobs', { jobs: [jobId] });
  return r.jobs[0];
}

// ---- openbatch's own answers: why-pending and cost ----

export interface WhyReport {
  jobId: string;
  jobName: string;
  status: string;
  queue: string;
  /** SUBMITTED, DEPENDENCY, ARRAY_CHILDREN, QUEUED, NO_CAPACITY, NEVER_FITS, NO_ENABLED_CE, NO_CONSUMABLE, DRAINING, STARTING… */
  code: string;
  summary: string;
  statusReason: string | null;
  since: number | null;
  position?: number;
  jobsAhead?: number;
  /** what a person can do about it */
  hint?: string;
  /** when it should start: from the ends of what runs (running) or an instance's boot (launch) */
  eta?: { at: number; basis: 'running' | 'launch'; detail: string };
  /** why there is no estimate */
  noEta?: string;
  need?: { vcpus: number; memoryMiB: number; gpus: number; nodes?: number };
  dependencies?: { jobId: string; status: string | null; type: string | null }[];
  computeEnvironments?: { name: string; enabled: boolean; maxvCpus: number | null; usedVcpus: number; launchedVcpus: number; launchingVcpus: number }[];
  consumables?: { name: string; needed: number; available: number }[];
}

/** One group of a cost report, as the server's model says it. */
export type { CostRow };

// ---- what jobs really used (src/model/usage.ts) ----

export type { AttemptUsageDetail, UsageAnswer } from '../../src/model/usage.js';

/** An attempt's figures and its memory over time, [epoch ms, MiB] (GET /openbatch/v1/dashboard/jobs/<id>/usage). */
export type AttemptUsage = AttemptUsageDetail & { memory: [number, number][] };

export function jobUsage(jobId: string): Promise<{ jobId: string; jobDefinition: string; attempts: AttemptUsage[] }> {
  return dash(`jobs/${encodeURIComponent(jobId)}/usage`);
}

export interface CostReport {
  currency: string | null;
  /** false: the server has no price table; only the resources reserved mean anything */
  priced: boolean;
  from: number;
  to: number;
  rows: CostRow[];
  total: CostRow;
}
