import { pino, type Logger } from 'pino';
import { AgentHandler } from './agent-handler.js';
import { DEFAULT_AGENT_KNOBS, layerKnobs, validateKnobs, type AgentKnobs } from './agent-knobs.js';
import type { ApiError } from './api-errors.js';
import { validateFaults, type FaultSettings, type MalformedFrameKind } from './faults.js';
import type { AgentSessionLog, EmulatorRecordSnapshot, SessionRecord } from './record.js';
import { EmulatorService } from './service-api.js';
import type { EndedState } from './session-registry.js';
import { EMULATOR_CREDENTIALS, type EmulatorCredentials } from './sigv4-verifier.js';
import type { EmulatedEcsTask, EmulatedEcsTaskConfig } from './ecs-tasks.js';
import type { EmulatedTargetConfig } from './targets.js';
import { createTlsIdentity, type EmulatorTlsIdentity } from './tls-certificate.js';

/** A managed node of the emulator: the service's view plus overrides for its sessions' agents. */
export interface EmulatorTargetConfig extends EmulatedTargetConfig {
  /** Knobs for sessions on this target (over the emulator-wide ones). */
  agent?: Partial<AgentKnobs>;
  /** Faults for sessions on this target (over the emulator-wide ones). */
  faults?: FaultSettings;
}

export interface EmulatorOptions {
  /** Default 0: the OS picks; read `emulator.port`. */
  port?: number;
  /** Default `127.0.0.1`. */
  host?: string;
  /** Default `us-east-1`. */
  region?: string;
  /** The key pair clients must sign with; default the built-in emulator pair. */
  credentials?: EmulatorCredentials;
  /** Managed nodes by id. */
  targets?: Record<string, EmulatorTargetConfig>;
  /** Default `3.3.1142.0` (mux); `3.0.0.0` makes clients use basic mode. */
  agentVersion?: string;
  /** Agent pacing, 1 KiB + 1 ms per message; default on. */
  pacing?: boolean;
  /** Default 20 minutes. */
  idleTimeoutMs?: number;
  /** Default 0: no limit. */
  maxSessionDurationMs?: number;
  /** Default: the list in docs/forwarding.md §7.3. */
  denyList?: string[];
  /** Default 15 s. */
  handshakeTimeoutMs?: number;
  /** Emulator-wide faults. */
  faults?: FaultSettings;
  /**
   * Serve https and wss, as AWS does, with a certificate for 127.0.0.1/localhost made at start and
   * signed by a throwaway CA: clients trust it through `emulator.caFile`. Default plain http and ws.
   */
  tls?: boolean;
  /** ECS tasks running at start, one per entry (ECS Exec on unless the entry says otherwise). */
  ecsTasks?: EmulatedEcsTaskConfig[];
  /** Actions answered with AccessDeniedException (`ecs:DescribeTasks`, `ssm:StartSession`, …). */
  deniedActions?: string[];
  logger?: Logger;
}

/** The emulator's ECS tasks: sessions reach them as `ecs:<cluster>_<task id>_<runtime id>`. */
export interface EcsControls {
  /** Starts a task; its containers take sessions at once. */
  run(config: EmulatedEcsTaskConfig): EmulatedEcsTask;
  /** Stops a task; its sessions end. False if unknown or already stopped. */
  stop(taskId: string): boolean;
  /** A deployment: each running task of the service is replaced by a new one; returns the new ones. */
  replace(cluster: string, service: string): EmulatedEcsTask[];
  /** Every task started so far (stopped ones too), optionally of one cluster and service. */
  list(cluster?: string, service?: string): EmulatedEcsTask[];
}

/** Controls of one session's agent. */
export interface SessionControls {
  readonly sessionId: string;
  /** Ends the session as the service would; ResumeSession then returns no token. False if it had already ended. */
  end(state: Exclude<EndedState, 'failed'>, reason?: string): boolean;
  /** Merged into this session's knob overrides (agentVersion counts only before its handshake). */
  setKnobs(knobs: Partial<AgentKnobs>): void;
  /** Replaces this session's fault overrides. */
  setFaults(faults: FaultSettings): void;
  /** Sends pause_publication now; the agent's output waits until startPublication(). */
  pausePublication(): void;
  startPublication(): void;
  sendMalformedFrame(kind?: MalformedFrameKind): void;
  /** Cuts the current WebSocket without a close frame; the client is expected to resume. */
  dropConnection(): void;
  /** A copy of this session's record. */
  readonly record: SessionRecord;
}

