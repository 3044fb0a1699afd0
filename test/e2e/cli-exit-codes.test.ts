/*
 * The CLI's exit statuses: documented in --help, and an unhandled rejection is never silent.
 * Needs `npm run build`.
 */
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { EXIT_STATUS_HELP, ExitCode } from '../../src/cli/exit-codes.js';
import { CLI_PATH, runCli } from '../helpers/cli.js';

describe('CLI exit statuses', () => {
  it('are listed in --help, one line per status', async () => {
    const help = await runCli(['--help']);
    expect(help.code).toBe(ExitCode.OK);
    expect(help.stdout).toContain(EXIT_STATUS_HELP);
    for (const code of Object.values(ExitCode)) expect(help.stdout).toMatch(new RegExp(`^  ${code}\\s`, 'm'));
  });

  it('exits with INTERNAL (70), naming the error, when a rejection goes unhandled', async () => {
    // A rejection planted in a command that would otherwise keep running: once the emulator
    // prints its banner (it is up), a promise rejects with nobody listening.
    const plant =
      'data:text/javascript,const write = process.stdout.write.bind(process.stdout);' +
      "process.stdout.write = (...args) => { void Promise.reject(new Error('planted rejection')); process.stdout.write = write; return write(...args); };";
    const child = spawn(process.execPath, ['--import', plant, CLI_PATH, 'emulator', '--port', '0'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const code = await new Promise<number | null>((resolve) => child.once('close', (exitCode) => resolve(exitCode)));
    expect(code).toBe(ExitCode.INTERNAL);
    expect(stderr).toContain('internal error (unhandled rejection): Error: planted rejection');
  });
});
