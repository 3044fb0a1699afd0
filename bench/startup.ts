import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { loadavg } from 'node:os';
import { startEmulator, type Emulator } from '../src/emulator/index.js';
import { CLI_PATH } from './processes.js';

/*
 * Startup time: how long a command takes from exec until it is useful (it exited, or printed the
 * line that says it is ready), as the median of several cold runs, and as a ratio to a bare
 * `node -e 0` measured in the same run. ssh may run `ssm-tunnel` on every connection, so this is
 * paid again and again. The rows are run round-robin, one of each per round, so that whatever
 * else the machine is doing slows all of them alike.
 */

/** Debian's `awscli` package: the official CLI's own start-up, a floor for `aws ssm start-session`. */
const DEBIAN_AWS_CLI = '/usr/bin/aws';
const TARGET = 'i-0123456789abcdef0';
const RUN_TIMEOUT_MS = 30_000;
const DEFAULT_ROUNDS = 15;
const QUICK_ROUNDS = 3;

/** What a row's process is run against: the emulator started by this process, and a destination. */
interface StartupContext {
  emulator: Emulator;
  destinationPort: number;
}

interface Launch {
  file: string;
  args: string[];
  env?: Record<string, string>;
  /** A stdout line that means "ready": the run is timed to it, and the process is then ended. Otherwise to exit. */
  readyLine?: string;
}

interface StartupRow {
  label: string;
  /** The most this row may take, as a multiple of bare node; undefined: measured, no target. */
  targetRatio?: number;
  /** Why the row cannot run here, or undefined when it can. */
  unavailable?: () => string | undefined;
  launch: (context: StartupContext) => Launch;
}

const BARE_NODE: StartupRow = { label: 'bare `node -e 0`', launch: () => ({ file: process.execPath, args: ['-e', '0'] }) };

/** What the destination sends first, as sshd sends its version line: `proxy` is ready when it prints it. */
const DESTINATION_GREETING = 'SSH-2.0-startup-bench';

/**
 * The measured rows after bare node. A new command gets a row here: how to start it, and the
 * stdout line that says it is ready when it does not exit by itself.
 */
const ROWS: StartupRow[] = [
  { label: '`ssm-tunnel --version`', targetRatio: 2, launch: () => ({ file: process.execPath, args: [CLI_PATH, '--version'] }) },
  { label: '`ssm-tunnel --help`', targetRatio: 2, launch: () => ({ file: process.execPath, args: [CLI_PATH, '--help'] }) },
  {
    label: '`ssm-tunnel open` against the emulator, exec to "Waiting for connections"',
    targetRatio: 3.5,
    launch: ({ emulator, destinationPort }) => ({
      file: process.execPath,
      args: [CLI_PATH, 'open', '--endpoint', emulator.endpoint, '--region', emulator.region, '--target', TARGET, '--remote-port', String(destinationPort), '--log-level', 'warn'],
      env: { AWS_ACCESS_KEY_ID: emulator.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: emulator.credentials.secretAccessKey },
      readyLine: 'Waiting for connections',
    }),
  },
  {
    label: '`ssm-tunnel proxy` (ssh ProxyCommand) against the emulator, exec to the first byte from the destination',
    targetRatio: 3.5,
    launch: ({ emulator, destinationPort }) => ({
      file: process.execPath,
      args: [CLI_PATH, 'proxy', TARGET, String(destinationPort), '--endpoint', emulator.endpoint, '--region', emulator.region],
      env: { AWS_ACCESS_KEY_ID: emulator.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: emulator.credentials.secretAccessKey },
      readyLine: DESTINATION_GREETING,
    }),
  },
  {
    label: "Debian's `aws --version` (awscli package, for comparison)",
    unavailable: () => (existsSync(DEBIAN_AWS_CLI) ? undefined : `${DEBIAN_AWS_CLI} is not installed (Debian package awscli)`),
    launch: () => ({ file: DEBIAN_AWS_CLI, args: ['--version'] }),
  },
];

/** An environment without the caller's AWS settings: nothing but the emulator can be reached, no metadata probed. */
function isolatedEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('AWS_')) env[key] = value;
  return { ...env, AWS_EC2_METADATA_DISABLED: 'true', AWS_CONFIG_FILE: '/nonexistent', AWS_SHARED_CREDENTIALS_FILE: '/nonexistent', ...extra };
}

