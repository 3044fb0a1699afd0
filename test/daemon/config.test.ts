import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  formatConfigError,
  loadConfig,
  parseConfig,
  parseDuration,
  tunnelDefinitionsEqual,
} from '../../src/daemon/config.js';
import type { DaemonConfig, TunnelDefinition } from '../../src/daemon/config.js';
import { bindingsCollide, isLoopbackHost, isValidHost, parseListenAddress } from '../../src/daemon/config-hosts.js';
import { DEFAULT_RECONNECT } from '../../src/tunnel/options.js';

const EXAMPLE = fileURLToPath(new URL('../../config.example.yaml', import.meta.url));

function yaml(...lines: string[]): string {
  return lines.join('\n') + '\n';
}

/** A config whose only tunnel is `tunnel` (lines indented under `- `). */
function oneTunnel(...tunnel: string[]): string {
  return yaml('tunnels:', ...tunnel.map((line, index) => (index === 0 ? `  - ${line}` : `    ${line}`)));
}

const MINIMAL_TUNNEL = ['name: db', 'target: i-0123456789abcdef0', 'remote: { port: 5432 }', 'local: { port: 15432 }'];

function valid(text: string): DaemonConfig {
  const result = parseConfig(text, 'tunnels.yaml');
  if ('errors' in result) throw new Error(`unexpected errors:\n${result.errors.map(formatConfigError).join('\n')}`);
  return result.config;
}

function errors(text: string): string[] {
  const result = parseConfig(text, 'tunnels.yaml');
  if ('config' in result) throw new Error('expected errors, the config is valid');
  return result.errors.map(formatConfigError);
}

function onlyTunnel(text: string): TunnelDefinition {
  const [tunnel, ...rest] = valid(text).tunnels;
  expect(rest).toEqual([]);
  if (tunnel === undefined) throw new Error('no tunnel');
  return tunnel;
}

describe('config.example.yaml', () => {
  it('is valid, and means what its comments say', async () => {
    const result = await loadConfig(EXAMPLE);
    if ('errors' in result) throw new Error(result.errors.map(formatConfigError).join('\n'));
    const { config } = result;
    expect(config.log).toEqual({ level: 'info', format: 'auto' });
    expect(config.status).toEqual({ host: '127.0.0.1', port: 9170, exposed: false });
    expect(config.shutdownGraceMs).toBe(10_000);
    expect(config.tunnels.map((tunnel) => tunnel.name)).toEqual(['orders-db', 'admin-ui', 'reporting-redis', 'bastion-db', 'ecs-db', 'tagged-api']);
    const [ordersDb, adminUi, redis, bastionDb, ecsDb, taggedApi] = config.tunnels;
    expect(ecsDb?.target).toEqual({ ecs: { cluster: 'prod', service: 'api', container: 'app' } });
    expect(ordersDb).toEqual({
      name: 'orders-db',
      target: 'i-0123456789abcdef0',
      remoteHost: 'orders.cluster-abc.eu-west-1.rds.amazonaws.com',
      remotePort: 5432,
      localHost: '127.0.0.1',
      localPort: 15432,
      region: 'eu-west-1',
      profile: 'prod',
      reconnect: { initialDelayMs: 200, maxDelayMs: 30_000, factor: 2, maxRetries: Infinity },
      connectTimeoutMs: 30_000,
      keepAlive: true,
      exposed: false,
    });
    expect(adminUi?.remoteHost).toBeUndefined();
    expect(adminUi?.keepAlive).toBe(false);
    expect(redis).toMatchObject({
      localHost: '::1',
      exposed: false,
      region: 'eu-west-2',
      profile: 'reporting',
      reconnect: { initialDelayMs: 200, maxDelayMs: 120_000, factor: 2, maxRetries: Infinity },
      connectTimeoutMs: 60_000,
    });
    expect(bastionDb).toMatchObject({ target: 'name:bastion', localSocket: { path: '/run/ssm-tunnel/.s.PGSQL.5432', mode: 0o660 }, sessions: 4, exposed: false });
    expect(taggedApi).toMatchObject({ target: { tag: { Role: 'api', Env: 'prod' } }, localHost: 'localhost', localPort: 18443, exposed: false });
  });
});

