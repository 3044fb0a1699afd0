/*
 * What one SSM session needs to start and to be kept alive, whatever front end carries its
 * connections (a local listener, a stream, a proxy). Front ends resolve their own options into
 * this; nothing here knows how connections arrive.
 */
import type { TargetSpec } from '../aws/target-resolver.js';

export interface ReconnectOptions {
  /** First delay before retrying a failed session start or resume. */
  initialDelayMs: number;
  /** Upper bound of a single delay. */
  maxDelayMs: number;
  /** Growth factor between attempts. */
  factor: number;
  /** Attempts before giving up; `Infinity` retries forever (the daemon's choice). */
  maxRetries: number;
}

export const DEFAULT_RECONNECT: ReconnectOptions = {
  initialDelayMs: 200,
  maxDelayMs: 30_000,
  factor: 2,
  maxRetries: Infinity,
};

/** Checked, defaulted options of one session (front ends validate what their callers give). */
export interface SessionOptions {
  /** Resolved anew before every new session, so a replaced node is found. */
  target: TargetSpec;
  /** Destination as seen from the target; undefined: the target itself. */
  remoteHost: string | undefined;
  remotePort: number;
  /**
   * The SSM document to start instead of the port-forwarding one chosen from remoteHost (e.g.
   * `AWS-StartSSHSession`). With a document given, only `documentParameters` are sent.
   */
  document?: string;
  /**
   * Document parameters: with `document`, all of them (e.g. `{ portNumber: ['22'] }`); without,
   * added to the port-forwarding document's own (`portNumber`, `localPortNumber`, `host`).
   */
  documentParameters?: Record<string, string[]>;
  /** Sent as the document's `localPortNumber` (the agent echoes it back); 0 when there is no local port. */
  localPort: number;
  /** How a failed start and a dropped WebSocket are retried. */
  reconnect: ReconnectOptions;
  /** Keep the session from reaching the service's idle timeout by sending a little traffic (mux mode). */
  keepAlive: boolean;
  keepAliveIntervalMs: number;
  /** How long a caller waits for a session before giving up (ready(), a waiting connection). */
  connectTimeoutMs: number;
}
