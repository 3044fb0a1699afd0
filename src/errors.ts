/*
 * Every error ssm-tunnel raises on purpose carries a stable `code` that callers branch on (never the
 * message text), whether retrying can help (`retryable`), and the error underneath (`cause`).
 *
 * - Errors the AWS service returned keep the service's own name as their code
 *   (`TargetNotConnected`, `AccessDeniedException`, `ExpiredTokenException`, …).
 * - Our own errors have `ERR_…` codes, listed in `ErrorCode` below and in the README.
 *
 * This module imports nothing, so every layer may use it.
 */

/** The codes of ssm-tunnel's own errors. Service errors use the service's error name instead. */
export const ErrorCode = {
  /** No session came up within `connectTimeoutMs`. */
  CONNECT_TIMEOUT: 'ERR_CONNECT_TIMEOUT',
  /** The tunnel, stream or proxy was closed (by `close()`, a signal or a reload) before or while it was used. */
  TUNNEL_CLOSED: 'ERR_TUNNEL_CLOSED',
  /** A `name:`, tag or ECS target matched no online node or task. */
  TARGET_NOT_FOUND: 'ERR_TARGET_NOT_FOUND',
  /** A `name:` or tag target matched several online nodes. */
  AMBIGUOUS_TARGET: 'ERR_AMBIGUOUS_TARGET',
  /** A target lookup is impossible with what the caller gave (no describe permission, no API for it). */
  TARGET_LOOKUP_UNAVAILABLE: 'ERR_TARGET_LOOKUP_UNAVAILABLE',
  /** An ECS service's tasks cannot take sessions: ECS Exec is off, or its agent is not running. */
  ECS_EXEC_UNAVAILABLE: 'ERR_ECS_EXEC_UNAVAILABLE',
  /** The agent could not connect to the destination. */
  DESTINATION_REFUSED: 'ERR_DESTINATION_REFUSED',
  /** An option or a config value is invalid; the error is also a `TypeError`. */
  INVALID_OPTION: 'ERR_INVALID_OPTION',
  /** Bytes from the peer do not form a valid message. */
  PROTOCOL: 'ERR_PROTOCOL',
  /** The data channel could not be opened or the handshake did not complete. */
  HANDSHAKE: 'ERR_HANDSHAKE',
  /** The WebSocket of the data channel could not be opened or was lost. */
  DATA_CHANNEL: 'ERR_DATA_CHANNEL',
  /** The session ended (the service closed it, or it could not be resumed). */
  SESSION_ENDED: 'ERR_SESSION_ENDED',
  /** The service returned a StreamUrl we refuse to connect to (not `wss:`). */
  INSECURE_STREAM_URL: 'ERR_INSECURE_STREAM_URL',
  /** The operation was cancelled through its `AbortSignal`. */
  ABORTED: 'ERR_ABORTED',
  /** The local address or socket could not be listened on. */
  LISTEN: 'ERR_LISTEN',
  /** The outbound HTTP(S) proxy could not be reached or refused the CONNECT (not for its credentials). */
  PROXY: 'ERR_PROXY',
  /** The outbound proxy refused the credentials in the proxy URL (407). */
  PROXY_AUTH: 'ERR_PROXY_AUTH',
  /** A server's TLS certificate is not trusted by the CAs in use (AWS_CA_BUNDLE, caBundle, Node's). */
  TLS_CERTIFICATE: 'ERR_TLS_CERTIFICATE',
  /** The CA bundle (caBundle, AWS_CA_BUNDLE, the profile's ca_bundle) cannot be read or holds no certificate. */
  CA_BUNDLE: 'ERR_CA_BUNDLE',
} as const;

export type OwnErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/**
 * Service errors that no retry can fix: the request, the target, the document or the credentials
 * are wrong, or the session is gone. Everything else the service says (throttling, 5xx, network)
 * is worth another attempt.
 */
const PERMANENT_SERVICE_ERRORS: ReadonlySet<string> = new Set([
  'AccessDeniedException',
  'TargetNotConnected',
  'InvalidDocument',
  'InvalidTarget',
  'ValidationException',
  'DoesNotExistException',
  'UnrecognizedClientException',
  'InvalidSignatureException',
  'MissingAuthenticationTokenException',
  'InvalidClientTokenId',
  'ExpiredTokenException',
  'ExpiredToken',
  'CredentialsProviderError',
]);

/** Our own codes that retrying cannot fix. The others (timeouts, lost sockets) may pass. */
const PERMANENT_OWN_CODES: ReadonlySet<string> = new Set<string>([
  ErrorCode.TUNNEL_CLOSED,
  ErrorCode.TARGET_NOT_FOUND,
  ErrorCode.AMBIGUOUS_TARGET,
  ErrorCode.TARGET_LOOKUP_UNAVAILABLE,
  ErrorCode.ECS_EXEC_UNAVAILABLE,
  ErrorCode.INVALID_OPTION,
  ErrorCode.INSECURE_STREAM_URL,
  ErrorCode.ABORTED,
  ErrorCode.PROXY_AUTH,
  ErrorCode.TLS_CERTIFICATE,
  ErrorCode.CA_BUNDLE,
]);

/** Whether an error with this code is worth retrying, when the error itself does not say. */
export function isRetryableCode(code: string): boolean {
  return !PERMANENT_SERVICE_ERRORS.has(code) && !PERMANENT_OWN_CODES.has(code);
}

export interface SsmTunnelErrorOptions {
  cause?: unknown;
  /** Defaults to what the code implies (`isRetryableCode`). */
  retryable?: boolean;
}

/** Marks our errors, so an `InvalidOptionError` (a `TypeError`) is an `SsmTunnelError` too. */
const brand = Symbol.for('ssm-tunnel.error');

/** The base of every error ssm-tunnel raises on purpose. */
export class SsmTunnelError extends Error {
  override name = 'SsmTunnelError';
  readonly code: string;
  readonly retryable: boolean;
  readonly [brand] = true;

  constructor(code: string, message: string, options: SsmTunnelErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.retryable = options.retryable ?? isRetryableCode(code);
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[brand] === true;
  }
}

/**
 * An invalid option or config value: code `ERR_INVALID_OPTION`, never retryable. It extends
 * `TypeError` (as Node's own argument errors do) and still passes `instanceof SsmTunnelError`.
 */
export class InvalidOptionError extends TypeError {
  override name = 'InvalidOptionError';
  readonly code = ErrorCode.INVALID_OPTION;
  readonly retryable = false;
  readonly [brand] = true;

  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
  }
}

/** Narrows to what every ssm-tunnel error has. */
export type AnySsmTunnelError = SsmTunnelError | InvalidOptionError;

/**
 * The one place that decides whether an error is worth another attempt. Our errors say so
 * themselves; a foreign error is judged by its `name` (the SDK's errors carry the service's error
 * name there); anything else is assumed transient (a socket error, a timeout).
 */
export function isRetryable(error: unknown): boolean {
  if (error instanceof SsmTunnelError) return (error).retryable;
  if (error instanceof TypeError) return false;
  if (error instanceof Error) return isRetryableCode(error.name);
  return true;
}

/** The stable code of any error: ours, a service error's name, Node's `code`, else `ERR_UNKNOWN`. */
export function errorCode(error: unknown): string {
  if (error instanceof SsmTunnelError) return (error).code;
  if (typeof error === 'object' && error !== null) {
    const { code, name } = error as { code?: unknown; name?: unknown };
    if (typeof code === 'string') return code;
    if (typeof name === 'string' && name !== 'Error') return name;
  }
  return 'ERR_UNKNOWN';
}