describe('defaults and overrides', () => {
  it('fills in everything a minimal config leaves out', () => {
    const config = valid(oneTunnel(...MINIMAL_TUNNEL));
    expect(config).toEqual({
      log: { level: 'info', format: 'auto' },
      shutdownGraceMs: 10_000,
      tunnels: [
        {
          name: 'db',
          target: 'i-0123456789abcdef0',
          remotePort: 5432,
          localHost: '127.0.0.1',
          localPort: 15432,
          reconnect: DEFAULT_RECONNECT,
          connectTimeoutMs: 30_000,
          keepAlive: false,
          exposed: false,
        },
      ],
    });
    expect(Object.keys(config.tunnels[0] ?? {})).not.toContain('region');
  });

  it('applies defaults to every tunnel and lets a tunnel override each one', () => {
    const config = valid(
      yaml(
        'defaults:',
        '  region: eu-west-1',
        '  endpoint: http://127.0.0.1:4566',
        '  credentials: { accessKeyId: AKIDEXAMPLE, secretAccessKey: secret }',
        '  reconnect: { initialDelay: 1s, factor: 3 }',
        '  connectTimeout: 5s',
        '  keepAlive: true',
        'tunnels:',
        '  - { name: a, target: i-1, remote: { port: 1 }, local: { port: 0 } }',
        '  - name: b',
        '    target: i-2',
        '    remote: { port: 2 }',
        '    local: { port: 0 }',
        '    region: us-east-1',
        '    profile: other',
        '    reconnect: { maxDelay: 1m }',
        '    connectTimeout: 1.5s',
        '    keepAlive: false',
      ),
    );
    const [a, b] = config.tunnels;
    expect(a).toMatchObject({
      region: 'eu-west-1',
      endpoint: 'http://127.0.0.1:4566',
      credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
      reconnect: { initialDelayMs: 1000, maxDelayMs: 30_000, factor: 3, maxRetries: Infinity },
      connectTimeoutMs: 5000,
      keepAlive: true,
    });
    expect(a?.profile).toBeUndefined();
    expect(b).toMatchObject({
      region: 'us-east-1',
      endpoint: 'http://127.0.0.1:4566',
      profile: 'other',
      reconnect: { initialDelayMs: 1000, maxDelayMs: 60_000, factor: 3, maxRetries: Infinity },
      connectTimeoutMs: 1500,
      keepAlive: false,
    });
    // The tunnel chose a profile: the default credentials must not silently win over it.
    expect(b?.credentials).toBeUndefined();
  });

  it('reads log, status and shutdownGrace', () => {
    const config = valid(
      yaml('log: { level: debug, format: pretty }', 'status: { listen: 9170 }', 'shutdownGrace: 0s') + oneTunnel(...MINIMAL_TUNNEL),
    );
    expect(config.log).toEqual({ level: 'debug', format: 'pretty' });
    expect(config.status).toEqual({ host: '127.0.0.1', port: 9170, exposed: false });
    expect(config.shutdownGraceMs).toBe(0);
  });

  it('marks tunnels and status endpoints that listen beyond loopback as exposed', () => {
    const config = valid(
      yaml(
        'status: { listen: "0.0.0.0:9170" }',
        'tunnels:',
        '  - { name: a, target: i-1, remote: { port: 1 }, local: { host: 0.0.0.0, port: 1 } }',
        '  - { name: b, target: i-1, remote: { port: 1 }, local: { host: localhost, port: 2 } }',
        '  - { name: c, target: i-1, remote: { port: 1 }, local: { host: 127.0.0.2, port: 3 } }',
        '  - { name: d, target: i-1, remote: { port: 1 }, local: { host: "::", port: 4 } }',
        '  - { name: e, target: i-1, remote: { port: 1 }, local: { host: 10.1.2.3, port: 5 } }',
      ),
    );
    expect(config.status?.exposed).toBe(true);
    expect(config.tunnels.map((tunnel) => [tunnel.name, tunnel.exposed])).toEqual([
      ['a', true],
      ['b', false],
      ['c', false],
      ['d', true],
      ['e', true],
    ]);
  });

  it('reads files with a byte order mark and CRLF line ends', () => {
    const text = '\uFEFF' + oneTunnel(...MINIMAL_TUNNEL).replaceAll('\n', '\r\n');
    expect(onlyTunnel(text).localPort).toBe(15432);
    expect(errors(text.replace('15432', '99999'))).toEqual([
      'tunnels.yaml:5:20 tunnels[0].local.port: expected an integer 0–65535, got 99999',
    ]);
  });

  it('follows YAML anchors and aliases', () => {
    const config = valid(
      yaml(
        'tunnels:',
        '  - { name: a, target: &node i-0123456789abcdef0, remote: &pg { port: 5432 }, local: { port: 1 } }',
        '  - { name: b, target: *node, remote: *pg, local: { port: 2 } }',
      ),
    );
    expect(config.tunnels.map((tunnel) => [tunnel.target, tunnel.remotePort])).toEqual([
      ['i-0123456789abcdef0', 5432],
      ['i-0123456789abcdef0', 5432],
    ]);
  });
});

