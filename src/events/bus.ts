/**
 * The in-process event bus: every committed job state change, in commit order, to whoever
 * listens (the SSE stream, metrics). Publishing costs nothing when no one listens; listeners
 * that need the job's details load them themselves, once per committed batch.
 */
import type { JobStateChange } from '../model/jobStateMachine.js';

export type ChangeListener = (changes: JobStateChange[]) => void;

export class EventBus {
  private readonly listeners = new Set<ChangeListener>();

  publish(changes: JobStateChange[]): void {
    for (const l of this.listeners) {
      try {
        l(changes);
      } catch {
        // a listener's failure must never reach the writer that committed the changes
      }
    }
  }

  subscribe(listener: ChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
