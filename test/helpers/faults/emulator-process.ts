import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { REPO_ROOT } from './paths.js';

/*
 * `ssm-tunnel emulator` as a child process, for the fault that kills it: SIGKILL, then a new one on
 * the same port. The built CLI is used (`npm run build` first), from the source tree and from dist.
 */

const CLI_PATH = fileURLToPath(new URL('dist/cli/ssm-tunnel.js', REPO_ROOT));
const START_TIMEOUT_MS = 20_000;

/** Emulators must not outlive the process that started them, however it ends. */
const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export interface EmulatorProcessOptions {
  target: string;
  agentVersion: string;
  /** 0 for the first start; the same port again for a restart. */
  port: number;
}

export interface EmulatorProcess {
  readonly endpoint: string;
  readonly port: number;
  readonly region: string;
  readonly credentials: { accessKeyId: string; secretAccessKey: string };
  /** SIGKILL: no channel_closed, no close frames; the sockets just die. */
  kill(): Promise<void>;
  /** SIGTERM, the clean way. */
  stop(): Promise<void>;
}

/** An environment without the caller's AWS settings. */
export function isolatedEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('AWS_')) env[key] = value;
  return { ...env, AWS_EC2_METADATA_DISABLED: 'true', AWS_CONFIG_FILE: '/nonexistent', AWS_SHARED_CREDENTIALS_FILE: '/nonexistent' };
}

export async function startEmulatorProcess(options: EmulatorProcessOptions): Promise<EmulatorProcess> {
  if (!existsSync(CLI_PATH)) throw new Error(`${CLI_PATH} does not exist: run \`npm run build\` first`);
  const args = [
    CLI_PATH,
    'emulator',
    '--port',
    String(options.port),
    '--host',
    '127.0.0.1',
    '--target',
    `${options.target}=127.0.0.1`,
    '--agent-version',
    options.agentVersion,
    '--no-pacing',
    // A restarted emulator must accept the keys the client already holds, so not a per-run secret.
    '--fixed-credentials',
    '--log-level',
    'warn',
  ];
  const child = spawn(process.execPath, args, { env: isolatedEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  child.once('exit', () => running.delete(child));
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-4000);
  });
  try {
    return await new Promise<EmulatorProcess>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the emulator did not start within ${START_TIMEOUT_MS} ms:\n${stderr}`)), START_TIMEOUT_MS);
      child.stdout.on('data', (chunk: string) => {
        stdout += chunk;
        const listening = /SSM emulator listening on (\S+) \(region (\S+),/.exec(stdout);
        const accessKeyId = /AWS_ACCESS_KEY_ID=(\S+)/.exec(stdout);
        const secretAccessKey = /AWS_SECRET_ACCESS_KEY='([^']+)'/.exec(stdout);
        if (listening === null || accessKeyId === null || secretAccessKey === null) return;
        clearTimeout(timer);
        const endpoint = listening[1]!;
        resolve({
          endpoint,
          port: Number(new URL(endpoint).port),
          region: listening[2]!,
          credentials: { accessKeyId: accessKeyId[1]!, secretAccessKey: secretAccessKey[1]! },
          kill: () => end(child, 'SIGKILL'),
          stop: () => end(child, 'SIGTERM'),
        });
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`the emulator exited (${signal ?? `code ${code}`}) before it was ready:\n${stderr}`));
      });
    });
  } catch (error) {
    await end(child, 'SIGKILL');
    throw error;
  }
}

async function end(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}
