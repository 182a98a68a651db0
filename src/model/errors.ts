/**
 * The one error family of openbatch.
 *
 * Domain code throws a BatchError; only `api/` turns it into AWS's wire shape
 * (ClientException → HTTP 400, ServerException → HTTP 500). A message names the
 * member and the problem, and where it can, the fix: "jobQueue 'render' does not exist".
 */
export type BatchErrorCode =
  | 'ClientException'
  | 'ServerException'
  | 'UnrecognizedClientException'
  | 'InvalidSignatureException'
  | 'AccessDeniedException'
  | 'TooManyRequestsException'
  // CloudWatch Logs' name for a caller over its rate (HTTP 400, retried by the SDKs)
  | 'ThrottlingException'
  | 'ResourceNotFoundException'
  // CloudWatch Logs (awsJson1_1) names for bad input and unknown operations
  | 'InvalidParameterException'
  | 'UnknownOperationException';

export class BatchError extends Error {
  constructor(
    readonly code: BatchErrorCode,
    readonly httpStatus: number,
    message: string,
  ) {
    super(message);
    this.name = code;
  }

  get isClientError(): boolean {
    return this.httpStatus < 500;
  }
}

/** A mistake of the caller: bad input, unknown resource, illegal state change. */
export function clientError(message: string): BatchError {
  return new BatchError('ClientException', 400, message);
}

/** Our fault: the request was fine but we could not carry it out. */
export function serverError(message: string): BatchError {
  return new BatchError('ServerException', 500, message);
}

export function isBatchError(e: unknown): e is BatchError {
  return e instanceof BatchError;
}

/**
 * The three ways a request can be refused for what it asks, as domain code says them; all
 * are ClientExceptions on the wire (AWS Batch answers every one with 400 ClientException), and
 * code that can live with one — a Describe call skipping what does not exist — catches that
 * one, never every error.
 */

/** A resource the request names does not exist. */
export class NotFound extends BatchError {
  constructor(
    /** the request member that names it */
    readonly member: string,
    /** what the request gave */
    readonly ref: string,
    message = `${member} '${ref}' does not exist`,
  ) {
    super('ClientException', 400, message);
  }
}

/** The request is well formed but the state of what it names forbids it (a queue not DISABLED, a resource in use). */
export class Conflict extends BatchError {
  constructor(message: string) {
    super('ClientException', 400, message);
  }
}

/** The request breaks a rule that needs the stored resources to see (an override a definition's type does not take). */
export class Invalid extends BatchError {
  constructor(message: string) {
    super('ClientException', 400, message);
  }
}

/** `promise`'s value, or undefined when what it looks up does not exist; any other error is thrown on. */
export async function unlessNotFound<T>(promise: Promise<T>): Promise<T | undefined> {
  try {
    return await promise;
  } catch (e) {
    if (e instanceof NotFound) return undefined;
    throw e;
  }
}
