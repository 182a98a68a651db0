/**
 * An agent the test drives by hand over the agent protocol: it joins an UNMANAGED compute
 * environment with the server's join token, and polls and reports only when told to, saying
 * what the test says it runs.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AttemptRef, PollResponse, Report, ReportResponse } from '../../src/agent/protocol.js';

export class HandAgent {
  constructor(
    private readonly url: string,
    readonly instanceId: string,
    readonly token: string,
  ) {}

  /** Joins `ce` with the join token of the server whose data directory is `dataDir`. */
  static async join(t: { url: string; dataDir: string }, ce: string, capacity = { vcpus: 1, memoryMiB: 512, gpus: 0 }): Promise<HandAgent> {
    const joinToken = readFileSync(join(t.dataDir, 'agent-join-token'), 'utf8').trim();
    const res = await fetch(`${t.url}/agent/v1/register`, {
      method: 'POST',
      headers: { authorization: `Bearer ${joinToken}` },
      body: JSON.stringify({ computeEnvironment: ce, ...capacity }),
    });
    assert.equal(res.status, 200, await res.clone().text());
    const { instanceId, token } = (await res.json()) as { instanceId: string; token: string };
    return new HandAgent(t.url, instanceId, token);
  }

  /** One poll saying the agent runs `running` (default nothing), answered at once. */
  async poll(running: AttemptRef[] = []): Promise<PollResponse> {
    const res = await this.post('/agent/v1/poll', { instanceId: this.instanceId, running, waitMs: 0 });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body as PollResponse;
  }

  /** Reports, answered with the stale ones. */
  async report(reports: Report[]): Promise<ReportResponse> {
    const res = await this.post('/agent/v1/report', { instanceId: this.instanceId, reports });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body as ReportResponse;
  }

  /** A request with this agent's token, whatever it answers. */
  async post(path: string, body: unknown, token = this.token): Promise<{ status: number; body: unknown }> {
    const res = await fetch(`${this.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: JSON.stringify(body) });
    return { status: res.status, body: await res.json() };
  }
}
