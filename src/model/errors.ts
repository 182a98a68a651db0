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
