/*
 * Version rules. Client and agent compare versions differently and decide independently, so both
 * rules are implemented exactly (docs/protocol.md §8.6, docs/forwarding.md §2.1–§2.2).
 */

/** Client thresholds on the agent's version (strictly greater enables the feature). */
export const TERMINATE_SESSION_FLAG_AFTER_AGENT = '2.3.722.0';
export const MUX_AFTER_AGENT = '3.0.196.0';
export const SMUX_KEEPALIVE_DISABLED_AFTER_AGENT = '3.1.1511.0';

/** Agent thresholds on the client's version. */
export const MUX_FROM_CLIENT = '1.1.70';
export const SMUX_KEEPALIVE_DISABLED_AFTER_CLIENT = '1.2.331.0';

const DECIMAL = /^\d+$/;

/**
 * The client's rule (docs/forwarding.md §2.1): equal component counts, every reached component an integer, and the
 * agent version strictly greater. Any error means "unsupported", i.e. false.
 */
export function isAgentVersionGreater(agentVersion: string, threshold: string): boolean {
  if (agentVersion === '' || threshold === '') return false;
  const a = agentVersion.split('.');
  const b = threshold.split('.');
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (!DECIMAL.test(x) || !DECIMAL.test(y)) return false;
    const diff = Number(x) - Number(y);
    if (diff !== 0) return diff > 0;
  }
  return false;
}

interface SemVer {
  core: [number, number, number];
  prerelease: string[];
}

const SEMVER = /^(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$/;

function parseSemver(version: string): SemVer | undefined {
  const match = SEMVER.exec(version);
  if (!match) return undefined;
  return {
    core: [Number(match[1]), Number(match[2]), Number(match[3])],
    prerelease: match[4] ? match[4].split('.') : [],
  };
}

function compareIdentifiers(a: string, b: string): number {
  const an = DECIMAL.test(a);
  const bn = DECIMAL.test(b);
  if (an && bn) return Math.sign(Number(a) - Number(b));
  if (an !== bn) return an ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

function compareSemver(a: SemVer, b: SemVer): number {
  for (let i = 0; i < 3; i++) {
    const d = a.core[i]! - b.core[i]!;
    if (d !== 0) return Math.sign(d);
  }
  if (a.prerelease.length === 0 || b.prerelease.length === 0) {
    return Math.sign(b.prerelease.length - a.prerelease.length);
  }
  for (let i = 0; i < Math.min(a.prerelease.length, b.prerelease.length); i++) {
    const d = compareIdentifiers(a.prerelease[i]!, b.prerelease[i]!);
    if (d !== 0) return d;
  }
  return Math.sign(a.prerelease.length - b.prerelease.length);
}

/**
 * The agent's strict Compare (docs/forwarding.md §2.2): semver ordering when both parse as three-part semver,
 * otherwise component-wise (numeric when both are integers, byte-wise otherwise) with the longer
 * version greater on a common-prefix tie. Returns -1, 0 or 1.
 */
export function compareVersionsAsAgent(a: string, b: string): number {
  const sa = parseSemver(a);
  const sb = parseSemver(b);
  if (sa && sb) return compareSemver(sa, sb);
  const pa = a.split('.');
  const pb = b.split('.');
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    const x = pa[i]!;
    const y = pb[i]!;
    const d = DECIMAL.test(x) && DECIMAL.test(y) ? Math.sign(Number(x) - Number(y)) : x < y ? -1 : x > y ? 1 : 0;
    if (d !== 0) return d;
  }
  return Math.sign(pa.length - pb.length);
}

/** What the client decides from the agent's version (docs/forwarding.md §2.1). */
export interface ClientPortModeDecision {
  mux: boolean;
  smuxKeepAlive: boolean;
  terminateWithFlag: boolean;
}

export function clientPortMode(agentVersion: string): ClientPortModeDecision {
  const mux = isAgentVersionGreater(agentVersion, MUX_AFTER_AGENT);
  return {
    mux,
    smuxKeepAlive: mux && !isAgentVersionGreater(agentVersion, SMUX_KEEPALIVE_DISABLED_AFTER_AGENT),
    terminateWithFlag: mux || isAgentVersionGreater(agentVersion, TERMINATE_SESSION_FLAG_AFTER_AGENT),
  };
}

/**
 * The same decision for a session whose document does not set `type: LocalPortForwarding`
 * (AWS-StartSSHSession): the agent runs basic mode whatever the versions (docs/forwarding.md §1.2), and
 * still honours the TerminateSession flag from the same release.
 */
export function clientStreamMode(agentVersion: string): ClientPortModeDecision {
  return { mux: false, smuxKeepAlive: false, terminateWithFlag: isAgentVersionGreater(agentVersion, TERMINATE_SESSION_FLAG_AFTER_AGENT) };
}

/** What the agent decides from the client's version (docs/forwarding.md §2.2). */
export interface AgentPortModeDecision {
  mux: boolean;
  smuxKeepAlive: boolean;
}

export function agentPortMode(clientVersion: string, type: string): AgentPortModeDecision {
  const mux = type === 'LocalPortForwarding' && clientVersion !== '' && compareVersionsAsAgent(clientVersion, MUX_FROM_CLIENT) >= 0;
  return {
    mux,
    smuxKeepAlive: mux && compareVersionsAsAgent(clientVersion, SMUX_KEEPALIVE_DISABLED_AFTER_CLIENT) <= 0,
  };
}
