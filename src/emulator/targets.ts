/*
 * The managed nodes the emulator pretends to have: their identity (as DescribeInstanceInformation
 * reports it), what "localhost" means on each, and which destinations sessions through it may reach
 * (the emulator's stand-in for an IAM condition on the document parameters).
 */

export const PING_STATUSES = ['Online', 'ConnectionLost', 'Inactive'] as const;
export type PingStatus = (typeof PING_STATUSES)[number];

export interface EmulatedTargetConfig {
  /** The address that stands for the target itself (its "localhost"); default `127.0.0.1`. */
  address?: string;
  /** Reachable destinations: `host:port`, `host:*` or `*` (IPv6 hosts in brackets); default `['*']`. */
  allowedDestinations?: string[];
  /** Reported by DescribeInstanceInformation; default: the target id. */
  computerName?: string;
  /** Matched by the `tag-key` and `tag:<Key>` filters of DescribeInstanceInformation. */
  tags?: Record<string, string>;
  /** Anything but `Online` makes StartSession fail with `TargetNotConnected`; default `Online`. */
  pingStatus?: PingStatus;
}

interface DestinationRule {
  /** Lower-case host, or undefined for any host (`*`). */
  host?: string;
  /** Undefined for any port. */
  port?: number;
}

export interface EmulatedTarget {
  readonly id: string;
  readonly address: string;
  readonly allowedDestinations: readonly string[];
  readonly computerName: string;
  readonly tags: Readonly<Record<string, string>>;
  readonly pingStatus: PingStatus;
}

/** Where an agent on `target` connects for a session: its own address stands in for `localhost`. */
export interface Destination {
  host: string;
  port: number;
}

export class TargetDirectory {
  private readonly targets = new Map<string, EmulatedTarget>();
  private readonly rules = new Map<string, DestinationRule[]>();

  /** ECS task containers: session targets that DescribeInstanceInformation does not list. */
  private readonly taskContainers = new Map<string, EmulatedTarget>();

  constructor(config: Readonly<Record<string, EmulatedTargetConfig>>) {
    for (const [id, target] of Object.entries(config)) this.targets.set(id, this.build(id, target));
  }

  get(id: string): EmulatedTarget | undefined {
    return this.targets.get(id) ?? this.taskContainers.get(id);
  }

  /** Managed nodes in configuration order, which is also DescribeInstanceInformation's order. */
  list(): EmulatedTarget[] {
    return [...this.targets.values()];
  }

  /** A running ECS task's container becomes a session target (`ecs:<cluster>_<task>_<runtime id>`). */
  addTaskContainer(id: string, config: EmulatedTargetConfig): void {
    this.taskContainers.set(id, this.build(id, config));
  }

  /** Its task stopped: StartSession to it fails as for a node that is not connected. */
  removeTaskContainer(id: string): void {
    this.taskContainers.delete(id);
    this.rules.delete(id);
  }

  private build(id: string, target: EmulatedTargetConfig): EmulatedTarget {
    if (id === '') throw new Error('Emulator target ids must not be empty');
    const pingStatus = target.pingStatus ?? 'Online';
    if (!PING_STATUSES.includes(pingStatus)) {
      throw new Error(`Emulator target ${id}: pingStatus must be one of ${PING_STATUSES.join(', ')}, got '${String(pingStatus)}'`);
    }
    const allowedDestinations = target.allowedDestinations ?? ['*'];
    this.rules.set(id, allowedDestinations.map((rule) => parseRule(rule, id)));
    return {
      id,
      address: target.address ?? '127.0.0.1',
      allowedDestinations,
      computerName: target.computerName ?? id,
      tags: { ...target.tags },
      pingStatus,
    };
  }

  isAllowed(target: EmulatedTarget, host: string, port: number): boolean {
    const wanted = host.toLowerCase();
    return (this.rules.get(target.id) ?? []).some(
      (rule) => (rule.host === undefined || rule.host === wanted) && (rule.port === undefined || rule.port === port),
    );
  }
}

/** The host an agent on `target` would reach for `host`: the target's "localhost" is its address. */
export function dialHost(target: EmulatedTarget, host: string): string {
  return host.toLowerCase() === 'localhost' ? target.address : host;
}

export function formatDestination(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

function parseRule(text: string, targetId: string): DestinationRule {
  if (text === '*') return {};
  const bad = (why: string): Error =>
    new Error(`Emulator target ${targetId}: allowed destination '${text}' ${why} (expected host:port, host:* or *)`);
  const colon = text.lastIndexOf(':');
  if (colon <= 0) throw bad('has no port');
  let host = text.slice(0, colon);
  const portText = text.slice(colon + 1);
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  else if (host.includes(':')) throw bad('has an IPv6 host without brackets');
  if (portText === '*') return { host: host.toLowerCase() };
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port < 1 || port > 65535) throw bad(`has port '${portText}', not 1-65535`);
  return { host: host.toLowerCase(), port };
}
