/**
 * The agent lease: how an agent and the control plane agree, without talking, that an
 * attempt runs at most once (docs/design/agent-protocol.md).
 *
 * Every request of an agent that the control plane answers renews the agent's lease for
 * `agentTimeoutSeconds` (the lease, L), counted by the agent from when it sent the request.
 * The two sides then keep to their halves:
 *
 *   agent          a lease that runs out (no answer for L: the control plane is down, paused,
 *                  cut off, or the agent is) stops every attempt the agent runs (SIGKILL, as a
 *                  lost host would) and reports them lost once it gets through again.
 *   control plane  declares an agent lost only when it has not heard from it for L plus a
 *                  margin (`lostAfterMs`): the heartbeat is written at most every
 *                  `heartbeatWriteMs`, so the database may lag the last poll by that much, and
 *                  the agent needs a moment to kill what it runs. Only then are its attempts
 *                  failed and retried. By then the agent has stopped them, so at most one copy
 *                  of an attempt ever runs.
 *
 * A control plane does not count its own absence against the agents (`AgentSilence`): after
 * it starts, takes the lead, or finds that it could not look for a while (paused, database
 * unreachable), every agent gets a whole `lostAfterMs` from that moment to be heard again. A
 * restart, failover or database outage shorter than L therefore kills nothing: the agents
 * keep running their jobs, keep polling, and reconnect. One longer than L costs each agent's
 * running attempts (stopped by the agent, retried per their strategies), never a double run.
 *
 * The trade-off of L: a longer lease rides out longer outages and partitions, and keeps a
 * dead host's jobs waiting that much longer before they are retried elsewhere.
 */

/** Time-based rules of the lease for a given L (ms). */
export interface LeaseTimes {
  /** L: an agent that has had no answer for this long stops its attempts */
  leaseMs: number;
  /** the control plane writes an agent's heartbeat at most this often */
  heartbeatWriteMs: number;
  /** the control plane declares an agent lost after this long without a heartbeat */
  lostAfterMs: number;
  /** how long an agent's long-poll may be held: short enough that polls renew the lease well within L */
  pollWaitMs: number;
}

const MAX_HEARTBEAT_WRITE_MS = 5_000;
const MAX_POLL_WAIT_MS = 15_000;
/** the least time the control plane leaves an agent to kill its attempts after its lease ran out */
const MIN_STOP_ALLOWANCE_MS = 3_000;

export function leaseTimes(agentTimeoutSeconds: number): LeaseTimes {
  const leaseMs = Math.max(1, agentTimeoutSeconds) * 1000;
  const heartbeatWriteMs = Math.min(MAX_HEARTBEAT_WRITE_MS, leaseMs / 10);
  return {
    leaseMs,
    heartbeatWriteMs,
    lostAfterMs: leaseMs + heartbeatWriteMs + Math.max(MIN_STOP_ALLOWANCE_MS, leaseMs / 5),
    pollWaitMs: Math.min(MAX_POLL_WAIT_MS, Math.floor(leaseMs / 3)),
  };
}

/**
 * The control plane's judge of silent agents. `look` starts each round of checks; `lost`
 * says whether an agent last heard at `heartbeatAt` is lost. The grace (see the file
 * comment) starts when the judge is made — when this control plane starts leading — and
 * again whenever two rounds are further apart than `stallMs`: this control plane was paused
 * or could not run its checks, and agents could not reach it meanwhile either.
 */
export class AgentSilence {
  private since: number;
  private lastLook: number;

  constructor(
    private readonly times: LeaseTimes,
    now: number,
    private readonly stallMs = Math.max(5_000, times.leaseMs / 4),
  ) {
    this.since = now;
    this.lastLook = now;
  }

  look(now: number): void {
    if (now - this.lastLook > this.stallMs) this.since = now;
    this.lastLook = now;
  }

  lost(heartbeatAt: number, now: number): boolean {
    return now - Math.max(heartbeatAt, this.since) > this.times.lostAfterMs;
  }

  /** when this control plane's grace began (its start, takeover or last stall) */
  get graceSince(): number {
    return this.since;
  }
}

/** An instance as the judge of silence reads it. */
export interface HeardFrom {
  state: string;
  interrupt_at: number | null;
  last_heartbeat_at: number;
}

/**
 * The instances whose agents are lost now, decided on one look (the providers then end them):
 * each whose agent should be heard from — booted (not PENDING), and not TERMINATING at the
 * end of a Spot notice, which ends it on its own schedule — and that `silence` finds silent,
 * with the reason its attempts and the instance end with. Call `silence.look(now)` first.
 */
export function lostAgents<I extends HeardFrom>(instances: readonly I[], silence: AgentSilence, now: number, agentTimeoutSeconds: number): { inst: I; reason: string }[] {
  const heardFrom = (i: I) => i.state !== 'PENDING' && i.state !== 'TERMINATED' && !(i.state === 'TERMINATING' && i.interrupt_at !== null);
  return instances
    .filter((i) => heardFrom(i) && silence.lost(i.last_heartbeat_at, now))
    .map((inst) => ({ inst, reason: `agent lost: no heartbeat for ${Math.round((now - inst.last_heartbeat_at) / 1000)} s (agentTimeoutSeconds ${agentTimeoutSeconds})` }));
}
