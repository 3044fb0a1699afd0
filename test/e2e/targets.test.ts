import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmulator, type Emulator } from '../../src/emulator/index.js';
import { CLI_PATH, runCli } from '../helpers/cli.js';
import { startTerminal, tmuxTool, type TerminalSession } from '../helpers/tmux.js';

/*
 * `ssm-tunnel targets`, the errors a person can act on, and shell completion, against an emulator
 * with several named nodes on different platforms, agents and ping statuses.
 */

const WEB = 'i-0aaa0000000000001';
const DB = 'i-0bbb0000000000002';
const LAB = 'mi-0ccc000000000003';
const LAST_PING = new Date('2026-11-30T08:00:00.000Z');

let emulator: Emulator;
let home: string;

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'ssm-tunnel-home-'));
  emulator = await startEmulator({
    pacing: false,
    targets: {
      [WEB]: { tags: { Name: 'web-1', env: 'prod' } },
      [DB]: { tags: { Name: 'db-1', env: 'prod' }, agentVersion: '3.0.0.0' },
      [LAB]: {
        tags: { Name: 'lab', env: 'dev' },
        pingStatus: 'ConnectionLost',
        lastPingAt: LAST_PING,
        platform: { type: 'Windows', name: 'Microsoft Windows Server 2022 Datacenter', version: '10.0.20348' },
      },
    },
  });
});

afterAll(async () => {
  await emulator.close();
  await rm(home, { recursive: true, force: true, maxRetries: 3 });
});

afterEach(() => {
  emulator.setDeniedActions([]);
  emulator.setCredentialsExpired(false);
});

function keys(extra: Record<string, string> = {}): Record<string, string> {
  return { AWS_ACCESS_KEY_ID: emulator.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: emulator.credentials.secretAccessKey, HOME: home, XDG_CACHE_HOME: join(home, 'cache'), ...extra };
}

function at(): string[] {
  return ['--endpoint', emulator.endpoint, '--region', emulator.region];
}

describe('ssm-tunnel targets', () => {
  it('lists every node as a table: id, Name tag, platform, ping status, agent version, multiplexing, last ping', async () => {
    const { code, stdout } = await runCli(['targets', ...at()], { env: keys() });
    expect(code).toBe(0);
    const lines = stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID +NAME +PLATFORM +PING +AGENT +MUX +LAST PING$/);
    expect(lines[1]).toMatch(new RegExp(`^${WEB} +web-1 +Amazon Linux 2023 +Online +3\\.3\\.1142\\.0 +yes +\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\dZ$`));
    expect(lines[2]).toMatch(new RegExp(`^${DB} +db-1 +Amazon Linux 2023 +Online +3\\.0\\.0\\.0 +no `));
    expect(lines[3]).toMatch(new RegExp(`^${LAB} +lab +Microsoft Windows Server 2022 Datacenter 10\\.0\\.20348 +ConnectionLost .* 2026-11-30 08:00:00Z$`));
    expect(lines).toHaveLength(4);
  });

  it('filters by tag and by name, and prints JSON with --json', async () => {
    const prod = await runCli(['targets', '--tag', 'env=prod', '--json', ...at()], { env: keys() });
    expect(prod.code).toBe(0);
    const nodes = JSON.parse(prod.stdout) as { id: string; name: string; supportsMux: boolean; pingStatus: string; agentVersion: string }[];
    expect(nodes.map((node) => [node.id, node.name, node.supportsMux])).toEqual([
      [WEB, 'web-1', true],
      [DB, 'db-1', false],
    ]);
    const lab = await runCli(['targets', '--name', 'lab', '--json', ...at()], { env: keys() });
    expect(JSON.parse(lab.stdout)).toEqual([
      {
        id: LAB,
        name: 'lab',
        pingStatus: 'ConnectionLost',
        platformType: 'Windows',
        platformName: 'Microsoft Windows Server 2022 Datacenter 10.0.20348',
        agentVersion: '3.3.1142.0',
        supportsMux: true,
        lastPingAt: LAST_PING.toISOString(),
      },
    ]);
  });

  it('still lists the nodes without names when ssm:DescribeInstanceProperties is denied, and says why', async () => {
    emulator.setDeniedActions(['ssm:DescribeInstanceProperties']);
    const { code, stdout, stderr } = await runCli(['targets', ...at()], { env: keys() });
    expect(code).toBe(0);
    expect(stdout).toMatch(new RegExp(`^${WEB} +- +Amazon Linux 2023 +Online`, 'm'));
    expect(stderr).toContain('Name tags need ssm:DescribeInstanceProperties, which is not allowed here');
  });
});