const END_REASONS: Record<Exclude<EndedState, 'failed'>, string> = {
  terminated: 'Session terminated by the emulator.',
  'timed-out': 'Your session timed out due to inactivity and has been terminated.',
};

/** Emulator-wide settings, shared by the emulator's controls and its agents. */
interface EmulatorSettings {
  knobs: AgentKnobs;
  faults: FaultSettings;
}

/** A running emulator: SSM API + data-channel agent on one loopback port. */
export class Emulator {
  readonly endpoint: string;
  readonly port: number;
  readonly region: string;
  readonly credentials: Readonly<EmulatorCredentials>;
  /** With `tls: true`: a PEM file of the CA that signed the emulator's certificate (for AWS_CA_BUNDLE); removed on close(). */
  readonly caFile: string | undefined;
  /** With `tls: true`: that CA certificate (PEM). */
  readonly caCertificate: string | undefined;
  private readonly tlsIdentity: EmulatorTlsIdentity | undefined;
  private readonly service: EmulatorService;
  private readonly agents: AgentHandler;
  private readonly settings: EmulatorSettings;
  private readonly logger: Logger;
  private closing: Promise<void> | undefined;

  /** Use startEmulator(). */
  constructor(parts: {
    service: EmulatorService;
    agents: AgentHandler;
    settings: EmulatorSettings;
    endpoint: string;
    port: number;
    region: string;
    credentials: EmulatorCredentials;
    logger: Logger;
    tls?: EmulatorTlsIdentity;
  }) {
    this.service = parts.service;
    this.agents = parts.agents;
    this.settings = parts.settings;
    this.endpoint = parts.endpoint;
    this.port = parts.port;
    this.region = parts.region;
    this.credentials = { ...parts.credentials };
    this.logger = parts.logger;
    this.tlsIdentity = parts.tls;
    this.caFile = parts.tls?.caFile;
    this.caCertificate = parts.tls?.caCertificate;
  }

  /** The current emulator-wide knobs. */
  get agentKnobs(): Readonly<AgentKnobs> {
    return this.settings.knobs;
  }

  /** Changes emulator-wide knobs; running sessions pick up pacing and limits at once. */
  setKnobs(knobs: Partial<AgentKnobs>): void {
    validateKnobs(knobs, 'emulator knobs');
    this.settings.knobs = layerKnobs(this.settings.knobs, knobs);
    this.agents.knobsChanged();
  }

  /** The current emulator-wide faults. */
  get faults(): Readonly<FaultSettings> {
    return this.settings.faults;
  }

  /** Replaces the emulator-wide faults (target and session faults still override them). */
  setFaults(faults: FaultSettings): void {
    validateFaults(faults, 'emulator faults');
    this.settings.faults = { ...faults };
    this.agents.faultsChanged();
  }

  /** The emulator's ECS tasks. */
  get ecs(): EcsControls {
    const tasks = this.service.ecsTasks;
    return {
      run: (config) => tasks.run(config),
      stop: (taskId) => tasks.stop(taskId),
      replace: (cluster, service) => tasks.replace(cluster, service),
      list: (cluster, service) => tasks.list(cluster, service),
    };
  }

  /** Replaces the actions answered with AccessDeniedException (`ecs:DescribeTasks`, …). */
  setDeniedActions(actions: readonly string[]): void {
    this.service.deniedActions = new Set(actions);
  }

  /** The next `count` ResumeSession calls fail (default a 500 InternalServerError). */
  rejectNextResumeSessions(count: number, error?: ApiError): void {
    this.service.rejectNextResumeSessions(count, error);
  }

  /** Controls of a session started through this emulator; throws for an unknown id. */
  session(sessionId: string): SessionControls {
    if (this.service.sessions.get(sessionId) === undefined) throw new Error(`The emulator has no session ${sessionId}`);
    const agents = this.agents;
    const recordOf = (): SessionRecord => this.sessionRecord(sessionId)!;
    return {
      sessionId,
      end: (state, reason) => this.endSession(sessionId, state, reason ?? END_REASONS[state]),
      setKnobs: (knobs) => agents.setSessionKnobs(sessionId, knobs),
      setFaults: (faults) => agents.setSessionFaults(sessionId, faults),
      pausePublication: () => agents.agent(sessionId)?.setPublication(true),
      startPublication: () => agents.agent(sessionId)?.setPublication(false),
      sendMalformedFrame: (kind = 'bad-digest') => agents.agent(sessionId)?.sendMalformedFrame(kind),
      dropConnection: () => agents.agent(sessionId)?.dropConnection(),
      get record(): SessionRecord {
        return recordOf();
      },
    };
  }

