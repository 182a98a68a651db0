/**
 * Chaos: failures of capacity that a real cloud inflicts, made on purpose so pipelines can be
 * tested against them. One module, one decision per kind of failure, each a pure function of
 * the configuration, elapsed time and a random source (injected, so tests can fix it). The
 * local provider (localProvider.ts) acts on the decisions, through the same paths that real
 * failures take.
 *
 *   Spot interruptions   each SPOT / FARGATE_SPOT instance is interrupted as a Poisson
 *                        process of `spotInterruptionsPerHour` (in dilated time: with
 *                        timeDilation 60, an hour passes in a minute). An interrupted
 *                        instance gets `spotNoticeSeconds` (dilated) of warning, then it is
 *                        terminated; see LocalProvider.interrupt for what that does.
 *   Agent losses         each instance whose agent runs (any CE type) loses it as a Poisson
 *                        process of `agentLossesPerHour` (dilated): the agent process is
 *                        killed with SIGKILL, without warning, as when a host dies. The
 *                        provider's agent-exit path then terminates the instance and fails
 *                        its attempts with the host-terminated reason.
 *   Slow starts          each launched instance, with probability `slowStartProbability`,
 *                        boots `slowStartSeconds` (dilated) late: it stays PENDING, takes no
 *                        work and its agent starts only when the delay is over — what an EC2
 *                        instance stuck in `pending` or a Fargate task slow to provision does.
 *                        It is decided per instance, not per attempt: in a real cloud the
 *                        wait is for capacity, and work already on a running host starts at
 *                        once.
 */
import type { ServerConfig } from '../config.js';

export type Random = () => number;

export type ChaosConfig = Pick<ServerConfig, 'spotInterruptionsPerHour' | 'spotNoticeSeconds' | 'agentLossesPerHour' | 'slowStartProbability' | 'slowStartSeconds' | 'timeDilation'>;

export interface Chaos {
  /** Of `candidates` (instance ids), those to interrupt now, given `elapsedMs` since the last call. */
  spotInterruptions(candidates: readonly string[], elapsedMs: number): string[];
  /** The warning an interrupted instance gets, in wall-clock ms. */
  spotNoticeMs(): number;
  /** Of `candidates` (instances whose agent runs), those whose agent dies now, given `elapsedMs` since the last call. */
  agentLosses(candidates: readonly string[], elapsedMs: number): string[];
  /** For an instance being launched: how late it boots, in wall-clock ms (0: on time). */
  slowStartMs(): number;
}

export function makeChaos(config: ChaosConfig, random: Random = Math.random): Chaos {
  // Each candidate independently, with the probability that a Poisson process of `perHour`
  // (in dilated hours) fires at least once in `elapsedMs` of wall-clock time.
  const poisson = (perHour: number, candidates: readonly string[], elapsedMs: number): string[] => {
    if (!(perHour > 0) || elapsedMs <= 0) return [];
    const hours = (elapsedMs * config.timeDilation) / 3_600_000;
    const p = 1 - Math.exp(-perHour * hours);
    return candidates.filter(() => random() < p);
  };
  return {
    spotInterruptions: (candidates, elapsedMs) => poisson(config.spotInterruptionsPerHour, candidates, elapsedMs),
    spotNoticeMs: () => (config.spotNoticeSeconds * 1000) / config.timeDilation,
    agentLosses: (candidates, elapsedMs) => poisson(config.agentLossesPerHour, candidates, elapsedMs),
    slowStartMs() {
      if (!(config.slowStartProbability > 0) || !(config.slowStartSeconds > 0)) return 0;
      return random() < config.slowStartProbability ? (config.slowStartSeconds * 1000) / config.timeDilation : 0;
    },
  };
}
