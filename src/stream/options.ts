import type { Logger } from 'pino';
import type { AwsConnectionOptions, SessionApi } from '../aws/session-api.js';
import { targetSpecProblem, type TargetSpec } from '../aws/target-resolver.js';
import { InvalidOptionError } from '../errors.js';
import { DEFAULT_RECONNECT, type ReconnectOptions, type SessionOptions } from '../session/options.js';
import { isValidHost } from '../util/net.js';

/** The document IAM policies for SSH usually allow; its agent side ends the session when the destination closes. */
export const SSH_DOCUMENT = 'AWS-StartSSHSession';
const DEFAULT_REMOTE_PORT = 22;
/**
 * ResumeSession attempts after a dropped WebSocket. A stream cannot move to a new session (the
 * bytes in flight would be lost), so it gives up after these (about a minute with the default
 * backoff) instead of retrying for ever as a tunnel does.
 */
const DEFAULT_RESUME_RETRIES = 8;

export interface StreamOptions extends AwsConnectionOptions {
  /** Instance or managed node id; `name:<Name tag>`; or `{ tag: { Key: Value } }` (exactly one online node). */
  target: TargetSpec;
  /**
   * Destination host as seen from the target: the session then uses
   * `AWS-StartPortForwardingSessionToRemoteHost`. Omit it to reach a port on the target itself
   * with `AWS-StartSSHSession`.
   */
  remoteHost?: string;
  /** Destination port; default 22. */
  remotePort?: number;
  /** Another Session document to start (it gets `portNumber`, and `host` with remoteHost). */
  document?: string;
  /** How ResumeSession is retried after a dropped WebSocket (a start is not retried: it fails at once). */
  reconnect?: Partial<ReconnectOptions>;
  logger?: Logger;
  /** Replaces the SDK-backed session API (tests, embedders). */
  sessionApi?: SessionApi;
  /** Cancels the start, or closes the stream once it is open. */
  signal?: AbortSignal;
}

function fail(name: string, expected: string, got: unknown): never {
  throw new InvalidOptionError(`openStream: ${name} must be ${expected}, got ${typeof got === 'number' ? String(got) : (JSON.stringify(got) ?? String(got))}`);
}

/** Checks every option and picks the document; each error names the option and the value given. */
export function resolveStreamOptions(options: StreamOptions): SessionOptions {
  if (typeof options !== 'object' || options === null) fail('options', 'an object', options);
  const { target, remoteHost, document } = options;
  const targetProblem = targetSpecProblem(target);
  if (targetProblem !== undefined) {
    fail('target', `an instance or managed node id such as "i-0123456789abcdef0", "name:<Name tag>" or { tag: { Key: Value } } (${targetProblem})`, target);
  }
  if (remoteHost !== undefined && (typeof remoteHost !== 'string' || !isValidHost(remoteHost))) fail('remoteHost', 'a host name or IP address', remoteHost);
  const remotePort = options.remotePort ?? DEFAULT_REMOTE_PORT;
  if (typeof remotePort !== 'number' || !Number.isInteger(remotePort) || remotePort < 1 || remotePort > 65535) fail('remotePort', 'an integer 1–65535', remotePort);
  if (document !== undefined && (typeof document !== 'string' || !/^[A-Za-z0-9_.:/-]{3,128}$/.test(document))) {
    fail('document', 'an SSM document name or ARN', document);
  }
  const reconnect = { ...DEFAULT_RECONNECT, maxRetries: DEFAULT_RESUME_RETRIES, ...options.reconnect };
  for (const name of ['initialDelayMs', 'maxDelayMs'] as const) {
    if (typeof reconnect[name] !== 'number' || !(reconnect[name] > 0)) fail(`reconnect.${name}`, 'a positive number', reconnect[name]);
  }
  if (typeof reconnect.factor !== 'number' || !(reconnect.factor >= 1)) fail('reconnect.factor', 'a number ≥ 1', reconnect.factor);
  if (typeof reconnect.maxRetries !== 'number' || !(reconnect.maxRetries >= 0)) fail('reconnect.maxRetries', 'a number ≥ 0', reconnect.maxRetries);
  // Without a host the SSH document; with one the remote-host document the session layer picks.
  const chosen = document ?? (remoteHost === undefined ? SSH_DOCUMENT : undefined);
  return {
    target,
    remoteHost,
    remotePort,
    ...(chosen === undefined
      ? {}
      : { document: chosen, documentParameters: { portNumber: [String(remotePort)], ...(remoteHost === undefined ? {} : { host: [remoteHost] }) } }),
    localPort: 0,
    reconnect,
    keepAlive: false,
    keepAliveIntervalMs: 30_000,
    connectTimeoutMs: 30_000,
  };
}
