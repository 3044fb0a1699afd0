import { fork, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChildReply, ChildRequest, ClientChildConfig, ProcessUsage } from './child-protocol.js';
import { withTimeout } from './load.js';

/*
 * The benchmark's child processes: the emulator (the real `ssm-tunnel emulator` command) and the
 * client (bench/client-child.ts). Every child is registered so that killAll() can end those still
 * running, whatever happened to the driver.
 */

/** The CLI users run (the bundle `npm run build` writes), not a copy compiled with the benchmark. */
export const CLI_PATH = fileURLToPath(new URL('../../cli/ssm-tunnel.js', import.meta.url));
const CLIENT_CHILD_PATH = fileURLToPath(new URL('./client-child.js', import.meta.url));
const START_TIMEOUT_MS = 30_000;
const EXIT_TIMEOUT_MS = 15_000;
/** What the emulator's agent calls "localhost"; any port on it may be forwarded. */
export const BENCH_TARGET = 'i-0123456789abcdef0';

const running = new Set<ChildProcess>();

/** SIGKILLs every child still running; safe to call from an 'exit' handler. */
export function killAll(): void {
  for (const child of running) child.kill('SIGKILL');
  running.clear();
}

function track(child: ChildProcess): ChildProcess {
  running.add(child);
  child.once('exit', () => running.delete(child));
  return child;
}

/** Ends a child with `signal` (or lets it finish), SIGKILL after a grace period; resolves once it exited. */
async function stopChild(child: ChildProcess, signal: NodeJS.Signals | undefined): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  if (signal !== undefined) child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), EXIT_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}

/** An environment without the caller's AWS settings, so nothing but the emulator can be reached. */
function isolatedEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('AWS_')) env[key] = value;
  return {
    ...env,
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_CONFIG_FILE: '/nonexistent',
    AWS_SHARED_CREDENTIALS_FILE: '/nonexistent',
    // The SDK's Node 20 notice would land in the middle of the report; the CLI silences it too.
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    ...extra,
  };
}

/** Each process writes its profile into its own folder under `profileDir`, named after its role. */
function profileFlags(profileDir: string | undefined, name: string): string[] {
  return profileDir === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', join(profileDir, name)];
}

export interface EmulatorProcess {
  endpoint: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  /** User + system CPU seconds the emulator used so far; undefined where /proc is not available. */
  cpuSeconds(): number | undefined;
  stop(): Promise<void>;
}

/** Linux reports a process's CPU time in /proc/PID/stat, in clock ticks of 1/100 s (USER_HZ). */
const CLOCK_TICKS_PER_SECOND = 100;

function procCpuSeconds(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name: state is field 3, utime 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

/** Starts `ssm-tunnel emulator` on a free loopback port and reads its endpoint and keys from what it prints. */
export async function startEmulatorProcess(options: { pacing: boolean; profileDir: string | undefined; profileName: string }): Promise<EmulatorProcess> {
  if (!existsSync(CLI_PATH)) throw new Error(`${CLI_PATH} does not exist: run \`npm run build\` first`);
  const args = [
    ...profileFlags(options.profileDir, options.profileName),
    CLI_PATH,
    'emulator',
    '--port',
    '0',
    '--host',
    '127.0.0.1',
    '--target',
    `${BENCH_TARGET}=127.0.0.1`,
    options.pacing ? '--pacing' : '--no-pacing',
    '--log-level',
    'warn',
  ];
  const child = track(spawn(process.execPath, args, { env: isolatedEnv({}), stdio: ['ignore', 'pipe', 'pipe'] }));
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8');
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => {
    // Keep only the tail: it is shown if the emulator fails.
    stderr = (stderr + chunk).slice(-4000);
  });
  const started = new Promise<EmulatorProcess>((resolve, reject) => {
    child.stdout!.on('data', (chunk: string) => {
      stdout += chunk;
      const endpoint = /SSM emulator listening on (\S+) \(region (\S+),/.exec(stdout);
      const accessKeyId = /AWS_ACCESS_KEY_ID=(\S+)/.exec(stdout);
      const secretAccessKey = /AWS_SECRET_ACCESS_KEY='([^']+)'/.exec(stdout);
      if (endpoint === null || accessKeyId === null || secretAccessKey === null) return;
      resolve({
        endpoint: endpoint[1]!,
        region: endpoint[2]!,
        credentials: { accessKeyId: accessKeyId[1]!, secretAccessKey: secretAccessKey[1]! },
        cpuSeconds: () => procCpuSeconds(child.pid),
        stop: () => stopChild(child, 'SIGTERM'),
      });
    });
    child.once('exit', (code, signal) => reject(new Error(`the emulator exited (${signal ?? `code ${code}`}) before it was ready:\n${stderr}${stdout}`)));
    child.once('error', reject);
  });
  try {
    return await withTimeout(started, START_TIMEOUT_MS, 'starting the emulator');
  } catch (error) {
    await stopChild(child, 'SIGKILL');
    throw error;
  }
}

export interface ClientProcess {
  localPort: number;
  /** CPU time and memory of the client process; `gc` collects garbage first (for heap figures). */
  usage(gc: boolean): Promise<ProcessUsage>;
  stop(): Promise<void>;
}

/** Forks bench/client-child.ts with one tunnel to `remotePort` through the emulator. */
export async function startClientProcess(config: ClientChildConfig, profile: { dir: string | undefined; name: string }): Promise<ClientProcess> {
  const child = track(
    fork(CLIENT_CHILD_PATH, [], {
      execArgv: ['--expose-gc', ...profileFlags(profile.dir, profile.name)],
      env: isolatedEnv({ BENCH_CLIENT_CONFIG: JSON.stringify(config) }),
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    }),
  );
  const exitedEarly = new Promise<never>((_, reject) => {
    child.once('exit', (code, signal) => reject(new Error(`the client process exited (${signal ?? `code ${code}`})`)));
  });
  exitedEarly.catch(() => undefined);
  const nextReply = <T extends ChildReply['type']>(type: T, what: string): Promise<Extract<ChildReply, { type: T }>> =>
    withTimeout(
      Promise.race([
        exitedEarly,
        new Promise<Extract<ChildReply, { type: T }>>((resolve, reject) => {
          const onMessage = (message: ChildReply): void => {
            if (message.type === 'error') reject(new Error(message.message));
            else if (message.type !== type) return;
            else resolve(message as Extract<ChildReply, { type: T }>);
            child.off('message', onMessage);
          };
          child.on('message', onMessage);
        }),
      ]),
      START_TIMEOUT_MS,
      what,
    );
  const send = (request: ChildRequest): void => {
    child.send(request);
  };
  try {
    const ready = await nextReply('ready', 'opening the client tunnel');
    return {
      localPort: ready.localPort,
      usage: async (gc) => {
        const reply = nextReply('usage', 'reading the client process usage');
        send({ type: 'usage', gc });
        const { cpu, memory, openConnections } = await reply;
        return { cpu, memory, openConnections };
      },
      stop: async () => {
        if (child.connected) send({ type: 'close' });
        await stopChild(child, undefined);
      },
    };
  } catch (error) {
    await stopChild(child, 'SIGKILL');
    throw error;
  }
}
