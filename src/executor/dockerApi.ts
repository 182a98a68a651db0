/**
 * The few Docker Engine API calls the container executor makes, over a unix socket (Docker's
 * daemon or Podman's compatible service). No client library: each call is one HTTP request.
 */
import { request, type IncomingMessage } from 'node:http';

/** The API version asked for; Docker ≥ 20.10 and Podman ≥ 3 answer it. */
const API = '/v1.41';

/** An answer of the daemon that is not a success; `message` is the daemon's own text. */
export class DockerError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** "unix:///run/podman/podman.sock" or a plain socket path → the socket path. */
export function socketPath(dockerHost: string): string {
  if (dockerHost.startsWith('unix://')) return dockerHost.slice('unix://'.length);
  if (dockerHost.includes('://')) throw new Error(`only unix sockets are supported for the Docker API (got ${dockerHost})`);
  return dockerHost;
}

export class DockerApi {
  readonly socket: string;

  constructor(dockerHost: string) {
    this.socket = socketPath(dockerHost);
  }

  /** Opens a request and returns the response as a stream (logs, pulls); non-2xx become DockerError. */
  open(method: string, path: string, body?: unknown): Promise<IncomingMessage> {
    return new Promise((resolve, reject) => {
      const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
      const req = request(
        {
          socketPath: this.socket,
          method,
          path: API + path,
          headers: data ? { 'content-type': 'application/json', 'content-length': data.length } : {},
        },
        (res) => {
          if ((res.statusCode ?? 500) < 300) return resolve(res);
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => reject(new DockerError(res.statusCode ?? 500, daemonMessage(Buffer.concat(chunks).toString('utf8')))));
        },
      );
      req.on('error', (e) => reject(new DockerError(0, `cannot reach the Docker API at ${this.socket}: ${e.message}`)));
      req.end(data);
    });
  }

  /** One call whose answer is JSON (or empty). */
  async call<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.open(method, path, body);
    const chunks: Buffer[] = [];
    try {
      for await (const c of res) chunks.push(c as Buffer);
    } catch (e) {
      // The engine went away in the middle of its answer (a long `wait`, a stopped service).
      throw new DockerError(0, `the Docker API at ${this.socket} closed the connection: ${(e as Error).message}`);
    }
    const text = Buffer.concat(chunks).toString('utf8');
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /** Pulls an image; the daemon reports failures inside a 200 stream as {"error": …} lines. */
  async pull(image: string): Promise<void> {
    const res = await this.open('POST', `/images/create?fromImage=${encodeURIComponent(image)}`);
    let text = '';
    for await (const c of res) text += (c as Buffer).toString('utf8');
    for (const line of text.split('\n')) {
      if (!line.trim()) continue;
      try {
        const ev = JSON.parse(line) as { error?: string; errorDetail?: { message?: string } };
        if (ev.error) throw new DockerError(500, ev.errorDetail?.message ?? ev.error);
      } catch (e) {
        if (e instanceof DockerError) throw e;
      }
    }
  }
}

function daemonMessage(text: string): string {
  try {
    const j = JSON.parse(text) as { message?: string; cause?: string };
    return j.message ?? text;
  } catch {
    return text.trim();
  }
}

/**
 * Splits Docker's multiplexed log stream (8-byte frame headers: stream 1 = stdout, 2 = stderr,
 * then a big-endian length) into payloads.
 */
export class FrameDecoder {
  private buf: Buffer = Buffer.alloc(0);

  push(chunk: Buffer, emit: (stream: 'stdout' | 'stderr', payload: Buffer) => void): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    while (this.buf.length >= 8) {
      const len = this.buf.readUInt32BE(4);
      if (this.buf.length < 8 + len) break;
      emit(this.buf[0] === 2 ? 'stderr' : 'stdout', this.buf.subarray(8, 8 + len));
      this.buf = this.buf.subarray(8 + len);
    }
  }
}
