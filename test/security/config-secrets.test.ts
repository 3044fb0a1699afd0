/*
 * Secrets in the daemon's config file: a file with `credentials:` that others can read is warned
 * about by `check` and `up` (as ssh does for keys), an API endpoint in clear text too, and a
 * syntax error never quotes a piece of a secret. Needs `npm run build`.
 */
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/daemon/config.js';
import { runCli, spawnCli } from '../helpers/cli.js';
import { daemonConfigYaml } from '../helpers/daemon-config.js';

const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';

function configWith(endpoint: string): string {
  return daemonConfigYaml({
    emulator: { endpoint, region: 'us-east-1', credentials: { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: SECRET } },
    tunnels: [{ name: 'db', target: 'i-0123456789abcdef0', remotePort: 5432 }],
  });
}

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ssm-tunnel-config-secrets-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('a config file holding credentials', () => {
  it('gets a warning from check when group or others can read it, and none at mode 0600', async () => {
    const file = join(dir, 'readable.yaml');
    await writeFile(file, configWith('http://127.0.0.1:1'));
    await chmod(file, 0o644);
    const readable = await runCli(['check', '--config', file]);
    expect(readable.code).toBe(0);
    expect(readable.stdout).toContain(`Warning: ${file} holds credentials and is readable by every user (mode 0644); run chmod 600 ${file}\n`);
    await chmod(file, 0o640);
    expect((await runCli(['check', '--config', file])).stdout).toContain('is readable by its group (mode 0640)');
    await chmod(file, 0o600);
    const private_ = await runCli(['check', '--config', file]);
    expect(private_.stdout).not.toContain('Warning');
    expect(private_.stdout + private_.stderr).not.toContain(SECRET);
  });

  it('gets the same warning logged by up', async () => {
    const file = join(dir, 'readable-up.yaml');
    await writeFile(file, configWith('http://127.0.0.1:1'));
    await chmod(file, 0o644);
    const daemon = spawnCli(['up', '--config', file]);
    try {
      const warning = await daemon.waitForLog((log) => typeof log.msg === 'string' && log.msg.includes('holds credentials'), 'the permission warning');
      expect(warning.level).toBe(40);
      expect(daemon.stdout).not.toContain(SECRET);
    } finally {
      await daemon.kill();
    }
  });
});

describe('an API endpoint in clear text', () => {
  it('is warned about by check when it is http: to another machine, and not on loopback', async () => {
    const file = join(dir, 'http-endpoint.yaml');
    await writeFile(file, configWith('http://ssm.example.internal:8080'), { mode: 0o600 });
    const result = await runCli(['check', '--config', file]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Warning: endpoint http://ssm.example.internal:8080 is plain http to another machine');
    const loopback = join(dir, 'loopback-endpoint.yaml');
    await writeFile(loopback, configWith('http://127.0.0.1:8080'), { mode: 0o600 });
    expect((await runCli(['check', '--config', loopback])).stdout).not.toContain('Warning');
  });
});

describe('a YAML syntax error', () => {
  it('names the line and the kind of error without quoting any of the secret', () => {
    const text = ['defaults:', '  credentials:', '    accessKeyId: AKIAIOSFODNN7EXAMPLE', `    secretAccessKey: "wJalr\\xZZtnFEMI"`, 'tunnels: []', ''].join('\n');
    const result = parseConfig(text, 'tunnels.yaml');
    if (!('errors' in result)) throw new Error('the config was accepted');
    const messages = result.errors.map((error) => error.message).join('\n');
    expect(result.errors[0]).toMatchObject({ line: 4, message: expect.stringMatching(/^invalid YAML: invalid escape sequence/) as unknown });
    expect(messages).not.toContain('ZZ');
    expect(messages).not.toContain('wJalr');
  });
});
