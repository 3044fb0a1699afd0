import { ErrorCode, SsmTunnelError } from '../errors.js';

/**
 * Raised by every decoder in `protocol/` when bytes do not form a valid message (code
 * ERR_PROTOCOL). The message names the field and the values seen, so a log line is enough to debug it.
 */
export class ProtocolError extends SsmTunnelError {
  override readonly name = 'ProtocolError';

  constructor(
    message: string,
    /** The wire field that was wrong, e.g. `PayloadDigest`. */
    readonly field?: string,
  ) {
    super(ErrorCode.PROTOCOL, message);
  }
}
