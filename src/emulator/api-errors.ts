/*
 * Errors of the emulated SSM API, shaped as the real AWS JSON 1.1 service returns them: a `__type`
 * and a `message` in the body and the same type in `x-amzn-ErrorType`. The SDK turns the type into
 * the thrown error's `name` (a modeled class such as `TargetNotConnected` where SSM models one).
 */

export class ApiError extends Error {
  override readonly name = 'ApiError';

  constructor(
    /** The AWS error code, e.g. `TargetNotConnected`; becomes the SDK error's `name`. */
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }

  toBody(): string {
    return JSON.stringify({ __type: this.type, message: this.message });
  }
}

export const validationError = (message: string): ApiError => new ApiError('ValidationException', message);

export const serializationError = (message: string): ApiError => new ApiError('SerializationException', message);

/** The wording AWS uses when a required member is absent (its validation layer's message). */
export const missingMember = (member: string): ApiError =>
  validationError(`1 validation error detected: Value null at '${member}' failed to satisfy constraint: Member must not be null`);

export const internalServerError = (): ApiError =>
  new ApiError('InternalServerError', 'An internal error occurred in the emulated service (injected fault)', 500);
