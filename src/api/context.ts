/** What an operation handler receives: the request's identity and the services it may use. */
import type { Core } from '../core.js';
import type { ArnScope } from '../model/arn.js';

export interface Services extends Core {
  /** tell an instance's agent to look at its assignments now (termination requests) */
  notifyInstance(instanceId: string): void;
  /** the last scheduler pass's waiting jobs of a queue, in dispatch order, with why each waits */
  waitingIn(queue: string): { jobId: string; code: string }[] | undefined;
}

export interface RequestContext {
  scope: ArnScope;
  accessKeyId: string | null;
  requestId: string;
}

export type Handler = (input: Record<string, unknown>, ctx: RequestContext, services: Services) => Promise<unknown>;

/**
 * A handler of an operation whose input has the SDK's own type `I`: the router validated the
 * input against the operation's shape (api/validate/) before any handler runs, so the one cast
 * from the parsed body to that type is here.
 */
export function typed<I>(fn: (input: I, ctx: RequestContext, services: Services) => Promise<unknown>): Handler {
  return (input, ctx, services) => fn(input as unknown as I, ctx, services);
}
