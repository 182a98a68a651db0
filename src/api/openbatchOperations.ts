/**
 * openbatch's own operations, beside the AWS ones: `POST /openbatch/v1/<name>` with a JSON
 * body, SigV4-signed like any AWS call (service `batch`), answered in JSON; errors are AWS's
 * ClientException / ServerException shapes. AWS shapes are never extended: what AWS Batch
 * has no operation for (why-pending, cost, rerun of failed children) lives here, for the
 * CLI and the dashboard.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { clientError } from '../model/errors.js';
import { parseBoundedJson } from '../jsonDepth.js';
import type { RequestContext } from './context.js';

export type OpenbatchOperation = (input: Record<string, unknown>, ctx: RequestContext) => Promise<unknown>;

export function registerOpenbatchOperations(
  app: FastifyInstance,
  authenticate: (req: FastifyRequest, service: string) => RequestContext,
  operations: Record<string, OpenbatchOperation>,
): void {
  for (const [name, op] of Object.entries(operations)) {
    app.post(`/openbatch/v1/${name}`, async (req, reply) => {
      const ctx = authenticate(req, 'batch');
      const raw = req.body as Buffer | undefined;
      let input: unknown = {};
      if (raw && raw.length) {
        input = parseBoundedJson(raw.toString('utf8'), clientError, 'the request body is not valid JSON');
      }
      if (typeof input !== 'object' || input === null || Array.isArray(input)) throw clientError('the request body must be a JSON object');
      return reply.header('content-type', 'application/json').send((await op(input as Record<string, unknown>, ctx)) ?? {});
    });
  }
}

/** A required string member of an openbatch operation's input. */
export function stringMember(input: Record<string, unknown>, name: string): string {
  const v = input[name];
  if (typeof v !== 'string' || v === '') throw clientError(`${name} is required and must be a string`);
  return v;
}

/** An optional boolean member of an openbatch operation's input (absent: false). */
export function booleanMember(input: Record<string, unknown>, name: string): boolean {
  const v = input[name];
  if (v === undefined) return false;
  if (typeof v !== 'boolean') throw clientError(`${name} must be true or false`);
  return v;
}
