import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/*
 * Keeps `npm run bench` from rotting: the built benchmark runs a quick pass of two scenarios
 * (direct TCP and the tunnel through the emulator, each in its own process) and must print and
 * write its table. Figures are not checked: timing belongs to the benchmark, not to tests.
 */

const BENCH_MAIN = fileURLToPath(new URL('../../dist/bench/bench/main.js', import.meta.url));

function runBench(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BENCH_MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), 50_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('npm run bench', () => {
  it('runs a quick latency and idle-connections pass and prints and writes the table', async () => {
    if (!existsSync(BENCH_MAIN)) throw new Error(`${BENCH_MAIN} does not exist: run \`npm run build\` first`);
    const dir = mkdtempSync(join(tmpdir(), 'bench-smoke-'));
    try {
      const out = join(dir, 'results.md');
      const { code, stdout, stderr } = await runBench([
        'latency',
        'idle',
        '--quick',
        '--rows',
        'direct,unpaced',
        '--round-trips',
        '50',
        '--idle-connections',
        '20',
        '--out',
        out,
      ]);
      expect(code, stderr).toBe(0);
      const header = stdout.split('\n').find((line) => line.startsWith('| row |'));
      expect(header).toContain('ping-pong p50');
      expect(header).toContain('20 idle connections: client RSS MB, before → after');
      expect(stdout).toMatch(/^\| direct TCP \| [\d,]+ µs \|/m);
      expect(stdout).toMatch(/^\| ssm-tunnel, emulator unpaced \| [\d,]+ µs \([\d.,]+×\) \|/m);
      expect(stdout).toContain('Machine: ');
      expect(readFileSync(out, 'utf8')).toBe(stdout);
      expect(JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8'))).toHaveProperty('results');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('names an unknown scenario and exits 2', async () => {
    const { code, stderr } = await runBench(['no-such-scenario']);
    expect(code).toBe(2);
    expect(stderr).toContain('unknown no-such-scenario');
  });
});
