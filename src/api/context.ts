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