describe('errors name file, line, column and field', () => {
  it('a port that is not an integer', () => {
    expect(errors(oneTunnel('name: db', 'target: i-1', 'remote: { port: 54x2 }', 'local: { port: 15432 }'))).toEqual([
      'tunnels.yaml:4:21 tunnels[0].remote.port: expected an integer 1–65535, got "54x2"',
    ]);
  });

  it('ports out of range, and a quoted number', () => {
    expect(
      errors(
        yaml(
          'tunnels:',
          '  - name: db',
          '    target: i-1',
          '    remote:',
          '      port: 0',
          '    local:',
          '      port: 65536',
          '  - name: db2',
          '    target: i-1',
          '    remote: { port: "5432" }',
          '    local: { port: 1.5 }',
        ),
      ),
    ).toEqual([
      'tunnels.yaml:5:13 tunnels[0].remote.port: expected an integer 1–65535, got 0',
      'tunnels.yaml:7:13 tunnels[0].local.port: expected an integer 0–65535, got 65536',
      'tunnels.yaml:10:21 tunnels[1].remote.port: expected an integer 1–65535, got "5432"',
      'tunnels.yaml:11:20 tunnels[1].local.port: expected an integer 0–65535, got 1.5',
    ]);
  });

  it('unknown keys, with a suggestion when one is close', () => {
    expect(
      errors(
        yaml(
          'defaults:',
          '  keepalive: true',
          '  connect_timeout: 5s',
          '  colour: blue',
          'region: eu-west-1',
          'tunnels:',
          '  - name: db',
          '    target: i-1',
          '    remote: { port: 5432, hots: x }',
          '    local: { port: 15432 }',
          '    remotePort: 5432',
          '    shutdownGrace: 1s',
        ),
      ),
    ).toEqual([
      'tunnels.yaml:2:3 defaults.keepalive: unknown key "keepalive"; did you mean "keepAlive"?',
      'tunnels.yaml:3:3 defaults.connect_timeout: unknown key "connect_timeout"; did you mean "connectTimeout"?',
      'tunnels.yaml:4:3 defaults.colour: unknown key "colour"; expected one of: region, profile, endpoint, credentials, reconnect, connectTimeout, keepAlive, proxy, caBundle',
      'tunnels.yaml:5:1 region: unknown key "region"; it belongs under "defaults:" or in a tunnel',
      'tunnels.yaml:9:27 tunnels[0].remote.hots: unknown key "hots"; did you mean "host"?',
      'tunnels.yaml:11:5 tunnels[0].remotePort: unknown key "remotePort"; write remote: { port: … }',
      'tunnels.yaml:12:5 tunnels[0].shutdownGrace: unknown key "shutdownGrace"; it is a top-level setting',
    ]);
  });

  it('missing required fields, at the key of the mapping that lacks them', () => {
    expect(errors(yaml('tunnels:', '  - name: db', '    remote: { host: db.internal }'))).toEqual([
      'tunnels.yaml:2:5 tunnels[0].target: missing; expected an instance or managed node id like i-0123456789abcdef0, an ecs:<cluster>_<task>_<runtime id> task, "name:<Name tag>", { tag: { Key: Value } } or { ecs: { cluster, service } }',
      'tunnels.yaml:2:5 tunnels[0].local: missing; expected a mapping with port (0: any free port) and optional host, or with socket and optional mode',
      'tunnels.yaml:3:5 tunnels[0].remote.port: missing; expected an integer 1–65535',
    ]);
    expect(errors(yaml('log: { level: info }'))).toEqual(['tunnels.yaml:1:1 tunnels: missing; expected a list of tunnels']);
  });

  it('values of the wrong shape', () => {
    expect(errors(yaml('tunnels:', '  db: { target: i-1 }'))).toEqual([
      'tunnels.yaml:2:3 tunnels: expected a list of tunnels, got a mapping',
    ]);
    expect(errors(yaml('tunnels: []'))).toEqual(['tunnels.yaml:1:10 tunnels: expected at least one tunnel']);
    expect(errors(oneTunnel('name: db', 'target: i-1', 'remote: 5432', 'local:'))).toEqual([
      'tunnels.yaml:4:13 tunnels[0].remote: expected a mapping with port and optional host, got 5432',
      'tunnels.yaml:5:11 tunnels[0].local: expected a mapping with port (0: any free port) and optional host, or with socket and optional mode, got an empty value',
    ]);
    expect(errors(yaml('- a', '- b'))).toEqual([
      'tunnels.yaml:1:1 expected a mapping with "tunnels:" and optional "defaults:", "log:", "status:", "shutdownGrace:", got a list',
    ]);
    expect(errors('')).toEqual(['tunnels.yaml:1:1 the config is empty; expected a mapping with at least "tunnels:"']);
    expect(errors('# nothing yet\n')).toEqual(['tunnels.yaml:1:1 the config is empty; expected a mapping with at least "tunnels:"']);
  });

  it('names, targets, hosts, regions, endpoints, enums and booleans', () => {
    expect(
      errors(
        yaml(
          'defaults:',
          '  region: EU West 1',
          '  endpoint: ftp://ssm.example.com',
          '  keepAlive: yes',
          'log: { level: verbose, format: text }',
          'tunnels:',
          '  - name: orders db',
          '    target: ""',
          '    remote: { host: -bad-.example.com, port: 5432 }',
          '    local: { host: "[::1]", port: 15432 }',
          '  - name: x',
          `    target: i-${'0'.repeat(400)}`,
          '    remote: { host: 10.0.0.256, port: 5432 }',
          '    local: { port: 15433 }',
        ),
      ),
    ).toEqual([
      'tunnels.yaml:2:11 defaults.region: expected a region name like eu-west-1, got "EU West 1"',
      'tunnels.yaml:3:13 defaults.endpoint: expected an http:// or https:// URL, got "ftp://ssm.example.com"',
      'tunnels.yaml:4:14 defaults.keepAlive: expected true or false, got "yes"',
      'tunnels.yaml:5:15 log.level: expected one of fatal, error, warn, info, debug, trace, silent, got "verbose"',
      'tunnels.yaml:5:32 log.format: expected one of auto, json, pretty, got "text"',
      'tunnels.yaml:7:11 tunnels[0].name: expected a name of 1–64 letters, digits, ".", "_" or "-", got "orders db"',
      'tunnels.yaml:8:13 tunnels[0].target: expected an instance or managed node id like i-0123456789abcdef0, an ecs:<cluster>_<task>_<runtime id> task, "name:<Name tag>", { tag: { Key: Value } } or { ecs: { cluster, service } }, got ""',
      'tunnels.yaml:9:21 tunnels[0].remote.host: expected a hostname or an IPv4/IPv6 address (IPv6 without brackets), got "-bad-.example.com"',
      'tunnels.yaml:10:20 tunnels[0].local.host: expected a hostname or an IPv4/IPv6 address (IPv6 without brackets), got "[::1]"',
      `tunnels.yaml:12:13 tunnels[1].target: expected an instance or managed node id like i-0123456789abcdef0, an ecs:<cluster>_<task>_<runtime id> task, "name:<Name tag>", { tag: { Key: Value } } or { ecs: { cluster, service } }, got "i-${'0'.repeat(58)}"… (402 characters)`,
      'tunnels.yaml:13:21 tunnels[1].remote.host: expected a hostname or an IPv4/IPv6 address (IPv6 without brackets), got "10.0.0.256"',
    ]);
  });

  it('durations', () => {
    expect(
      errors(
        yaml(
          'defaults:',
          '  connectTimeout: 30',
          '  reconnect: { initialDelay: 0s, maxDelay: 5 minutes, factor: 0.5 }',
          'shutdownGrace: 1000h',
        ) + oneTunnel(...MINIMAL_TUNNEL),
      ),
    ).toEqual([
      'tunnels.yaml:2:19 defaults.connectTimeout: expected a positive duration like 500ms, 30s, 5m or 1h30m (at most 596h), got 30',
      'tunnels.yaml:3:30 defaults.reconnect.initialDelay: expected a positive duration like 500ms, 30s, 5m or 1h30m (at most 596h), got "0s"',
      'tunnels.yaml:3:44 defaults.reconnect.maxDelay: expected a positive duration like 500ms, 30s, 5m or 1h30m (at most 596h), got "5 minutes"',
      'tunnels.yaml:3:63 defaults.reconnect.factor: expected a number ≥ 1, got 0.5',
      'tunnels.yaml:4:16 shutdownGrace: expected a duration like 500ms, 30s, 5m or 1h30m (at most 596h), got "1000h"',
    ]);
  });

  it('an initial reconnect delay longer than the maximum, after merging', () => {
    expect(
      errors(
        yaml(
          'defaults:',
          '  reconnect: { initialDelay: 10s }',
          'tunnels:',
          '  - { name: a, target: i-1, remote: { port: 1 }, local: { port: 0 }, reconnect: { maxDelay: 5s } }',
        ),
      ),
    ).toEqual(['tunnels.yaml:4:70 tunnels[0].reconnect: initialDelay (10000ms) is longer than maxDelay (5000ms)']);
  });

  it('status listen addresses', () => {
    const withStatus = (status: string): string[] => errors(yaml(`status: ${status}`) + oneTunnel(...MINIMAL_TUNNEL));
    expect(withStatus('{ listen: "localhost" }')).toEqual([
      'tunnels.yaml:1:19 status.listen: expected a port number, "host:port" or "[ipv6]:port", got "localhost"',
    ]);
    expect(withStatus('{ listen: "::1:9170" }')).toEqual([
      'tunnels.yaml:1:19 status.listen: expected a port number, "host:port" or "[ipv6]:port", got "::1:9170"',
    ]);
    expect(withStatus('{ listen: 70000 }')).toEqual([
      'tunnels.yaml:1:19 status.listen: expected a port number, "host:port" or "[ipv6]:port", got 70000',
    ]);
    expect(withStatus('{}')).toEqual(['tunnels.yaml:1:1 status.listen: missing; expected a port number, "host:port" or "[ipv6]:port"']);
    expect(withStatus('on')).toEqual(['tunnels.yaml:1:9 status: expected a mapping with listen, got "on"']);
  });

  it('duplicate names and colliding local addresses', () => {
    expect(
      errors(
        yaml(
          'status: { listen: "[::1]:7000" }',
          'tunnels:',
          '  - { name: a, target: i-1, remote: { port: 1 }, local: { port: 5000 } }',
          '  - { name: a, target: i-1, remote: { port: 1 }, local: { host: 0.0.0.0, port: 5000 } }',
          '  - { name: b, target: i-1, remote: { port: 1 }, local: { host: 127.0.0.1, port: 0 } }',
          '  - { name: c, target: i-1, remote: { port: 1 }, local: { host: 127.0.0.1, port: 0 } }',
          '  - { name: d, target: i-1, remote: { port: 1 }, local: { host: "::", port: 7000 } }',
          '  - { name: e, target: i-1, remote: { port: 1 }, local: { host: 127.0.0.1, port: 5001 } }',
          '  - { name: f, target: i-1, remote: { port: 1 }, local: { host: 127.0.0.2, port: 5001 } }',
        ),
      ),
    ).toEqual([
      'tunnels.yaml:1:19 status.listen: [::1]:7000 collides with tunnel "d" listening on [::]:7000',
      'tunnels.yaml:4:13 tunnels[1].name: "a" is already used by tunnels[0] (line 3); names must be unique',
      'tunnels.yaml:4:80 tunnels[1].local.port: 0.0.0.0:5000 collides with tunnel "a" listening on 127.0.0.1:5000',
    ]);
  });

  it('profile and credentials together; credential values never appear in messages', () => {
    expect(
      errors(
        yaml(
          'defaults:',
          '  profile: prod',
          '  credentials:',
          '    accessKeyId: 12345678',
          '    secretAccessKey: "wJalr XUtnFEMI"',
          '    token: abc',
        ) + oneTunnel(...MINIMAL_TUNNEL),
      ),
    ).toEqual([
      'tunnels.yaml:3:3 defaults.credentials: set either profile or credentials, not both',
      'tunnels.yaml:4:18 defaults.credentials.accessKeyId: expected an access key id without spaces, got a number',
      'tunnels.yaml:5:22 defaults.credentials.secretAccessKey: expected a secret access key without spaces, got a string of 14 characters',
      'tunnels.yaml:6:5 defaults.credentials.token: unknown key "token"; expected one of: accessKeyId, secretAccessKey, sessionToken',
    ]);
  });

  it('an alias to an anchor that does not exist', () => {
    expect(errors(yaml('tunnels:', '  - *missing'))).toEqual(['tunnels.yaml:2:5 tunnels[0]: alias *missing refers to no anchor']);
  });

  it('reports every error at once, in file order', () => {
    const found = errors(
      yaml(
        'log: { level: loud }',
        'tunnels:',
        '  - { name: a, target: i-1, remote: { port: 99999 }, local: { port: 1 } }',
        '  - { name: b, target: i-1, remote: { port: 1 }, local: { port: 1 } }',
        'shutdownGrace: soon',
      ),
    );
    expect(found).toEqual([
      'tunnels.yaml:1:15 log.level: expected one of fatal, error, warn, info, debug, trace, silent, got "loud"',
      'tunnels.yaml:3:45 tunnels[0].remote.port: expected an integer 1–65535, got 99999',
      'tunnels.yaml:4:65 tunnels[1].local.port: 127.0.0.1:1 collides with tunnel "a" listening on 127.0.0.1:1',
      'tunnels.yaml:5:16 shutdownGrace: expected a duration like 500ms, 30s, 5m or 1h30m (at most 596h), got "soon"',
    ]);
  });

  it('returns errors as structured records too', () => {
    const result = parseConfig(oneTunnel('name: db', 'target: i-1', 'remote: { port: 54x2 }', 'local: { port: 15432 }'), 'conf/tunnels.yaml');
    expect(result).toEqual({
      errors: [
        {
          file: 'conf/tunnels.yaml',
          line: 4,
          column: 21,
          path: 'tunnels[0].remote.port',
          message: 'expected an integer 1–65535, got "54x2"',
        },
      ],
    });
  });
});

