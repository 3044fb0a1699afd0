import { describe, expect, it } from 'vitest';
import { ErrorCode, SsmTunnelError } from '../../src/errors.js';
import { DestinationPool, type PoolMember } from '../../src/proxy/destination-pool.js';
import { waitFor } from '../helpers/wait.js';

/** A member whose start the test completes or fails by hand. */
class FakeMember implements PoolMember {
  closed = false;
  private settle: { resolve: () => void; reject: (error: Error) => void } | undefined;
  private readonly started: Promise<void>;
  constructor(readonly destination: string) {
    this.started = new Promise((resolve, reject) => {
      this.settle = { resolve, reject };
    });
    this.started.catch(() => {});
  }
  up(): void {
    this.settle!.resolve();
  }
  fail(error: Error): void {
    this.settle!.reject(error);
  }
  ready(): Promise<void> {
    return this.started;
  }
  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }
}

function pool(options: { maxSessions?: number; idleTimeoutMs?: number } = {}) {
  const members: FakeMember[] = [];
  const ended: string[] = [];
  const destinations = new DestinationPool<FakeMember>({
    maxSessions: options.maxSessions ?? 16,
    idleTimeoutMs: options.idleTimeoutMs ?? 60_000,
    start: (destination) => {
      const member = new FakeMember(destination);
      members.push(member);
      return member;
    },
    onEnded: (destination, reason) => ended.push(`${destination} ${reason}`),
  });
  return { destinations, members, ended };
}

describe('the destination pool', () => {
  it('starts one member for 20 requests that arrive together, and gives it to all of them', async () => {
    const { destinations, members } = pool();
    const leases = Array.from({ length: 20 }, () => destinations.acquire('db:5432'));
    expect(members).toHaveLength(1);
    members[0]!.up();
    const granted = await Promise.all(leases);
    expect(new Set(granted.map((lease) => lease.member)).size).toBe(1);
    expect(destinations.stats[0]!.leases).toBe(20);
  });

  it('ends a member once it has been unused for idleTimeout, and starts afresh after', async () => {
    const { destinations, members, ended } = pool({ idleTimeoutMs: 20 });
    const lease = destinations.acquire('db:5432');
    members[0]!.up();
    (await lease).release();
    await waitFor(() => members[0]!.closed, 'the idle member to be closed');
    expect(ended).toEqual(['db:5432 idle']);
    const again = destinations.acquire('db:5432');
    members[1]!.up();
    expect((await again).member).toBe(members[1]);
  });

  it('keeps a member while any connection uses it; releasing twice counts once', async () => {
    const { destinations, members } = pool({ idleTimeoutMs: 20 });
    const first = destinations.acquire('db:5432');
    members[0]!.up();
    const a = await first;
    const b = await destinations.acquire('db:5432');
    a.release();
    a.release();
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(members[0]!.closed).toBe(false);
    b.release();
    await waitFor(() => members[0]!.closed, 'the member to be closed once idle');
  });

  it('at maxSessions ends the least recently used idle member for a new destination', async () => {
    const { destinations, members, ended } = pool({ maxSessions: 2 });
    const a = destinations.acquire('a:1');
    members[0]!.up();
    const b = destinations.acquire('b:1');
    members[1]!.up();
    const leaseB = await b;
    (await a).release();
    const c = destinations.acquire('c:1');
    members[2]!.up();
    await c;
    expect(ended).toEqual(['a:1 evicted']);
    expect(members[0]!.closed).toBe(true);
    expect(destinations.stats.map((s) => s.destination)).toEqual(['b:1', 'c:1']);
    leaseB.release();
  });

  it('refuses a new destination with ERR_TOO_MANY_SESSIONS when every member is in use', async () => {
    const { destinations, members } = pool({ maxSessions: 1 });
    const a = destinations.acquire('a:1');
    members[0]!.up();
    await a;
    await expect(destinations.acquire('b:1')).rejects.toMatchObject({ code: ErrorCode.TOO_MANY_SESSIONS });
    expect(members).toHaveLength(1);
  });

  it('ends a member that failed to come up, so the next request starts a new one', async () => {
    const { destinations, members, ended } = pool();
    const waiting = destinations.acquire('db:5432');
    members[0]!.fail(new SsmTunnelError(ErrorCode.CONNECT_TIMEOUT, 'no session'));
    await expect(waiting).rejects.toMatchObject({ code: ErrorCode.CONNECT_TIMEOUT });
    expect(ended).toEqual(['db:5432 failed']);
    void destinations.acquire('db:5432');
    expect(members).toHaveLength(2);
  });

  it('closes every member at close and refuses requests after it', async () => {
    const { destinations, members } = pool();
    const a = destinations.acquire('a:1');
    members[0]!.up();
    await a;
    await destinations.close();
    expect(members[0]!.closed).toBe(true);
    await expect(destinations.acquire('a:1')).rejects.toMatchObject({ code: ErrorCode.TUNNEL_CLOSED });
  });
});
