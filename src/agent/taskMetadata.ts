/**
 * The ECS task metadata endpoint (version 4), served by the agent for the attempts it runs.
 * ECS gives every container `ECS_CONTAINER_METADATA_URI_V4`; tools and SDKs read the task's
 * ARN, its log driver options (log group and stream), its limits and its containers there:
 *
 *   GET <uri>        the container's document
 *   GET <uri>/task   the task's document, with its containers' documents
 *
 * (`/stats` and `/task/stats`, Docker's resource statistics, are not served: 404 saying so.)
 *
 * Each attempt gets a URI of its own, `/v4/<token>` with a random 128-bit token, known only
 * to the attempt (it is in its environment alone): whoever cannot read the attempt's
 * environment cannot name its documents, whichever way they reach the server. How the
 * attempt reaches the server depends on its network; the executor asks for the listener it
 * needs:
 *
 *   loopback   a process job that shares the host's network (no sandbox, or sandboxNetwork
 *              host): 127.0.0.1 and a port of the agent's choosing;
 *   address    a container on an engine's bridge network: the bridge's gateway address on
 *              this host, which the container routes to;
 *   unix       a sandboxed process job with a network of its own (loopback only): a unix
 *              socket in the attempt's working directory, which a relay inside the sandbox
 *              makes a TCP endpoint on the sandbox's own loopback (executor/process.ts).
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { chmodSync, closeSync, constants, openSync, unlinkSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { Logger } from 'pino';
import type { MetadataEndpoint } from '../executor/types.js';

const LOOPBACK = '127.0.0.1';
/** The longest path a unix socket can be bound at directly (sun_path holds 108 bytes with its NUL). */
const MAX_SOCKET_PATH = 100;

/** What the control plane says of the attempt's task, beyond what the assignment holds. */
export interface TaskFacts {
  /** the ECS-style task ARN DescribeJobs reports (`arn:aws:ecs:<region>:<account>:task/<id>`) */
  taskArn: string;
  region: string;
  /** the compute environment's ECS-style cluster ARN */
  clusterArn: string;
  /** the job definition's name and revision (ECS: the task definition's family and revision) */
  family: string;
  revision: string;
  /** `EC2` or `FARGATE`, by the compute environment's type */
  launchType: 'EC2' | 'FARGATE';
  /** the instance's ECS-style container instance ARN */
  containerInstanceArn: string;
  logGroup: string;
  logStream: string;
}

/** One container of the attempt, as its documents describe it. */
export interface ContainerFacts {
  name: string;
  image: string;
  vcpus: number;
  memoryMiB: number;
  /** its own log stream (a task's container); the task's otherwise */
  logStream?: string;
}

/** An attempt's entry: its facts, and what changes as it runs. */
interface Entry {
  task: TaskFacts;
  containers: ContainerFacts[];
  createdAt: string;
  startedAt?: string;
  pullStartedAt: string;
  pullStoppedAt?: string;
  /** per container name: the engine's id once known */
  dockerIds: Map<string, string>;
  /** unix sockets made for it, removed when it ends */
  sockets: { server: Server; path: string }[];
}

/** The task metadata endpoint of one agent. */
export class TaskMetadataServer {
  private readonly entries = new Map<string, Entry>();
  private readonly tcp = new Map<string, Promise<{ server: Server; port: number } | undefined>>();
  private loopbackPort: number | undefined;

  constructor(private readonly logger?: Logger) {}

  /** Registers an attempt; returns its token (the last part of its URI). */
  register(task: TaskFacts, containers: ContainerFacts[]): string {
    const token = randomBytes(16).toString('hex');
    const now = new Date().toISOString();
    this.entries.set(token, { task, containers, createdAt: now, pullStartedAt: now, dockerIds: new Map(), sockets: [] });
    return token;
  }

  /** The attempt's containers started (their images pulled, the containers made). */
  started(token: string, at: number, dockerIds: Record<string, string> = {}): void {
    const e = this.entries.get(token);
    if (!e) return;
    e.startedAt = e.pullStoppedAt = new Date(at).toISOString();
    for (const [name, id] of Object.entries(dockerIds)) e.dockerIds.set(name, id);
  }

