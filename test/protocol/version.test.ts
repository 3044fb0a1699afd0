import { describe, expect, it } from 'vitest';
import {
  agentPortMode,
  clientPortMode,
  clientStreamMode,
  compareVersionsAsAgent,
  isAgentVersionGreater,
  MUX_AFTER_AGENT,
  MUX_FROM_CLIENT,
  SMUX_KEEPALIVE_DISABLED_AFTER_AGENT,
  SMUX_KEEPALIVE_DISABLED_AFTER_CLIENT,
  TERMINATE_SESSION_FLAG_AFTER_AGENT,
} from '../../src/protocol/index.js';

describe('thresholds (docs/protocol.md §8.6, docs/forwarding.md §2.1–§2.2)', () => {
  it('match the reference constants', () => {
    expect(TERMINATE_SESSION_FLAG_AFTER_AGENT).toBe('2.3.722.0');
    expect(MUX_AFTER_AGENT).toBe('3.0.196.0');
    expect(SMUX_KEEPALIVE_DISABLED_AFTER_AGENT).toBe('3.1.1511.0');
    expect(MUX_FROM_CLIENT).toBe('1.1.70');
    expect(SMUX_KEEPALIVE_DISABLED_AFTER_CLIENT).toBe('1.2.331.0');
  });
});

describe('client decision from AgentVersion (docs/forwarding.md §2.1 table)', () => {
  // [AgentVersion, mux, keepalive disabled (only meaningful in mux mode)]
  it.each([
    ['3.0.196.0', false, undefined],
    ['3.0.222.0', true, false],
    ['3.1.1511.0', true, false],
    ['3.1.1575.0', true, true],
    ['3.3.987.0', true, true],
    ['3.3.987', false, undefined],
    ['3.0.196.0-rc', false, undefined],
  ])('%s: mux %s, keepalive disabled %s', (agentVersion, mux, keepAliveDisabled) => {
    const decision = clientPortMode(agentVersion);
    expect(decision.mux).toBe(mux);
    expect(isAgentVersionGreater(agentVersion, MUX_AFTER_AGENT)).toBe(mux);
    if (keepAliveDisabled === undefined) {
      expect(decision.smuxKeepAlive).toBe(false);
    } else {
      expect(decision.smuxKeepAlive).toBe(!keepAliveDisabled);
      expect(isAgentVersionGreater(agentVersion, SMUX_KEEPALIVE_DISABLED_AFTER_AGENT)).toBe(keepAliveDisabled);
    }
  });

  it.each([
    ['2.3.722.0', false],
    ['2.3.723.0', true],
    ['3.0.0.0', true],
    ['2.3.722', false],
  ])('basic mode with agent %s: TerminateSession flag %s', (agentVersion, flag) => {
    expect(clientPortMode(agentVersion).mux).toBe(false);
    expect(clientPortMode(agentVersion).terminateWithFlag).toBe(flag);
  });

  it('mux mode always ends with the flag', () => {
    expect(clientPortMode('3.3.1142.0')).toEqual({ mux: true, smuxKeepAlive: false, terminateWithFlag: true });
  });

  it.each([
    ['3.3.1142.0', true],
    ['2.3.722.0', false],
  ])('a session without type LocalPortForwarding (AWS-StartSSHSession) is basic mode with agent %s, TerminateSession flag %s', (agentVersion, flag) => {
    expect(clientStreamMode(agentVersion)).toEqual({ mux: false, smuxKeepAlive: false, terminateWithFlag: flag });
  });

  it('an empty AgentVersion (legacy path, no handshake) disables everything', () => {
    expect(clientPortMode('')).toEqual({ mux: false, smuxKeepAlive: false, terminateWithFlag: false });
  });
});

describe('isAgentVersionGreater (client algorithm, docs/forwarding.md §2.1)', () => {
  it.each([
    ['3.0.196.1', '3.0.196.0', true],
    ['3.0.196.0', '3.0.196.0', false],
    ['3.0.195.9', '3.0.196.0', false],
    ['10.0.0.0', '9.9.9.9', true],
    ['3.0.196', '3.0.196.0', false],
    ['', '3.0.196.0', false],
    ['3.0.196.0', '', false],
    // The walk stops at the first difference: a later malformed component is never examined.
    ['4.x.0.0', '3.0.196.0', true],
    ['3.x.0.0', '3.0.196.0', false],
    ['3.0.0196.0', '3.0.196.0', false],
  ])('%s > %s is %s', (agent, threshold, expected) => {
    expect(isAgentVersionGreater(agent, threshold)).toBe(expected);
  });
});

describe('agent decision from ClientVersion (docs/forwarding.md §2.2 table)', () => {
  // [ClientVersion, mux (vs 1.1.70), keepalive disabled (vs 1.2.331.0)]
  it.each([
    ['1.1.61.0', false, false],
    ['1.1.70.0', true, false],
    ['1.2.331.0', true, false],
    ['1.2.331', true, false],
    ['1.2.339.0', true, true],
    ['1.2.650.0', true, true],
    ['', false, false],
  ])('%s: mux %s, keepalive disabled %s', (clientVersion, mux, keepAliveDisabled) => {
    expect(compareVersionsAsAgent(clientVersion, MUX_FROM_CLIENT) >= 0).toBe(mux);
    expect(compareVersionsAsAgent(clientVersion, SMUX_KEEPALIVE_DISABLED_AFTER_CLIENT) > 0).toBe(keepAliveDisabled);
    const decision = agentPortMode(clientVersion, 'LocalPortForwarding');
    expect(decision.mux).toBe(mux);
    expect(decision.smuxKeepAlive).toBe(mux && !keepAliveDisabled);
  });

  it('picks basic mode for any other type', () => {
    expect(agentPortMode('1.2.650.0', 'LocalPortForwardingToSocket')).toEqual({ mux: false, smuxKeepAlive: false });
    expect(agentPortMode('1.2.650.0', '')).toEqual({ mux: false, smuxKeepAlive: false });
  });

  it('matches the pairing both ends need: client 1.2.677.0 gets mux with keepalive off', () => {
    expect(agentPortMode('1.2.677.0', 'LocalPortForwarding')).toEqual({ mux: true, smuxKeepAlive: false });
  });
});

describe('compareVersionsAsAgent (agent strict Compare, docs/forwarding.md §2.2)', () => {
  it.each([
    // Both semver: semver ordering, prerelease below release.
    ['1.1.70', '1.1.70', 0],
    ['1.1.71', '1.1.70', 1],
    ['1.2.0-rc.1', '1.2.0', -1],
    ['1.2.0-rc.2', '1.2.0-rc.10', -1],
    ['1.2.0-alpha', '1.2.0-1', 1],
    ['1.2.0+build5', '1.2.0', 0],
    // Otherwise component-wise over the common prefix, longer wins a tie.
    ['1.1.70.0', '1.1.70', 1],
    ['1.2.331', '1.2.331.0', -1],
    ['1.2.331.0', '1.2.331.0', 0],
    ['1.10.0.0', '1.9.0.0', 1],
    ['1.b.0.0', '1.a.0.0', 1],
    ['1.2.x', '1.2.331.0', 1],
  ])('Compare(%s, %s) = %i', (a, b, expected) => {
    expect(compareVersionsAsAgent(a, b)).toBe(expected);
    expect(compareVersionsAsAgent(b, a)).toBe(-expected || 0);
  });
});