describe('errors a person can act on', () => {
  it('says how to set a region when none is set', async () => {
    const { code, stderr } = await runCli(['open', '--target', WEB, '--remote-port', '22', '--endpoint', emulator.endpoint], { env: keys() });
    expect(code).toBe(1);
    expect(stderr).toBe('ssm-tunnel: no AWS region is set: pass --region, set AWS_REGION, or set region in ~/.aws/config\n');
  });

  it('says what to check when the node is not connected, with its ping status and last ping', async () => {
    const { code, stderr } = await runCli(['open', '--target', LAB, '--remote-port', '22', '--log-level', 'silent', ...at()], { env: keys() });
    expect(code).toBe(1);
    expect(stderr).toContain(`ssm-tunnel: ${LAB} is not connected to Session Manager (TargetNotConnected): its ping status is ConnectionLost, last ping ${LAST_PING.toISOString()}.`);
    expect(stderr).toContain('Check that the SSM agent runs on the node and that it shows Online in `ssm-tunnel targets`; a node without internet access needs VPC endpoints for ssm, ssmmessages and ec2messages.');
  });

  it('gives the same advice without the ping status when DescribeInstanceInformation is denied', async () => {
    emulator.setDeniedActions(['ssm:DescribeInstanceInformation']);
    const { code, stderr } = await runCli(['open', '--target', LAB, '--remote-port', '22', '--log-level', 'silent', ...at()], { env: keys() });
    expect(code).toBe(1);
    expect(stderr).toContain(`ssm-tunnel: ${LAB} is not connected to Session Manager (TargetNotConnected).\nCheck that the SSM agent runs`);
  });

  it('says to log in again when the credentials have expired', async () => {
    emulator.setCredentialsExpired(true);
    const { code, stderr } = await runCli(['open', '--target', WEB, '--remote-port', '22', '--log-level', 'silent', ...at()], { env: keys() });
    expect(code).toBe(1);
    expect(stderr).toBe(
      'ssm-tunnel: the AWS credentials have expired (ExpiredTokenException); for an SSO profile run: aws sso login --profile default; ' +
        'otherwise get new keys (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN)\n',
    );
  });

  describe('with an SSO profile whose token has expired', () => {
    const startUrl = 'https://example.awsapps.com/start';

    beforeAll(async () => {
      const config = [
        '[profile legacy]',
        `sso_start_url = ${startUrl}`,
        'sso_region = us-east-1',
        'sso_account_id = 123456789012',
        'sso_role_name = Admin',
        'region = us-east-1',
        '',
        '[profile dev]',
        'sso_session = corp',
        'sso_account_id = 123456789012',
        'sso_role_name = Admin',
        'region = us-east-1',
        '',
        '[sso-session corp]',
        `sso_start_url = ${startUrl}`,
        'sso_region = us-east-1',
        '',
      ].join('\n');
      await writeFile(join(home, 'config'), config);
      const cache = join(home, '.aws', 'sso', 'cache');
      await mkdir(cache, { recursive: true });
      // The AWS CLI names its token cache after the SHA-1 of the session name (or, for legacy profiles, of the start URL).
      const token = JSON.stringify({ accessToken: 'expired', expiresAt: '2020-01-01T00:00:00Z', region: 'us-east-1', startUrl });
      for (const key of ['corp', startUrl]) await writeFile(join(cache, `${createHash('sha1').update(key).digest('hex')}.json`), token);
    });

    it.each(['legacy', 'dev'])('names the profile (%s) and the login command', async (profile) => {
      const env = { AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '', HOME: home, AWS_CONFIG_FILE: join(home, 'config') };
      const listed = await runCli(['targets', '--profile', profile, '--endpoint', emulator.endpoint], { env: withoutKeys(env) });
      expect(listed.code).toBe(1);
      expect(listed.stderr).toBe(`ssm-tunnel: the SSO session for profile ${profile} has expired; run: aws sso login --profile ${profile}\n`);
      const opened = await runCli(['open', '--target', WEB, '--remote-port', '22', '--log-level', 'silent', '--endpoint', emulator.endpoint], { env: withoutKeys({ ...env, AWS_PROFILE: profile }) });
      expect(opened.code).toBe(1);
      expect(opened.stderr).toBe(`ssm-tunnel: the SSO session for profile ${profile} has expired; run: aws sso login --profile ${profile}\n`);
    });
  });
});

