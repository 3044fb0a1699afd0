/*
 * Runs the built CLI (`npm run build` first: the bundle in dist/cli) as a child process, the way users and systemd do,
 * and captures what it prints.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { waitFor } from './wait.js';

export const CLI_PATH = fileURLToPath(new URL('../../dist/cli/ssm-tunnel.js', import.meta.url));

export interface CliExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface CliProcess {
  readonly child: ChildProcess;
  readonly stdout: string;
  readonly stderr: string;
  /** stdout lines that are JSON objects (the daemon's pino logs), parsed. */
  readonly logs: Record<string, unknown>[];
  readonly exited: Promise<CliExit>;
  /** Resolves with the first JSON log line matching `predicate`; fails naming `what`. */
  waitForLog(predicate: (log: Record<string, unknown>) => boolean, what: string, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** Sends SIGKILL if the process is still running (test cleanup). */
  kill(): Promise<void>;
}

/**
 * An environment without the caller's AWS settings, so that nothing but what a test configures
 * (the emulator's endpoint and keys) can be used, and no instance metadata is probed.
 */
export function isolatedEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('AWS_')) env[key] = value;
  return { ...env, AWS_EC2_METADATA_DISABLED: 'true', AWS_CONFIG_FILE: '/nonexistent', AWS_SHARED_CREDENTIALS_FILE: '/nonexistent', ...extra };
}

export function spawnCli(args: string[], options: { env?: Record<string, string>; cwd?: string } = {}): CliProcess {
  if (!existsSync(CLI_PATH)) throw new Error(`${CLI_PATH} does not exist: run \`npm run build\` before the end-to-end tests`);
  const child = spawn(process.execPath, [CLI_PATH, ...args], {
    cwd: options.cwd,
    env: isolatedEnv(options.env ?? {}),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const logs: Record<string, unknown>[] = [];
  let partial = '';
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    stdout += chunk;
    partial += chunk;
    const lines = partial.split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      if (!line.startsWith('{')) continue;
      try {
        logs.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        // Not a log line; it stays in `stdout`.
      }
    }
  });
  child.stderr.on('data', (chunk: string) => {
    stderr += chunk;
  });
  // 'close' comes after the output pipes are drained, unlike 'exit'.
  const exited = new Promise<CliExit>((resolve) => child.once('close', (code, signal) => resolve({ code, signal })));
  let running = true;
  void exited.then(() => (running = false));
  return {
    child,
    get stdout() {
      return stdout;
    },
    get stderr() {
      return stderr;
    },
    logs,
    exited,
    async waitForLog(predicate, what, timeoutMs = 20_000) {
      await waitFor(
        () => {
          if (logs.some(predicate)) return true;
          if (!running) throw new Error(`the CLI exited before logging ${what}; stderr:\n${stderr}\nstdout:\n${stdout}`);
          return false;
        },
        what,
        timeoutMs,
      );
      return logs.find(predicate)!;
    },
    async kill() {
      if (!running) return;
      child.kill('SIGKILL');
      await exited;
    },
  };
}

/** Runs the CLI to completion. */
export async function runCli(args: string[], options: { env?: Record<string, string>; cwd?: string } = {}): Promise<CliExit & { stdout: string; stderr: string }> {
  const cli = spawnCli(args, options);
  const exit = await cli.exited;
  return { ...exit, stdout: cli.stdout, stderr: cli.stderr };
}