  /** The attempt ended: its URI answers no more, and its sockets are removed. */
  unregister(token: string): void {
    const e = this.entries.get(token);
    if (!e) return;
    this.entries.delete(token);
    for (const s of e.sockets) closeSocket(s);
  }

  /** Listens on the host's loopback, for the jobs that share the host's network. */
  async start(): Promise<void> {
    if (!this.tcp.has(LOOPBACK)) this.tcp.set(LOOPBACK, this.listen(LOOPBACK));
    this.loopbackPort = (await this.tcp.get(LOOPBACK))?.port;
  }

  /** The endpoint of one attempt, as its executor makes it reachable (executor/types.ts). */
  endpoint(token: string, container?: string): MetadataEndpoint {
    const uri = (host: string, port: number) => `http://${host.includes(':') ? `[${host}]` : host}:${port}${this.path(token, container)}`;
    return {
      loopback: () => (this.loopbackPort === undefined ? undefined : uri(LOOPBACK, this.loopbackPort)),
      at: async (host) => {
        let listening = this.tcp.get(host);
        if (!listening) this.tcp.set(host, (listening = this.listen(host)));
        const l = await listening;
        return l ? uri(host, l.port) : undefined;
      },
      unix: (path) => this.unixSocket(token, path, container),
      started: (at, dockerIds) => this.started(token, at, dockerIds),
    };
  }

  /**
   * A unix socket at `path` that answers the attempt's documents only, for a relay inside its
   * sandbox; the URI path to use through it. The socket goes with the attempt. (A unix
   * socket is bound and listening once `listen` returns: the job, started after, finds it.)
   * Nothing is removed first: `path` is in the attempt's working directory, which the agent
   * makes empty for it (a file found there fails the bind: no endpoint, and nothing there is
   * given to the job's user).
   */
  private unixSocket(token: string, path: string, container?: string): string {
    const e = this.entries.get(token);
    if (!e) throw new Error('no such attempt');
    const server = createServer((req, res) => this.answer(req, res, token));
    server.on('error', (err) => this.logger?.warn({ path, err: err.message }, 'the task metadata socket failed'));
    // A unix socket's path holds at most 107 bytes, and attempts' directories are deeper than
    // that: it is bound through this process's descriptor of its directory (/proc/self/fd/N),
    // which costs no file of its own. (Whoever connects does so from that directory, by its
    // name alone: the relay runs there.)
    let dir: number | undefined;
    let bindPath = path;
    if (Buffer.byteLength(path) > MAX_SOCKET_PATH) {
      dir = openSync(dirname(path), constants.O_RDONLY | constants.O_DIRECTORY);
      bindPath = `/proc/self/fd/${dir}/${basename(path)}`;
    }
    try {
      server.listen(bindPath);
    } finally {
      if (dir !== undefined) closeSync(dir);
    }
    // A unix socket's bind fails at once (its error event follows on the next tick).
    if (!server.listening) throw new Error(`cannot bind a socket at ${path} (is something there?)`);
    // The job may run as another user than the agent.
    chmodSync(path, 0o666);
    server.unref();
    e.sockets.push({ server, path });
    return this.path(token, container);
  }

  /** Stops listening everywhere. */
  async close(): Promise<void> {
    for (const e of this.entries.values()) for (const s of e.sockets) closeSocket(s);
    this.entries.clear();
    for (const l of this.tcp.values()) (await l)?.server.close();
    this.tcp.clear();
  }

  private path(token: string, container?: string): string {
    return `/v4/${token}${container ? `-${encodeURIComponent(container)}` : ''}`;
  }

