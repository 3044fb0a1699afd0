import { lookup } from 'node:dns/promises';
import { BlockList, connect, isIP, type Socket } from 'node:net';
import { formatDestination } from './targets.js';

/*
 * How the agent reaches a session's destination (docs/forwarding.md §7.3): a remote `host` is
 * resolved once per session and checked against the deny list; every dial then tries the resolved
 * addresses in resolver order and reports the first error. Without a `host` the target's own
 * address is dialled. Errors read like the Go agent's, since the client prints them.
 */

export interface DestinationSpec {
  /** Where to connect: the document's host, or the target's address standing in for `localhost`. */
  dialHost: string;
  port: number;
  /** The `host` property of a ToRemoteHost session, as the user wrote it (quoted in the deny error). */
  remoteHost?: string;
}

export interface DestinationDialerOptions {
  denyList: readonly string[];
  /** Read at each dial: destinations (`host:port`) that must fail with ECONNREFUSED (a fault). */
  refusedDestinations: () => readonly string[];
  /** Told when a refusal comes from the fault list rather than the network. */
  onRefusedByFault?: (destination: string) => void;
}

/** The session may not reach this destination; the session fails with this message (docs/forwarding.md §7.3). */
export class DestinationForbiddenError extends Error {
  override readonly name = 'DestinationForbiddenError';
}

export interface DialedSocket {
  socket: Socket;
  /** `address:port` actually connected. */
  destination: string;
}

type DialError = Error & { code?: string };

export class DestinationDialer {
  private constructor(
    private readonly spec: DestinationSpec,
    /** Resolved once for a remote host; undefined when the dial host is used as is. */
    private readonly addresses: readonly string[] | undefined,
    private readonly options: DestinationDialerOptions,
  ) {}

  /** Resolves a remote host once and applies the deny list; throws DestinationForbiddenError. */
  static async prepare(spec: DestinationSpec, options: DestinationDialerOptions): Promise<DestinationDialer> {
    if (spec.remoteHost === undefined || spec.remoteHost === '') return new DestinationDialer(spec, undefined, options);
    let addresses: string[];
    try {
      addresses = (await lookup(spec.dialHost, { all: true, verbatim: true })).map((entry) => entry.address);
    } catch {
      // docs/forwarding.md §7.3: a failed resolution is no error yet; every dial then fails with "missing address".
      addresses = [];
    }
    const denied = new BlockList();
    for (const ip of options.denyList) denied.addAddress(ip, isIP(ip) === 6 ? 'ipv6' : 'ipv4');
    if (addresses.some((ip) => denied.check(ip, isIP(ip) === 6 ? 'ipv6' : 'ipv4'))) {
      throw new DestinationForbiddenError(`Forwarding to IP address ${spec.remoteHost} is forbidden.`);
    }
    return new DestinationDialer(spec, addresses, options);
  }

  /** `host:port` as configured, for records and logs. */
  get description(): string {
    return formatDestination(this.spec.dialHost, this.spec.port);
  }

  /** Connects, trying each resolved address in order; rejects with the first error, worded as the agent's. */
  async dial(): Promise<DialedSocket> {
    const candidates = this.addresses ?? [this.spec.dialHost];
    if (candidates.length === 0) throw dialError(undefined, 'missing address');
    let first: DialError | undefined;
    for (const host of candidates) {
      try {
        return await this.dialOne(host);
      } catch (error) {
        first ??= error as DialError;
      }
    }
    throw first!;
  }

  private async dialOne(host: string): Promise<DialedSocket> {
    const destination = formatDestination(host, this.spec.port);
    if (this.isRefusedByFault(host)) {
      this.options.onRefusedByFault?.(destination);
      throw dialError(destination, 'connect: connection refused', 'ECONNREFUSED');
    }
    const socket = connect({ host, port: this.spec.port });
    return await new Promise<DialedSocket>((resolve, reject) => {
      const onError = (error: DialError): void => {
        socket.destroy();
        reject(dialError(destination, `connect: ${describeSocketError(error)}`, error.code));
      };
      socket.once('error', onError);
      socket.once('connect', () => {
        socket.off('error', onError);
        resolve({ socket, destination });
      });
    });
  }

  private isRefusedByFault(host: string): boolean {
    const refused = this.options.refusedDestinations();
    if (refused.length === 0) return false;
    const names = [host, this.spec.dialHost, this.spec.remoteHost]
      .filter((name): name is string => name !== undefined && name !== '')
      .map((name) => formatDestination(name, this.spec.port).toLowerCase());
    return refused.some((entry) => names.includes(entry.toLowerCase()));
  }
}

const SOCKET_ERRORS: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset by peer',
  ETIMEDOUT: 'connection timed out',
  EHOSTUNREACH: 'no route to host',
  ENETUNREACH: 'network is unreachable',
  EADDRNOTAVAIL: 'cannot assign requested address',
};

function describeSocketError(error: DialError): string {
  return (error.code !== undefined ? SOCKET_ERRORS[error.code] : undefined) ?? error.message;
}

/** Go's net.OpError text: `dial tcp 127.0.0.1:5432: connect: connection refused`. */
function dialError(destination: string | undefined, detail: string, code?: string): DialError {
  const error: DialError = new Error(`dial tcp${destination === undefined ? '' : ` ${destination}`}: ${detail}`);
  if (code !== undefined) error.code = code;
  return error;
}
