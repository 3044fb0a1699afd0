/*
 * One configured tunnel as the daemon runs it: its own SSM client, its Tunnel, and retries of a
 * local address that cannot be bound yet (busy port), so that one tunnel's trouble stays its own.
 */
import pRetry from 'p-retry';
import { createSsmSessionApi, type SsmSessionApi } from '../aws/ssm-session-api.js';
import { formatTarget } from '../aws/target-resolver.js';
import type { Logger } from '../logging.js';
import { Tunnel } from '../tunnel/tunnel.js';
import type { TunnelDefinition } from './config.js';
import type { DaemonTunnelState, TunnelStatus } from './tunnel-status.js';

export class ManagedTunnel {
  readonly definition: TunnelDefinition;
  private readonly log: Logger;
  private readonly api: SsmSessionApi;
  private readonly abort = new AbortController();
  private tunnel: Tunnel | undefined;
  private starting: Promise<void> | undefined;
  /** The listen attempts until one succeeds, fails for good, or stop() aborts them; never rejects. */
  private attempts: Promise<void> | undefined;
  private state: DaemonTunnelState = 'starting';
  private since = new Date();
  private listenError: string | undefined;

  constructor(definition: TunnelDefinition, logger: Logger) {
    this.definition = definition;
    this.log = logger.child({ tunnel: definition.name });
    const { region, profile, endpoint, credentials, proxy, caBundle } = definition;
    // A copy: the SDK marks the credentials object it is given ($source), which would make the
    // definition differ from an identical one on reload.
    this.api = createSsmSessionApi({ region, profile, endpoint, credentials: credentials && { ...credentials }, proxy, caBundle, logger: this.log });
  }

  get name(): string {
    return this.definition.name;
  }

  /**
   * Opens the listener and lets the tunnel establish its session in the background. Resolves after
   * the first attempt to listen, whatever its outcome: a busy address is retried with the tunnel's
   * reconnect backoff until it can be bound or stop() is called.
   */
  start(): Promise<void> {
    if (this.starting) return this.starting;
    const { reconnect } = this.definition;
    let firstAttempt: () => void = () => {};
    const attempted = new Promise<void>((resolve) => (firstAttempt = resolve));
    this.starting = attempted;
    this.attempts = pRetry(() => this.listen(), {
      retries: Infinity,
      factor: reconnect.factor,
      minTimeout: reconnect.initialDelayMs,
      maxTimeout: reconnect.maxDelayMs,
      randomize: true,
      signal: this.abort.signal,
      onFailedAttempt: ({ error, attemptNumber }) => {
        if (error instanceof TypeError) return; // not retried: reported below
        this.listenError = error.message;
        this.setState('unbound');
        this.log.error({ err: error.message, attemptNumber }, 'cannot open the local listener; retrying');
        firstAttempt();
      },
    }).then(
      () => firstAttempt(),
      (error: Error) => {
        // Aborted by stop(), or an error retrying cannot fix (p-retry does not retry a TypeError).
        if (!this.abort.signal.aborted) {
          this.listenError = error.message;
          this.setState('unbound');
          this.log.error({ err: error.message }, 'cannot start the tunnel; not retrying');
        }
        firstAttempt();
      },
    );
    return attempted;
  }

  /** Stops listening, gives open connections `graceMs`, ends the session (TerminateSession). */
  async stop(graceMs: number): Promise<void> {
    this.abort.abort();
    // close() stops listening before its first await, so a successor can bind the address at once.
    const closing = this.tunnel?.close({ graceMs });
    // An attempt in flight closes the tunnel it opens itself (listen() sees the abort).
    await this.attempts;
    await closing;
    this.api.destroy();
  }

  status(): TunnelStatus {
    const { definition, tunnel } = this;
    const stats = tunnel?.stats;
    const address = tunnel?.localAddresses[0];
    return {
      name: definition.name,
      state: this.state,
      since: this.since.toISOString(),
      local: address ? { host: address.address, port: address.port } : { host: definition.localHost ?? 'unix', port: definition.localPort ?? 0 },
      localSocket: definition.localSocket?.path ?? null,
      target: formatTarget(definition.target),
      targetId: stats?.targetId ?? null,
      remote: { host: definition.remoteHost ?? null, port: definition.remotePort },
      sessionId: stats?.sessionId ?? null,
      agentVersion: stats?.agentVersion ?? null,
      mode: stats?.mode ?? null,
      openConnections: stats?.openConnections ?? 0,
      waitingConnections: stats?.waitingConnections ?? 0,
      totalConnections: stats?.totalConnections ?? 0,
      failedConnections: stats?.failedConnections ?? 0,
      bytesUp: stats?.bytesUp ?? 0,
      bytesDown: stats?.bytesDown ?? 0,
      reconnects: stats?.reconnects ?? 0,
      resumes: stats?.resumes ?? 0,
      lastError: stats?.lastError ?? this.listenError ?? null,
      sessions: (stats?.sessions ?? []).map((session) => ({
        state: session.state,
        sessionId: session.sessionId ?? null,
        targetId: session.targetId ?? null,
        openConnections: session.openConnections,
      })),
    };
  }

  private async listen(): Promise<void> {
    const { name: _name, exposed: _exposed, ...options } = this.definition;
    const tunnel = await Tunnel.start({ ...options, sessionApi: this.api, logger: this.log });
    if (this.abort.signal.aborted) {
      await tunnel.close();
      return;
    }
    this.tunnel = tunnel;
    this.listenError = undefined;
    tunnel.on('state', (state) => this.setState(state));
    this.setState(tunnel.state);
  }

  private setState(state: DaemonTunnelState): void {
    if (state === this.state) return;
    this.state = state;
    this.since = new Date();
  }
}