  private async listen(host: string): Promise<{ server: Server; port: number } | undefined> {
    const server = createServer((req, res) => this.answer(req, res));
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, host, () => resolve());
      });
    } catch (e) {
      this.logger?.warn({ host, err: (e as Error).message }, 'cannot serve the task metadata endpoint on this address');
      return undefined;
    }
    server.unref();
    const address = server.address();
    return { server, port: typeof address === 'object' && address ? address.port : 0 };
  }

  /** `only`: the one attempt a per-attempt socket answers for. */
  private answer(req: IncomingMessage, res: ServerResponse, only?: string): void {
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    };
    const m = /^\/v4\/([0-9a-f]{32})(?:-([^/?]+))?(\/task)?(\/stats)?\/?(?:\?.*)?$/.exec(req.url ?? '');
    const e = m && (only === undefined || m[1] === only) ? this.entries.get(m[1]) : undefined;
    if (req.method !== 'GET' || !m || !e) return send(404, { message: 'no such task metadata: the URI is the one in ECS_CONTAINER_METADATA_URI_V4 of a running attempt' });
    if (m[4]) return send(404, { message: 'task and container statistics are not served by openbatch' });
    const name = m[2] ? decodeURIComponent(m[2]) : e.containers[0]?.name;
    if (m[3]) return send(200, this.taskDocument(e));
    const container = e.containers.find((c) => c.name === name);
    if (!container) return send(404, { message: `the task has no container named ${name}` });
    send(200, this.containerDocument(e, container));
  }

  private containerDocument(e: Entry, c: ContainerFacts): Record<string, unknown> {
    const t = e.task;
    const taskId = t.taskArn.split('/').pop() ?? '';
    const dockerId = e.dockerIds.get(c.name) ?? `${taskId}-${c.name}`;
    return {
      DockerId: dockerId,
      Name: c.name,
      DockerName: `ecs-${t.family}-${t.revision}-${c.name}`,
      Image: c.image,
      ImageID: '',
      Labels: {
        'com.amazonaws.ecs.cluster': t.clusterArn,
        'com.amazonaws.ecs.container-name': c.name,
        'com.amazonaws.ecs.task-arn': t.taskArn,
        'com.amazonaws.ecs.task-definition-family': t.family,
        'com.amazonaws.ecs.task-definition-version': t.revision,
      },
      DesiredStatus: 'RUNNING',
      KnownStatus: e.startedAt ? 'RUNNING' : 'PENDING',
      // ECS counts CPU in units of 1/1024 vCPU.
      Limits: { CPU: Math.round(c.vcpus * 1024), Memory: c.memoryMiB },
      CreatedAt: e.createdAt,
      ...(e.startedAt ? { StartedAt: e.startedAt } : {}),
      Type: 'NORMAL',
      LogDriver: 'awslogs',
      LogOptions: {
        'awslogs-group': t.logGroup,
        'awslogs-region': t.region,
        'awslogs-stream': c.logStream ?? t.logStream,
      },
      ContainerARN: `${t.taskArn.replace(':task/', ':container/')}/${c.name}`,
      Networks: [],
    };
  }

  private taskDocument(e: Entry): Record<string, unknown> {
    const t = e.task;
    return {
      Cluster: t.clusterArn,
      TaskARN: t.taskArn,
      Family: t.family,
      Revision: t.revision,
      DesiredStatus: 'RUNNING',
      KnownStatus: e.startedAt ? 'RUNNING' : 'PENDING',
      Limits: {
        CPU: e.containers.reduce((n, c) => n + c.vcpus, 0),
        Memory: e.containers.reduce((n, c) => n + c.memoryMiB, 0),
      },
      PullStartedAt: e.pullStartedAt,
      ...(e.pullStoppedAt ? { PullStoppedAt: e.pullStoppedAt } : {}),
      AvailabilityZone: `${t.region}a`,
      LaunchType: t.launchType,
      ContainerInstanceArn: t.containerInstanceArn,
      Containers: e.containers.map((c) => this.containerDocument(e, c)),
    };
  }
}

/**
 * Stops a socket's server and removes its file by its own path: the server, bound through a
 * descriptor since closed (/proc/self/fd/N), would not find it, and the file left behind
 * made the attempt's working directory go with a recursive removal instead of one rmdir.
 */
function closeSocket(s: { server: Server; path: string }): void {
  s.server.close();
  try {
    unlinkSync(s.path);
  } catch {
    // gone with its directory, or removed by the server when it was bound by its own path
  }
}