  /** A deep copy of everything recorded so far. */
  get record(): EmulatorRecordSnapshot {
    return structuredClone({
      sessions: this.service.sessions.list().map((session) => this.buildSessionRecord(session.id)!),
      apiCalls: this.service.record.calls,
      channelRefusals: this.service.record.channelRefusals,
    });
  }

  sessionRecord(sessionId: string): SessionRecord | undefined {
    const record = this.buildSessionRecord(sessionId);
    return record === undefined ? undefined : structuredClone(record);
  }

  /** Ends every session (channel_closed to connected clients) and stops listening. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    for (const session of this.service.sessions.list()) this.agents.agent(session.id)?.setClosingOutput('The emulator is shutting down.');
    await this.service.close();
    await this.tlsIdentity?.remove();
    this.logger.info('emulator stopped');
  }

  private endSession(sessionId: string, state: EndedState, reason: string): boolean {
    this.agents.agent(sessionId)?.setClosingOutput(reason);
    return this.service.endSession(sessionId, state, reason);
  }

  private buildSessionRecord(sessionId: string): SessionRecord | undefined {
    const session = this.service.sessions.get(sessionId);
    if (session === undefined) return undefined;
    const log: AgentSessionLog = this.agents.logOf(sessionId);
    const endReason = log.endReason ?? session.endedReason;
    return {
      sessionId: session.id,
      target: session.target,
      documentName: session.documentName,
      parameters: Object.fromEntries(Object.entries(session.parameters).map(([key, values]) => [key, [...values]])),
      properties: { ...session.properties },
      state: session.state,
      startedAt: session.startedAt,
      ...(session.endedAt === undefined ? {} : { endedAt: session.endedAt }),
      ...log,
      ...(endReason === undefined ? {} : { endReason }),
    };
  }
}

/** Starts the emulated SSM service and agent on a loopback port. */
export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const logger = options.logger ?? pino({ enabled: false });
  const overrides: Partial<AgentKnobs> = {
    agentVersion: options.agentVersion,
    pacing: options.pacing,
    idleTimeoutMs: options.idleTimeoutMs,
    maxSessionDurationMs: options.maxSessionDurationMs,
    denyList: options.denyList,
    handshakeTimeoutMs: options.handshakeTimeoutMs,
  };
  validateKnobs(overrides, 'emulator options');
  validateFaults(options.faults ?? {}, 'emulator options: faults');
  const targetConfigs = options.targets ?? {};
  const serviceTargets: Record<string, EmulatedTargetConfig> = {};
  for (const [id, { agent, faults, ...target }] of Object.entries(targetConfigs)) {
    if (agent !== undefined) validateKnobs(agent, `emulator options: target ${id}: agent`);
    if (faults !== undefined) validateFaults(faults, `emulator options: target ${id}: faults`);
    serviceTargets[id] = target;
  }
  const settings: EmulatorSettings = { knobs: layerKnobs(DEFAULT_AGENT_KNOBS, overrides), faults: { ...options.faults } };
  const credentials = options.credentials ?? EMULATOR_CREDENTIALS;
  const region = options.region ?? 'us-east-1';
  const tls = options.tls === true ? await createTlsIdentity() : undefined;
  const service = new EmulatorService({
    ...(tls === undefined ? {} : { tls: { key: tls.key, cert: tls.cert } }),
    ...(options.host === undefined ? {} : { host: options.host }),
    ...(options.port === undefined ? {} : { port: options.port }),
    region,
    credentials: [credentials],
    targets: serviceTargets,
    ...(options.deniedActions === undefined ? {} : { deniedActions: options.deniedActions }),
    logger,
  });
  for (const task of options.ecsTasks ?? []) service.ecsTasks.run(task);
  const agents = new AgentHandler({
    knobs: () => settings.knobs,
    faults: () => settings.faults,
    targetKnobs: (id) => targetConfigs[id]?.agent,
    targetFaults: (id) => targetConfigs[id]?.faults,
    endAtService: (sessionId, state, reason) => service.endSession(sessionId, state, reason),
    logger,
  });
  service.setDataChannelHandler(agents);
  let listening: { endpoint: string; port: number };
  try {
    listening = await service.listen();
  } catch (error) {
    await tls?.remove();
    throw error;
  }
  const { endpoint, port } = listening;
  return new Emulator({ service, agents, settings, endpoint, port, region, credentials, logger, ...(tls === undefined ? {} : { tls }) });
}
