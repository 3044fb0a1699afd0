/*
 * The stages a session start passes through, each held open by an emulator setting, so a test can
 * stop a client (library, `open`, daemon) in the middle of one and check from the emulator's record
 * that nothing was left open.
 */
import type { Emulator } from '../../src/emulator/index.js';

export interface StartStage {
  name: string;
  /** Before the client starts: makes a start stay in this stage. */
  arrange(emulator: Emulator): void;
  /** After the session is up (only stages that happen later than the first start). */
  provoke?(emulator: Emulator, sessionId: string): void;
  /** True once a start has got this far, read from the emulator's record. */
  reached(emulator: Emulator): boolean;
}

/**
 * Shorter than the time a cancelled start waits for StartSession's answer (a few seconds), so the
 * session it created is known and terminated; long enough that the stop lands while it is in flight.
 */
const START_SESSION_ANSWER_DELAY_MS = 1500;
/** Long enough that a stage never ends on its own during a test. */
const HOLD_MS = 60_000;

export const START_STAGES: readonly StartStage[] = [
  {
    name: 'StartSession in flight',
    arrange: (emulator) => emulator.delayStartSessionAnswers(START_SESSION_ANSWER_DELAY_MS),
    // The service has created the session; its answer is still on its way.
    reached: (emulator) => emulator.record.sessions.length > 0,
  },
  {
    name: 'WebSocket opening',
    arrange: (emulator) => emulator.delayDataChannelUpgrades(HOLD_MS),
    reached: (emulator) => emulator.record.apiCalls.some((call) => call.operation === 'StartSession' && call.error === undefined),
  },
  {
    name: 'waiting for the handshake request',
    arrange: (emulator) => emulator.setKnobs({ handshakeDelayMs: HOLD_MS }),
    reached: (emulator) => emulator.record.sessions.some((session) => session.webSockets.length > 0),
  },
  {
    name: 'handshake in progress',
    // Every client message is lost: the agent's HandshakeRequest arrives, the response never does.
    arrange: (emulator) => emulator.setFaults({ drop: { fromClient: 1 } }),
    reached: (emulator) => emulator.record.sessions.some((session) => session.webSockets.some((ws) => ws.framesToClient > 0)),
  },
  {
    name: 'resuming',
    arrange: () => {},
    provoke: (emulator, sessionId) => {
      emulator.rejectNextResumeSessions(Number.MAX_SAFE_INTEGER);
      emulator.session(sessionId).dropConnection();
    },
    reached: (emulator) => emulator.record.apiCalls.some((call) => call.operation === 'ResumeSession'),
  },
];

/** Sessions (of `target`, or all) the emulator still has open or ended some other way than by TerminateSession. */
export function sessionsNotTerminated(emulator: Emulator, target?: string): { sessionId: string; state: string }[] {
  return emulator.record.sessions
    .filter((session) => target === undefined || session.target === target)
    .filter((session) => session.state !== 'terminated')
    .map(({ sessionId, state }) => ({ sessionId, state }));
}

/** The first session whose handshake completed, once there is one. */
export function handshakenSession(emulator: Emulator): string | undefined {
  return emulator.record.sessions.find((session) => session.handshakeCompletedAt !== undefined)?.sessionId;
}
