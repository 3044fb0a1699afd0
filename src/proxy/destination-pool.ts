import { ErrorCode, SsmTunnelError } from '../errors.js';

/*
 * The proxy's sessions, one per destination (`host:port`), shared by every connection to it. The
 * pool only counts who uses what: how a member starts, waits and ends is the injected `start`'s
 * business, so the pool is tested without sessions.
 */

/** What the pool needs from one destination's session. */
export interface PoolMember {
  /** Resolves once the member can take connections; rejects when it cannot come up. */
  ready(): Promise<void>;
  /** Ends the member for good (TerminateSession); idempotent. */
  close(): Promise<void>;
}

export interface DestinationPoolOptions<M extends PoolMember> {
  /** Creates the member of a destination; called once per destination until that member is ended. */
  start: (destination: string) => M;
  /** Members at most; beyond it the least recently used idle one is ended, or the request refused. */
  maxSessions: number;
  /** A member without connections for this long is ended. */
  idleTimeoutMs: number;
  /** Told when a member is ended by the pool (idle, evicted, failed to start). */
  onEnded?: (destination: string, reason: 'idle' | 'evicted' | 'failed') => void;
}

/** One connection's use of a member; release() when the connection is over (idempotent). */
export interface Lease<M> {
  readonly member: M;
  release(): void;
}

export interface PoolEntryStats<M> {
  destination: string;
  member: M;
  /** Connections open on it plus requests waiting for it. */
  leases: number;
  lastUsedAt: number;
}

interface Entry<M> {
  destination: string;
  member: M;
  leases: number;
  lastUsedAt: number;
  idleTimer: NodeJS.Timeout | undefined;
}

export class DestinationPool<M extends PoolMember> {
  private readonly entries = new Map<string, Entry<M>>();
  /** Members being ended by the pool; close() waits for them too, so none is left open. */
  private readonly ending = new Set<Promise<void>>();
  private closed = false;

  constructor(private readonly options: DestinationPoolOptions<M>) {}

  get size(): number {
    return this.entries.size;
  }

  get stats(): PoolEntryStats<M>[] {
    return [...this.entries.values()].map(({ destination, member, leases, lastUsedAt }) => ({ destination, member, leases, lastUsedAt }));
  }

  /**
   * The member of `destination`, started if there is none (once, however many requests arrive
   * together), once it is ready. Rejects with `ERR_TOO_MANY_SESSIONS` when the pool is full of busy
   * members, with `ERR_TUNNEL_CLOSED` after close(), or with what the member's ready() rejected.
   */
  async acquire(destination: string): Promise<Lease<M>> {
    if (this.closed) throw new SsmTunnelError(ErrorCode.TUNNEL_CLOSED, 'the proxy is closed');
    const entry = this.entries.get(destination) ?? this.create(destination);
    entry.leases += 1;
    entry.lastUsedAt = Date.now();
    clearTimeout(entry.idleTimer);
    entry.idleTimer = undefined;
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      this.release(entry);
    };
    try {
      await entry.member.ready();
    } catch (error) {
      entry.leases -= 1;
      // Nobody else waits on a member that did not come up: end it, so the next request starts afresh.
      if (entry.leases === 0) this.end(entry, 'failed');
      throw error;
    }
    if (this.closed) {
      release();
      throw new SsmTunnelError(ErrorCode.TUNNEL_CLOSED, 'the proxy is closed');
    }
    return { member: entry.member, release };
  }

  /** Ends every member and refuses further requests. */
  async close(): Promise<void> {
    this.closed = true;
    const members = [...this.entries.values()];
    this.entries.clear();
    await Promise.all([
      ...members.map((entry) => {
        clearTimeout(entry.idleTimer);
        return entry.member.close();
      }),
      ...this.ending,
    ]);
  }

  private create(destination: string): Entry<M> {
    if (this.entries.size >= this.options.maxSessions) {
      const idle = [...this.entries.values()]
        .filter((entry) => entry.leases === 0)
        .reduce<Entry<M> | undefined>((oldest, entry) => (oldest === undefined || entry.lastUsedAt < oldest.lastUsedAt ? entry : oldest), undefined);
      if (idle === undefined) {
        throw new SsmTunnelError(
          ErrorCode.TOO_MANY_SESSIONS,
          `${this.options.maxSessions} destinations already have sessions with open connections (maxSessions); none is idle to make room for ${destination}`,
        );
      }
      this.end(idle, 'evicted');
    }
    const entry: Entry<M> = { destination, member: this.options.start(destination), leases: 0, lastUsedAt: Date.now(), idleTimer: undefined };
    this.entries.set(destination, entry);
    return entry;
  }

  private release(entry: Entry<M>): void {
    entry.leases -= 1;
    entry.lastUsedAt = Date.now();
    if (entry.leases > 0 || this.entries.get(entry.destination) !== entry) return;
    entry.idleTimer = setTimeout(() => this.end(entry, 'idle'), this.options.idleTimeoutMs);
    entry.idleTimer.unref();
  }

  private end(entry: Entry<M>, reason: 'idle' | 'evicted' | 'failed'): void {
    clearTimeout(entry.idleTimer);
    if (this.entries.get(entry.destination) !== entry) return;
    this.entries.delete(entry.destination);
    this.options.onEnded?.(entry.destination, reason);
    const ending = entry.member.close().finally(() => this.ending.delete(ending));
    this.ending.add(ending);
  }
}
