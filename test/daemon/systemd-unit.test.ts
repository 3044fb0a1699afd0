import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { optionalTool } from '../helpers/tools.js';

const run = promisify(execFile);
const systemdAnalyze = optionalTool('systemd-analyze', 'apt-get install systemd');
const root = fileURLToPath(new URL('../../', import.meta.url));

describe('systemd/ssm-tunnel.service', () => {
  it.skipIf(systemdAnalyze.skipReason !== undefined)('passes systemd-analyze verify and its offline security review (.ci/verify-systemd.sh)', async () => {
    const { stdout } = await run('sh', ['.ci/verify-systemd.sh'], { cwd: root });
    expect(stdout).toMatch(/verify-systemd: systemd\/ssm-tunnel.service OK/);
  });

  it('runs the daemon on the documented config, reloads with SIGHUP after a check, and keeps hardening on', async () => {
    const unit = await readFile(`${root}systemd/ssm-tunnel.service`, 'utf8');
    const settings = new Map(unit.split('\n').filter((l) => /^[A-Za-z]+=/.test(l)).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
    expect(settings.get('ExecStart')).toMatch(/ssm-tunnel up --config \/etc\/ssm-tunnel\/tunnels\.yaml$/);
    expect(unit).toMatch(/^ExecReload=.*kill -HUP \$MAINPID/m);
    expect(settings.get('Restart')).toBe('on-failure');
    for (const key of ['NoNewPrivileges', 'PrivateTmp']) expect(settings.get(key)).toBe('yes');
    expect(settings.get('ProtectSystem')).toBe('strict');
    expect(settings.get('ProtectHome')).toBe('read-only');
    expect(settings.get('User')).toBe('ssm-tunnel');
  });
});
