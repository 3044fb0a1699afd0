import { randomBytes } from 'node:crypto';
import type { Destination } from './targets.js';

/*
 * The emulated service's sessions and their one-use data-channel tokens. Tokens live only here,
 * never on the session objects, so that logging or asserting on a session cannot leak one.
 */

export type EndedState = 'terminated' | 'timed-out' | 'failed';
export type SessionState = 'pending' | 'connected' | 'disconnected' | EndedState;

export interface EmulatedSession {
  readonly id: string;
  readonly target: string;
  readonly documentName: string;
  /** As given to StartSession (before defaults). */
  readonly parameters: Readonly<Record<string, readonly string[]>>;
  /** The document's resolved properties, all strings, as the agent sends them in the handshake. */
  readonly properties: Readonly<Record<string, string>>;
  /** Where the agent connects: `host` (or the target's address) and `portNumber`. */
  readonly destination: Readonly<Destination>;
  readonly reason?: string;
  readonly startedAt: Date;
  /** `pending` until the first data channel opens; then `connected`/`disconnected`; finally an `EndedState`. */
  readonly state: SessionState;
  /** Tokens issued by StartSession and ResumeSession. */
  readonly tokensIssued: number;
  /** Data channels opened with a valid token. */
  readonly channelsOpened: number;
  /** Data channels currently open. */
  readonly openChannels: number;
  readonly endedAt?: Date;
  readonly endedReason?: string;
}

type SessionRecord = { -readonly [K in keyof EmulatedSession]: EmulatedSession[K] };

export interface NewSession {
  target: string;
  documentName: string;
  parameters: Record<string, readonly string[]>;
  properties: Record<string, string>;
  destination: Destination;
  reason?: string;
}

/** Outcome of presenting a token on a data channel: the session, or why it was refused. */
export type TokenCheck = { session: EmulatedSession } | { refused: string };

export const isEnded = (session: EmulatedSession): boolean =>
  session.state === 'terminated' || session.state === 'timed-out' || session.state === 'failed';

export class SessionRegistry {
  private readonly sessions = new Map<string, SessionRecord>();
  private readonly unusedTokens = new Map<string, Set<string>>();

  /** Creates a session and its first token. Ids look like the service's `<name>-<17 hex digits>`. */
  create(spec: NewSession): { session: EmulatedSession; token: string } {
    let id: string;
    do id = `emulator-${randomBytes(9).toString('hex').slice(0, 17)}`;
    while (this.sessions.has(id));
    const session: SessionRecord = {
      id,
      ...spec,
      startedAt: new Date(),
      state: 'pending',
      tokensIssued: 0,
      channelsOpened: 0,
      openChannels: 0,
    };
    this.sessions.set(id, session);
    this.unusedTokens.set(id, new Set());
    return { session, token: this.newToken(session) };
  }

  get(id: string): EmulatedSession | undefined {
    return this.sessions.get(id);
  }

  list(): EmulatedSession[] {
    return [...this.sessions.values()];
  }

  /** A fresh one-use token (128 base64 characters, like the service's), or undefined once the session has ended. */
  issueToken(session: EmulatedSession): string | undefined {
    const record = this.record(session);
    return isEnded(record) ? undefined : this.newToken(record);
  }

  /** Uses up `token` if it is an unused token of session `sessionId`. */
  consumeToken(sessionId: string, token: string): TokenCheck {
    const session = this.sessions.get(sessionId);
    if (session === undefined) return { refused: `unknown session ${sessionId}` };
    if (isEnded(session)) return { refused: `session ${sessionId} has ended (${session.state})` };
    if (this.unusedTokens.get(sessionId)?.delete(token) !== true) {
      return { refused: `token is not an unused token of session ${sessionId}` };
    }
    return { session };
  }

  markConnected(session: EmulatedSession): void {
    const record = this.record(session);
    record.channelsOpened += 1;
    record.openChannels += 1;
    if (!isEnded(record)) record.state = 'connected';
  }

  markDisconnected(session: EmulatedSession): void {
    const record = this.record(session);
    record.openChannels = Math.max(0, record.openChannels - 1);
    if (!isEnded(record) && record.openChannels === 0) record.state = 'disconnected';
  }

  /** Ends the session for good: its tokens are void and ResumeSession returns none. False if it had already ended. */
  end(session: EmulatedSession, state: EndedState, reason: string): boolean {
    const record = this.record(session);
    if (isEnded(record)) return false;
    record.state = state;
    record.endedAt = new Date();
    record.endedReason = reason;
    this.unusedTokens.get(record.id)?.clear();
    return true;
  }

  private newToken(record: SessionRecord): string {
    const token = randomBytes(96).toString('base64');
    this.unusedTokens.get(record.id)?.add(token);
    record.tokensIssued += 1;
    return token;
  }

  private record(session: EmulatedSession): SessionRecord {
    const record = this.sessions.get(session.id);
    if (record === undefined) throw new Error(`Session ${session.id} is not in this registry`);
    return record;
  }
}