/** An SSO test must not find the emulator's keys: drop the empty placeholders. */
function withoutKeys(env: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter(([, value]) => value !== ''));
}

describe('shell completion', () => {
  it('prints a bash script, and a zsh script when the shell is zsh', async () => {
    const bash = await runCli(['completion'], { env: { SHELL: '/bin/bash' } });
    expect(bash.stdout).toContain('complete -o bashdefault -o default -F _ssm-tunnel_yargs_completions ssm-tunnel');
    const zsh = await runCli(['completion'], { env: { SHELL: '/usr/bin/zsh' } });
    expect(zsh.stdout).toMatch(/^#compdef ssm-tunnel/);
  });

  it('completes --target from the last lookup, and offers nothing before one', async () => {
    const cacheHome = await mkdtemp(join(tmpdir(), 'ssm-tunnel-xdg-'));
    try {
      const env = keys({ XDG_CACHE_HOME: cacheHome });
      const before = await runCli(['--get-yargs-completions', 'ssm-tunnel', 'open', '--target', ''], { env });
      expect(before.stdout).toBe('');
      expect((await runCli(['targets', ...at()], { env })).code).toBe(0);
      const all = await runCli(['--get-yargs-completions', 'ssm-tunnel', 'open', '--target', ''], { env });
      expect(all.stdout.trim().split('\n')).toEqual([WEB, 'name:web-1', DB, 'name:db-1', LAB, 'name:lab']);
      const some = await runCli(['--get-yargs-completions', 'ssm-tunnel', 'open', '--remote-port', '22', '--target', 'name:d'], { env });
      expect(some.stdout.trim()).toBe('name:db-1');
    } finally {
      await rm(cacheHome, { recursive: true, force: true });
    }
  });

  describe.skipIf(tmuxTool.skipReason !== undefined)('in bash', () => {
    let terminal: TerminalSession | undefined;
    let bin: string;

    afterEach(async () => {
      await terminal?.close();
      await rm(bin, { recursive: true, force: true });
    });

    it('completes the command and a target id on Tab', async () => {
      bin = await mkdtemp(join(tmpdir(), 'ssm-tunnel-bin-'));
      await writeFile(join(bin, 'ssm-tunnel'), `#!/bin/sh\nexec '${process.execPath}' '${CLI_PATH}' "$@"\n`, { mode: 0o755 });
      // No history file: bash would write it into HOME as the terminal closes.
      const env = keys({ PATH: `${bin}:${process.env.PATH ?? ''}`, PS1: '$ ', HISTFILE: '/dev/null' });
      expect((await runCli(['targets', ...at()], { env })).code).toBe(0);
      terminal = await startTerminal('exec bash --norc --noprofile', { env });
      await terminal.type('source <(ssm-tunnel completion)');
      await terminal.sendKeys('Enter');
      await terminal.type('ssm-tunnel targ');
      await terminal.sendKeys('Tab');
      await terminal.waitForScreen((s) => s.includes('ssm-tunnel targets'), 'the command completed');
      await terminal.sendKeys('C-u');
      await terminal.type('ssm-tunnel open --target i-0b');
      await terminal.sendKeys('Tab');
      await terminal.waitForScreen((s) => s.includes(`ssm-tunnel open --target ${DB}`), 'the target id completed');
    });
  });
});