describe('YAML syntax errors', () => {
  it('carry line and column, and stop the field checks', () => {
    expect(errors(yaml('tunnels:', '  - name: db', '    remote: { port: 5432', 'shutdownGrace: nope'))).toEqual([
      'tunnels.yaml:4:1 invalid YAML: Flow map in block collection must be sufficiently indented and end with a }',
    ]);
  });

  it('duplicate keys', () => {
    expect(errors(oneTunnel(...MINIMAL_TUNNEL, 'local: { port: 1 }'))).toEqual([
      'tunnels.yaml:6:5 invalid YAML: Map keys must be unique',
    ]);
  });

  it('several documents in one file', () => {
    expect(errors(oneTunnel(...MINIMAL_TUNNEL) + yaml('---', 'tunnels: []'))).toEqual([
      'tunnels.yaml:6:1 invalid YAML: Source contains multiple documents; please use YAML.parseAllDocuments()',
    ]);
  });
});

describe('loadConfig', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ssm-tunnel-config-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads a file and names it in errors', async () => {
    const path = join(dir, 'tunnels.yaml');
    await writeFile(path, oneTunnel('name: db', 'target: i-1', 'remote: { port: 54x2 }', 'local: { port: 15432 }'));
    const result = await loadConfig(path);
    expect('errors' in result && result.errors.map(formatConfigError)).toEqual([
      `${path}:4:21 tunnels[0].remote.port: expected an integer 1–65535, got "54x2"`,
    ]);
  });

  it('names the path of a file that does not exist or is a directory', async () => {
    const missing = join(dir, 'nope.yaml');
    const noFile = await loadConfig(missing);
    expect('errors' in noFile && noFile.errors).toEqual([{ file: missing, path: '', message: 'cannot read the config: no such file' }]);
    expect('errors' in noFile && noFile.errors.map(formatConfigError)).toEqual([`${missing}: cannot read the config: no such file`]);
    const directory = await loadConfig(dir);
    expect('errors' in directory && directory.errors.map(formatConfigError)).toEqual([`${dir}: cannot read the config: it is a directory`]);
  });
});

