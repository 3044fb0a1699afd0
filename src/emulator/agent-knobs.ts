import { isIP } from 'node:net';

/*
 * The emulated agent's realism knobs. Each session reads them live from three layers: the
 * emulator-wide values, its target's overrides, then its own overrides (last wins).
 */

export interface AgentKnobs {
  /** Sent in the HandshakeRequest; decides the client's mode (docs/forwarding.md §2.1): `3.0.0.0` makes it basic. */
  agentVersion: string;
  /** The agent's 1 KiB + 1 ms per message on its output (docs/forwarding.md §7.2); off for benchmarks. */
  pacing: boolean;
  /** No stream data either way for this long ends the session as timed out (the service's idle timeout). */
  idleTimeoutMs: number;
  /** The session ends as timed out this long after its agent started; 0: no limit. */
  maxSessionDurationMs: number;
  /** Remote IPs a ToRemoteHost session may not reach (docs/forwarding.md §7.3). */
  denyList: string[];
  /**
   * Largest payload of the agent's Output messages, 1–1024 (docs/forwarding.md §7.2). Smaller values
   * split smux frames across many messages, to test a client's parser.
   */
  outputChunkSize: number;
  /** How long the agent waits for the HandshakeResponse (docs/protocol.md §8.1: 15 s). */
  handshakeTimeoutMs: number;
  /** smux keepalive period when the client version asks for keepalive (docs/forwarding.md §5). */
  smuxKeepAliveIntervalMs: number;
  smuxKeepAliveTimeoutMs: number;
}

/** docs/forwarding.md §7.3: IMDS, VPC DNS, Time Sync and Windows activation addresses. */
export const DEFAULT_DENY_LIST: readonly string[] = [
  '169.254.169.254',
  'fd00:ec2::254',
  '169.254.169.253',
  'fd00:ec2::253',
  '169.254.169.123',
  'fd00:ec2::123',
  '169.254.169.250',
  '169.254.169.251',
  'fd00:ec2::240',
];

export const DEFAULT_AGENT_VERSION = '3.3.1142.0';

export const DEFAULT_AGENT_KNOBS: Readonly<AgentKnobs> = {
  agentVersion: DEFAULT_AGENT_VERSION,
  pacing: true,
  idleTimeoutMs: 20 * 60_000,
  maxSessionDurationMs: 0,
  denyList: [...DEFAULT_DENY_LIST],
  outputChunkSize: 1024,
  handshakeTimeoutMs: 15_000,
  smuxKeepAliveIntervalMs: 10_000,
  smuxKeepAliveTimeoutMs: 30_000,
};

/** Throws an Error naming the knob and the value when a setting cannot work. */
export function validateKnobs(knobs: Partial<AgentKnobs>, where: string): void {
  const positive = (name: keyof AgentKnobs, value: number | undefined): void => {
    if (value !== undefined && !(Number.isFinite(value) && value > 0)) {
      throw new Error(`${where}: ${name} must be a positive number of milliseconds, got ${value}`);
    }
  };
  positive('idleTimeoutMs', knobs.idleTimeoutMs);
  if (knobs.maxSessionDurationMs !== undefined && !(Number.isFinite(knobs.maxSessionDurationMs) && knobs.maxSessionDurationMs >= 0)) {
    throw new Error(`${where}: maxSessionDurationMs must be 0 (no limit) or a positive number of milliseconds, got ${knobs.maxSessionDurationMs}`);
  }
  positive('handshakeTimeoutMs', knobs.handshakeTimeoutMs);
  positive('smuxKeepAliveIntervalMs', knobs.smuxKeepAliveIntervalMs);
  positive('smuxKeepAliveTimeoutMs', knobs.smuxKeepAliveTimeoutMs);
  const chunk = knobs.outputChunkSize;
  if (chunk !== undefined && !(Number.isInteger(chunk) && chunk >= 1 && chunk <= 1024)) {
    throw new Error(`${where}: outputChunkSize must be an integer from 1 to 1024, got ${chunk}`);
  }
  if (knobs.agentVersion !== undefined && knobs.agentVersion === '') {
    throw new Error(`${where}: agentVersion must not be empty`);
  }
  for (const ip of knobs.denyList ?? []) {
    if (isIP(ip) === 0) throw new Error(`${where}: denyList entry ${JSON.stringify(ip)} is not an IP address`);
  }
}

/** Layers knob overrides onto a base; keys set to undefined are left alone. */
export function layerKnobs(base: Readonly<AgentKnobs>, ...overrides: (Partial<AgentKnobs> | undefined)[]): AgentKnobs {
  const knobs: AgentKnobs = { ...base, denyList: [...base.denyList] };
  for (const override of overrides) {
    if (override === undefined) continue;
    for (const [key, value] of Object.entries(override) as [keyof AgentKnobs, unknown][]) {
      if (value !== undefined) (knobs as unknown as Record<string, unknown>)[key] = value;
    }
  }
  return knobs;
}