/** Milliseconds from spawn to exit (or to the ready line, after which the process is killed and reaped). */
function timeLaunch(launch: Launch): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    // stdin stays open (and silent) until the end, as ssh keeps a ProxyCommand's.
    const child = spawn(launch.file, launch.args, { env: isolatedEnv(launch.env ?? {}), stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let readyMs: number | undefined;
    const timer = setTimeout(() => child.kill('SIGKILL'), RUN_TIMEOUT_MS);
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      stdout += chunk;
      if (readyMs === undefined && launch.readyLine !== undefined && stdout.includes(launch.readyLine)) {
        readyMs = Number(process.hrtime.bigint() - started) / 1e6;
        child.kill('SIGKILL');
      }
    });
    child.stderr.on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-2000)));
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      const exitMs = Number(process.hrtime.bigint() - started) / 1e6;
      clearTimeout(timer);
      if (launch.readyLine !== undefined) {
        if (readyMs !== undefined) resolve(readyMs);
        else reject(new Error(`${launch.args.join(' ')} exited (${signal ?? `code ${code}`}) before printing "${launch.readyLine}":\n${stderr}${stdout}`));
      } else if (code === 0) resolve(exitMs);
      else reject(new Error(`${launch.file} ${launch.args.join(' ')} failed (${signal ?? `code ${code}`}):\n${stderr}`));
    });
  });
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

export interface StartupResult {
  label: string;
  targetRatio?: number;
  /** Milliseconds of each timed run; empty when the row could not run. */
  runsMs: number[];
  unavailable?: string;
}

async function startDestination(): Promise<Server> {
  const server = createServer((socket) => socket.end(`${DESTINATION_GREETING}\r\n`));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

/** Bare node first, then every row; one untimed round first so that every file is in the page cache. */
export async function measureStartup(rounds: number): Promise<StartupResult[]> {
  if (!existsSync(CLI_PATH)) throw new Error(`${CLI_PATH} does not exist: run \`npm run build\` first`);
  const destination = await startDestination();
  // Paced like the real agent: the handshake's messages take what they take on AWS.
  const emulator = await startEmulator({ targets: { [TARGET]: {} }, pacing: true });
  try {
    const context: StartupContext = { emulator, destinationPort: (destination.address() as AddressInfo).port };
    const rows = [BARE_NODE, ...ROWS].map((row) => ({ row, unavailable: row.unavailable?.(), runsMs: [] as number[] }));
    for (let round = 0; round <= rounds; round += 1) {
      process.stderr.write(`[startup] round ${round === 0 ? 'warm-up' : `${round}/${rounds}`}\n`);
      for (const entry of rows) {
        if (entry.unavailable !== undefined) continue;
        const ms = await timeLaunch(entry.row.launch(context));
        if (round > 0) entry.runsMs.push(ms);
      }
    }
    return rows.map(({ row, unavailable, runsMs }) => ({
      label: row.label,
      runsMs,
      ...(row.targetRatio === undefined ? {} : { targetRatio: row.targetRatio }),
      ...(unavailable === undefined ? {} : { unavailable }),
    }));
  } finally {
    await emulator.close();
    await new Promise<void>((resolve) => destination.close(() => resolve()));
  }
}

const ms = (value: number): string => `${Math.round(value)} ms`;
const times = (value: number): string => `${value.toFixed(2)}×`;

export function renderStartup(results: StartupResult[], rounds: number, loadAverage: number): string {
  const bareRuns = results[0]!.runsMs;
  const lines = ['| command | median | min – max | × bare node | target | |', '|---|---:|---:|---:|---:|---|'];
  for (const result of results) {
    if (result.unavailable !== undefined) {
      lines.push(`| ${result.label} | not run: ${result.unavailable} | | | | |`);
      continue;
    }
    const value = median(result.runsMs);
    // Each run against bare node in the same round: the machine's load drifts between rounds.
    const ratio = median(result.runsMs.map((runMs, round) => runMs / bareRuns[round]!));
    const target = result.targetRatio === undefined ? '' : `≤ ${result.targetRatio}×`;
    const verdict = result.targetRatio === undefined ? '' : ratio <= result.targetRatio ? 'met' : '**missed**';
    lines.push(`| ${result.label} | ${ms(value)} | ${ms(Math.min(...result.runsMs))} – ${ms(Math.max(...result.runsMs))} | ${times(ratio)} | ${target} | ${verdict} |`);
  }
  return [
    ...lines,
    '',
    `${new Date().toISOString().slice(0, 10)}, Node ${process.version}. ` +
      `Median of ${rounds} cold runs per row (a new process each), run round-robin after one untimed round; × bare node is the median of each run divided ` +
      `by bare node's run in the same round. Load average ${loadAverage.toFixed(2)} at the end. ` +
      'Timed from spawn to exit, or for `open` to its "Waiting for connections" line (the session is up and the port listens) and for `proxy` to the destination\'s first line on its stdout, with the emulator ' +
      '(paced like the real agent) running in the benchmark process. The CLI is the bundle `npm run build` writes (dist/cli/ssm-tunnel.js).',
  ].join('\n');
}

export async function runStartupBenchmark(quick: boolean): Promise<string> {
  const rounds = quick ? QUICK_ROUNDS : DEFAULT_ROUNDS;
  const results = await measureStartup(rounds);
  return renderStartup(results, rounds, loadavg()[0] ?? 0);
}
