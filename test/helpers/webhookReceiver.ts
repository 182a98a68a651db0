/**
 * A webhook receiver on loopback for tests: records every request (headers and parsed body)
 * and answers with whatever `respond` says (200 by default).
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  headers: IncomingHttpHeaders;
  raw: string;
  event: { id: string; 'detail-type': string; source: string; resources: string[]; detail: { jobId: string; status: string; jobQueue: string; statusReason?: string } };
}

export interface Receiver {
  url: string;
  port: number;
  received: Received[];
  /** the status to answer a request with */
  respond: (r: Received) => number;
  /** resolves once `pred` holds over everything received (checked on each request) */
  until(pred: (all: Received[]) => boolean, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export async function startReceiver(port = 0): Promise<Receiver> {
  const received: Received[] = [];
  const checks = new Set<() => boolean>();
  let server: Server;
  const rec: Receiver = {
    url: '',
    port: 0,
    received,
    respond: () => 200,
    until(pred, timeoutMs = 60_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`webhook receiver: condition not met in ${timeoutMs} ms; got ${received.length} request(s): ${received.map((r) => `${r.event.detail.jobId.slice(0, 8)}:${r.event.detail.status}`).join(' ')}`)), timeoutMs);
        const check = () => {
          if (pred(received)) {
            clearTimeout(timer);
            resolve();
            return true;
          }
          return false;
        };
        if (!check()) checks.add(check);
      });
    },
    close() {
      return new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
    },
  };
  server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString('utf8')));
    req.on('end', () => {
      const r: Received = { headers: req.headers, raw, event: JSON.parse(raw) as Received['event'] };
      const status = rec.respond(r);
      if (status >= 200 && status < 300) received.push(r);
      res.writeHead(status).end();
      for (const c of [...checks]) if (c()) checks.delete(c);
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  rec.port = (server.address() as AddressInfo).port;
  rec.url = `http://127.0.0.1:${rec.port}/hook`;
  return rec;
}
