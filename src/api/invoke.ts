/**
 * AWS Batch operations called from inside the server (triggers submit jobs this way), with
 * the same structural and semantic checks an HTTP request gets, in the configured default
 * region.
 */
import type { Handler, Services } from './context.js';
import { batchOperations } from './operations.js';
import { shapeOutput } from './outputShapes.js';
import { check } from './shapeCheck.js';
import { validateRequest } from './validate/index.js';

export type Invoke = (operation: string, input: Record<string, unknown>) => Promise<unknown>;

export function internalInvoker(services: Services, handlers: Record<string, Handler>): Invoke {
  const ops = new Map(batchOperations().map((o) => [o.name, o]));
  let n = 0;
  return async (operation, input) => {
    const op = ops.get(operation);
    const handler = handlers[operation];
    if (!op || !handler) throw new Error(`internal: no operation ${operation}`);
    check(op.input, input);
    validateRequest(op.name, input);
    const output = await handler(input, { scope: { region: services.config.defaultRegion, account: services.config.account }, accessKeyId: null, requestId: `internal-${++n}` }, services);
    return shapeOutput(operation, output ?? {});
  };
}
