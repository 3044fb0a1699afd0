import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/daemon/config.js';

const base = `
tunnels:
  - name: proxy
    target: i-0123456789abcdef0
    kind: socks
`;

describe('kind: socks in the daemon config', () => {
  it('reads listen, allow, idleTimeout and maxSessions', () => {
    const result = parseConfig(`${base}    listen: "127.0.0.1:1080"\n    allow: ["*.internal:443", "10.0.0.0/8:5432"]\n    idleTimeout: 2m\n    maxSessions: 4\n`, 'c.yaml');
    expect('config' in result && result.config.tunnels[0]).toMatchObject({
      name: 'proxy',
      localHost: '127.0.0.1',
      localPort: 1080,
      exposed: false,
      socks: { allow: ['*.internal:443', '10.0.0.0/8:5432'], idleTimeoutMs: 120_000, maxSessions: 4 },
    });
  });

  it('defaults to every destination, a 5 minute idle timeout and 16 sessions, and marks a non-loopback listener', () => {
    const result = parseConfig(`${base}    listen: "0.0.0.0:1080"\n`, 'c.yaml');
    expect('config' in result && result.config.tunnels[0]).toMatchObject({ exposed: true, socks: { idleTimeoutMs: 300_000, maxSessions: 16 } });
    expect('config' in result && result.config.tunnels[0]?.socks?.allow).toBeUndefined();
  });

  it('reports a bad allow entry, forwarding keys on a proxy, and proxy keys on a forwarding tunnel, each where it is written', () => {
    const result = parseConfig(
      `${base}    listen: "127.0.0.1:1080"\n    allow: ["db.internal"]\n    remote: { port: 5432 }\n  - name: db\n    target: i-0123456789abcdef0\n    remote: { port: 5432 }\n    local: { port: 15432 }\n    allow: ["*:1"]\n`,
      'c.yaml',
    );
    expect('errors' in result && result.errors.map((e) => e.path)).toEqual(['tunnels[0].allow[0]', 'tunnels[0].remote', 'tunnels[1].allow']);
  });

  it('reports a proxy that collides with a tunnel on the same port', () => {
    const result = parseConfig(`${base}    listen: "127.0.0.1:15432"\n  - name: db\n    target: i-0123456789abcdef0\n    remote: { port: 5432 }\n    local: { port: 15432 }\n`, 'c.yaml');
    expect('errors' in result && result.errors.map((e) => e.message)).toEqual([expect.stringContaining('collides with tunnel "proxy"')]);
  });
});