describe('tunnelDefinitionsEqual', () => {
  const base = [
    'defaults: { region: eu-west-1, reconnect: { factor: 2 } }',
    'tunnels:',
    '  - name: db',
    '    target: i-1',
    '    remote: { host: db.internal, port: 5432 }',
    '    local: { port: 15432 }',
  ];

  it('is true for the same settings however they are written', () => {
    const a = onlyTunnel(yaml(...base));
    const b = onlyTunnel(
      yaml(
        'tunnels:',
        '  - { local: { port: 15432, host: 127.0.0.1 }, remote: { port: 5432, host: db.internal }, target: i-1, name: db,',
        '      region: eu-west-1, keepAlive: false, connectTimeout: 30s, reconnect: { initialDelay: 200ms } }',
      ),
    );
    expect(tunnelDefinitionsEqual(a, b)).toBe(true);
    expect(tunnelDefinitionsEqual(a, { ...b, profile: undefined })).toBe(true);
  });

  it('is false when any resolved setting differs', () => {
    const a = onlyTunnel(yaml(...base));
    const variants = [
      [...base, '    keepAlive: true'],
      [...base, '    reconnect: { factor: 3 }'],
      [...base, '    profile: other'],
      [...base, '    region: us-east-1'],
      base.map((line) => line.replace('host: db.internal, ', '')),
      base.map((line) => line.replace('15432', '15433')),
      base.map((line) => line.replace('target: i-1', 'target: i-2')),
    ];
    for (const variant of variants) {
      expect(tunnelDefinitionsEqual(a, onlyTunnel(yaml(...variant))), variant.join('\n')).toBe(false);
    }
    const creds = (secret: string): TunnelDefinition => ({ ...a, credentials: { accessKeyId: 'AKID', secretAccessKey: secret } });
    expect(tunnelDefinitionsEqual(creds('one'), creds('one'))).toBe(true);
    expect(tunnelDefinitionsEqual(creds('one'), creds('two'))).toBe(false);
  });
});

