/**
 * Chaos: failures of capacity that a real cloud inflicts, made on purpose so pipelines can be
 * tested against them. One module, one decision per kind of failure, each a pure function of
 * the configuration, elapsed time and a random source (injected, so tests can fix it).
 *
 *   Spot interruptions   each SPOT / FARGATE_SPOT instance is interrupted as a Poisson
 *                        process of `spotInterruptionsPerHour` (in dilated time: with
 *                        timeDilation 60, an hour passes in a minute). An interrupted
 *                        instance gets `spotNoticeSeconds` (dilated) of warning, then it is
 *                        terminated; see LocalProvider.interrupt for what that does.
 *
 * Later kinds (agent losses, slow starts) belong here too, as functions of the same shape.
 */
import type { ServerConfig } from '../config.js';

export type Random = () => number;

export interface Chaos {
  /** Of `candidates` (instance ids), those to interrupt now, given `elapsedMs` since the last call. */
  spotInterruptions(candidates: readonly string[], elapsedMs: number): string[];
  /** The warning an interrupted instance gets, in wall-clock ms. */
  spotNoticeMs(): number;
}

export function makeChaos(config: Pick<ServerConfig, 'spotInterruptionsPerHour' | 'spotNoticeSeconds' | 'timeDilation'>, random: Random = Math.random): Chaos {
  return {
    spotInterruptions(candidates, elapsedMs) {
      const rate = config.spotInterruptionsPerHour;
      if (!(rate > 0) || elapsedMs <= 0) return [];
      const hours = (elapsedMs * config.timeDilation) / 3_600_000;
      const p = 1 - Math.exp(-rate * hours);
      return candidates.filter(() => random() < p);
    },
    spotNoticeMs() {
      return (config.spotNoticeSeconds * 1000) / config.timeDilation;
    },
  };
}
