/**
 * Time for the in-process harness: a clock and timers (src/model/ids.ts Clock, Timers) that
 * move only when the test says so. `advance(ms)` runs every timer that falls due on the way,
 * in order, each at its own time, and lets the server's promises settle after each; nothing
 * sleeps, so an hour of the server's time costs what its work costs.
 */
import type { Clock, Timer, Timers } from '../../src/model/ids.js';

/** A fixed start (2027-01-15T00:00:00Z), so that times in a failing test's output are recognisable. */
export const EPOCH = Date.UTC(2027, 0, 15);

interface Entry {
  due: number;
  seq: number;
  fn: () => void;
  /** set for `every` timers */
  period?: number;
}

/** Lets the event loop go round `n` times: promises settle, sockets are read and written. */
export async function turns(n = 10): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise<void>((r) => setImmediate(r));
}

export class FakeTime implements Clock, Timers {
  private t: number;
  private seq = 0;
  private readonly entries = new Set<Entry>();

  constructor(start = EPOCH) {
    this.t = start;
  }

  now(): number {
    return this.t;
  }

  after(ms: number, fn: () => void): Timer {
    return this.add({ due: this.t + Math.max(0, ms), seq: this.seq++, fn });
  }

  every(ms: number, fn: () => void): Timer {
    const period = Math.max(1, ms);
    return this.add({ due: this.t + period, seq: this.seq++, fn, period });
  }

  private add(e: Entry): Timer {
    this.entries.add(e);
    return { clear: () => void this.entries.delete(e) };
  }

  /** When the next timer falls due, if any is set. */
  nextDue(): number | undefined {
    let next: number | undefined;
    for (const e of this.entries) if (next === undefined || e.due < next) next = e.due;
    return next;
  }

  /** Moves time forward by `ms`, running the timers that fall due on the way, each at its time. */
  async advance(ms: number): Promise<void> {
    await this.advanceTo(this.t + ms);
  }

  async advanceTo(target: number): Promise<void> {
    for (;;) {
      let next: Entry | undefined;
      for (const e of this.entries) if (e.due <= target && (!next || e.due < next.due || (e.due === next.due && e.seq < next.seq))) next = e;
      if (!next) break;
      this.t = Math.max(this.t, next.due);
      if (next.period) next.due += next.period;
      else this.entries.delete(next);
      next.fn();
      // What the timer started gets going; the harness waits for the scheduler itself.
      await turns(2);
    }
    this.t = Math.max(this.t, target);
    await turns(2);
  }
}