describe('parseDuration', () => {
  it.each([
    ['250ms', 250],
    ['30s', 30_000],
    ['1.5s', 1500],
    ['5m', 300_000],
    ['2h', 7_200_000],
    ['1h30m', 5_400_000],
    ['1m0.5s', 60_500],
    ['0s', 0],
  ])('%s is %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(['', '30', 's', '30 s', '-1s', '1d', '.5s', '1.s', '30S', '1e3ms', `${'9'.repeat(400)}h`])('rejects %j, naming it', (text) => {
    expect(() => parseDuration(text)).toThrow(`expected a duration like 500ms, 30s, 5m or 1h30m, got ${JSON.stringify(text)}`);
  });
});

describe('hosts and listen addresses', () => {
  it('accepts hostnames and IP literals, rejects the rest', () => {
    for (const host of ['localhost', 'db.internal', 'orders.cluster-abc.eu-west-1.rds.amazonaws.com', 'a_b.example.', '10.0.0.1', '::1', 'fe80::1']) {
      expect(isValidHost(host), host).toBe(true);
    }
    for (const host of ['', 'a b', '-a.example', 'a-.example', 'a..b', '10.0.0.256', '10.1', '[::1]', `${'a'.repeat(64)}.example`]) {
      expect(isValidHost(host), host).toBe(false);
    }
  });

  it('knows loopback addresses', () => {
    for (const host of ['localhost', 'LOCALHOST', '127.0.0.1', '127.1.2.3', '::1', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1']) {
      expect(isLoopbackHost(host), host).toBe(true);
    }
    for (const host of ['0.0.0.0', '::', '10.0.0.1', 'db.internal', '::ffff:10.0.0.1']) {
      expect(isLoopbackHost(host), host).toBe(false);
    }
  });

  it('parses listen addresses', () => {
    expect(parseListenAddress(9170)).toEqual({ host: '127.0.0.1', port: 9170 });
    expect(parseListenAddress('9170')).toEqual({ host: '127.0.0.1', port: 9170 });
    expect(parseListenAddress('0.0.0.0:0')).toEqual({ host: '0.0.0.0', port: 0 });
    expect(parseListenAddress('[::1]:9170')).toEqual({ host: '::1', port: 9170 });
    expect(parseListenAddress('status.local:80')).toEqual({ host: 'status.local', port: 80 });
    for (const bad of [':9170', '[db]:1', '::1:9170', 'host:', 'host:65536', -1, 1.5, true, null]) {
      expect(parseListenAddress(bad), String(bad)).toBeUndefined();
    }
  });

  it('tells which bindings collide', () => {
    const at = (host: string, port = 80) => ({ host, port });
    expect(bindingsCollide(at('127.0.0.1'), at('127.0.0.1'))).toBe(true);
    expect(bindingsCollide(at('::1'), at('0:0::1'))).toBe(true);
    expect(bindingsCollide(at('0.0.0.0'), at('10.0.0.1'))).toBe(true);
    expect(bindingsCollide(at('0.0.0.0'), at('::1'))).toBe(false);
    expect(bindingsCollide(at('::'), at('127.0.0.1'))).toBe(true);
    expect(bindingsCollide(at('localhost'), at('::1'))).toBe(true);
    expect(bindingsCollide(at('127.0.0.1'), at('127.0.0.2'))).toBe(false);
    expect(bindingsCollide(at('127.0.0.1'), at('127.0.0.1', 81))).toBe(false);
    expect(bindingsCollide(at('127.0.0.1', 0), at('127.0.0.1', 0))).toBe(false);
  });
});
