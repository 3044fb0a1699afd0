import type { Logger } from 'pino';
import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';
import type { OpenDataChannel } from '../protocol/index.js';
import { layerKnobs, validateKnobs, type AgentKnobs } from './agent-knobs.js';
import { AgentSession } from './agent-session.js';
import type { DataChannelHandler } from './data-channel-gate.js';
import { layerFaults, validateFaults, type FaultSettings } from './faults.js';
import { newAgentSessionLog, type AgentSessionLog } from './record.js';
import type { EmulatedSession, EndedState } from './session-registry.js';

export interface AgentHandlerOptions {
  /** Emulator-wide knobs, read live. */
  knobs: () => Readonly<AgentKnobs>;
  /** Emulator-wide faults, read live. */
  faults: () => FaultSettings;
  /** Per-target overrides from the emulator's configuration. */
  targetKnobs: (targetId: string) => Partial<AgentKnobs> | undefined;
  targetFaults: (targetId: string) => FaultSettings | undefined;
  /** Ends a session at the service (which then calls terminate()). */
  endAtService: (sessionId: string, state: EndedState, reason: string) => void;
  logger: Logger;
}

/**
 * The emulated agents, one per session, behind the service's data-channel gate. Holds the
 * per-session knob and fault overrides (which may be set before the session's first socket).
 */
export class AgentHandler implements DataChannelHandler {
  private readonly options: AgentHandlerOptions;
  private readonly agents = new Map<string, AgentSession>();
  private readonly logs = new Map<string, AgentSessionLog>();
  private readonly sessionKnobs = new Map<string, Partial<AgentKnobs>>();
  private readonly sessionFaults = new Map<string, FaultSettings>();
  /** Layered settings per session, read for every message; dropped whenever a layer changes. */
  private readonly knobCache = new Map<string, AgentKnobs>();
  private readonly faultCache = new Map<string, FaultSettings>();

  constructor(options: AgentHandlerOptions) {
    this.options = options;
  }

  attach(session: EmulatedSession, ws: WebSocket, open: OpenDataChannel, socket: Socket | undefined): void {
    let agent = this.agents.get(session.id);
    if (agent === undefined) {
      agent = new AgentSession({
        session,
        knobs: () => this.knobsOf(session),
        faults: () => this.faultsOf(session),
        log: this.logOf(session.id),
        logger: this.options.logger,
        endAtService: (state, reason) => this.options.endAtService(session.id, state, reason),
      });
      this.agents.set(session.id, agent);
    }
    agent.attach(ws, open, socket);
  }

  terminate(session: EmulatedSession, reason: string): void {
    const agent = this.agents.get(session.id);
    if (agent !== undefined) agent.terminate(reason);
    else this.logOf(session.id).endReason ??= reason;
  }

  agent(sessionId: string): AgentSession | undefined {
    return this.agents.get(sessionId);
  }

  logOf(sessionId: string): AgentSessionLog {
    let log = this.logs.get(sessionId);
    if (log === undefined) {
      log = newAgentSessionLog();
      this.logs.set(sessionId, log);
    }
    return log;
  }

  /** Merges into the session's knob overrides (checked with the layers below them) and re-arms its timers. */
  setSessionKnobs(sessionId: string, targetId: string, knobs: Partial<AgentKnobs>): void {
    validateKnobs(knobs, `knobs of session ${sessionId}`);
    const merged = { ...this.sessionKnobs.get(sessionId), ...knobs };
    validateKnobs(layerKnobs(this.options.knobs(), this.options.targetKnobs(targetId), merged), `knobs of session ${sessionId}`);
    this.sessionKnobs.set(sessionId, merged);
    this.knobCache.delete(sessionId);
    this.agents.get(sessionId)?.armLimits();
  }

  /** Replaces the session's fault overrides. */
  setSessionFaults(sessionId: string, faults: FaultSettings): void {
    validateFaults(faults, `faults of session ${sessionId}`);
    this.sessionFaults.set(sessionId, { ...faults });
    this.faultCache.delete(sessionId);
  }

  /** Emulator-wide knobs changed: running sessions re-arm their idle and duration timers. */
  knobsChanged(): void {
    this.knobCache.clear();
    for (const agent of this.agents.values()) agent.armLimits();
  }

  /** Emulator-wide faults changed. */
  faultsChanged(): void {
    this.faultCache.clear();
  }

  private knobsOf(session: EmulatedSession): AgentKnobs {
    let knobs = this.knobCache.get(session.id);
    if (knobs === undefined) {
      knobs = layerKnobs(this.options.knobs(), this.options.targetKnobs(session.target), this.sessionKnobs.get(session.id));
      this.knobCache.set(session.id, knobs);
    }
    return knobs;
  }

  private faultsOf(session: EmulatedSession): FaultSettings {
    let faults = this.faultCache.get(session.id);
    if (faults === undefined) {
      faults = layerFaults(this.options.faults(), this.options.targetFaults(session.target), this.sessionFaults.get(session.id));
      this.faultCache.set(session.id, faults);
    }
    return faults;
  }
}
