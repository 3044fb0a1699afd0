import { describe, expect, it } from 'vitest';
import { ErrorCode, errorCode, InvalidOptionError, isRetryable, SsmTunnelError } from '../src/errors.js';

describe('errors', () => {
  it('an option error is a TypeError and an SsmTunnelError with a permanent code', () => {
    const error = new InvalidOptionError('remotePort must be 1–65535');
    expect(error).toBeInstanceOf(TypeError);
    expect(error).toBeInstanceOf(SsmTunnelError);
    expect(error.code).toBe(ErrorCode.INVALID_OPTION);
    expect(isRetryable(error)).toBe(false);
  });

  it('our own errors keep their cause and say whether retrying helps', () => {
    const cause = new Error('socket hang up');
    const error = new SsmTunnelError(ErrorCode.CONNECT_TIMEOUT, 'no session within 1000 ms', { cause });
    expect(error.cause).toBe(cause);
    expect(error.retryable).toBe(true);
    expect(new SsmTunnelError(ErrorCode.TARGET_NOT_FOUND, 'none').retryable).toBe(false);
  });

  it('service errors are judged by the name the SDK gives them', () => {
    const named = (name: string): Error => Object.assign(new Error('x'), { name });
    expect(isRetryable(named('TargetNotConnected'))).toBe(false);
    expect(isRetryable(named('ExpiredTokenException'))).toBe(false);
    expect(isRetryable(named('ThrottlingException'))).toBe(true);
    expect(errorCode(named('AccessDeniedException'))).toBe('AccessDeniedException');
    expect(errorCode(Object.assign(new Error('x'), { code: 'ECONNREFUSED' }))).toBe('ECONNREFUSED');
    expect(errorCode('nothing')).toBe('ERR_UNKNOWN');
  });
});
