import { parseArgs } from 'node:util';

/*
 * Command line of `npm run bench`: which scenarios, which rows, what sizes, where the results go.
 */

export const TUNNEL_SCENARIOS = ['throughput', 'latency', 'connect', 'idle'] as const;
export type TunnelScenario = (typeof TUNNEL_SCENARIOS)[number];
/** Scenarios that print a section of their own instead of a column of the main table. */
export const SECTION_SCENARIOS = ['codec', 'session-pool', 'startup'] as const;
export type SectionScenario = (typeof SECTION_SCENARIOS)[number];
export const SCENARIOS = [...TUNNEL_SCENARIOS, ...SECTION_SCENARIOS] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

export const ROWS = ['direct', 'unpaced', 'paced'] as const;
export type RowName = (typeof ROWS)[number];

export interface BenchSizes {
  /** Bytes of the single-connection download and of the upload. */
  singleBytes: number;
  parallelConnections: number;
  /** Bytes each parallel connection downloads. */
  parallelBytes: number;
  /** 64-byte round trips timed on one connection. */
  roundTrips: number;
  /** Connections opened one after another on a warm session. */
  newConnections: number;
  /** Connections held open at once. */
  idleConnections: number;
}

export interface BenchConfig {
  scenarios: ScenarioName[];
  rows: RowName[];
  sizes: BenchSizes;
  /** The paced row's transfer sizes: the agent's 1 ms per KiB makes it run near 1 MB/s. */
  pacedSizes: BenchSizes;
  quick: boolean;
  /** Where the markdown goes; undefined: stdout only. */
  outPath: string | undefined;
  /** Run the client and emulator children under `--cpu-prof` and write their profiles here. */
  profileDir: string | undefined;
}

const MiB = 1024 * 1024;

export const DEFAULT_SIZES: BenchSizes = {
  singleBytes: 256 * MiB,
  parallelConnections: 16,
  parallelBytes: 32 * MiB,
  roundTrips: 10_000,
  newConnections: 1_000,
  idleConnections: 1_000,
};

const QUICK_SIZES: BenchSizes = {
  singleBytes: 8 * MiB,
  parallelConnections: 16,
  parallelBytes: 1 * MiB,
  roundTrips: 500,
  newConnections: 100,
  idleConnections: 100,
};

/** 256 MiB → 16 MiB and 16 × 32 MiB → 16 × 1 MiB: about 17 s each at the paced ~1 MB/s. */
const PACED_SINGLE_DIVISOR = 16;
const PACED_PARALLEL_DIVISOR = 32;

export function pacedSizesOf(sizes: BenchSizes): BenchSizes {
  return {
    ...sizes,
    singleBytes: Math.max(64 * 1024, Math.round(sizes.singleBytes / PACED_SINGLE_DIVISOR)),
    parallelBytes: Math.max(16 * 1024, Math.round(sizes.parallelBytes / PACED_PARALLEL_DIVISOR)),
  };
}

export const USAGE = `Usage: node dist/bench/bench/main.js [scenario...] [options]

Scenarios (default: all): ${SCENARIOS.join(', ')}

Options:
  --rows LIST             rows to measure, comma separated (default: ${ROWS.join(',')})
  --size SIZE             single-connection download and upload (default 256MiB)
  --parallel-size SIZE    download per parallel connection (default 32MiB)
  --parallel N            parallel connections (default 16)
  --round-trips N         64-byte ping-pong round trips (default 10000)
  --new-connections N     connections opened on a warm session (default 1000)
  --idle-connections N    connections held open at once (default 1000)
  --quick                 small sizes for a smoke run; writes no file unless --out is given
  --out PATH              where to write the markdown (default bench/results.md)
  --profile DIR           run the client and the emulator under node --cpu-prof, profiles in DIR
                          (summarise them with node dist/bench/bench/profile-summary.js DIR/*/*.cpuprofile)
  --help

SIZE is a number of bytes with an optional KiB, MiB or GiB suffix.`;

/** Parses `64MiB`, `512KiB`, `1GiB` or plain bytes; names the flag on error. */
export function parseSize(text: string, flag: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*(KiB|MiB|GiB|B)?$/i.exec(text.trim());
  if (match === null) throw new Error(`${flag}: expected a size like 256MiB, 512KiB or 1048576, got ${JSON.stringify(text)}`);
  const units: Record<string, number> = { b: 1, kib: 1024, mib: MiB, gib: 1024 * MiB };
  const bytes = Math.round(Number(match[1]) * units[(match[2] ?? 'b').toLowerCase()]!);
  if (bytes < 1) throw new Error(`${flag}: the size must be at least 1 byte, got ${JSON.stringify(text)}`);
  return bytes;
}

function parseCount(text: string, flag: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 1) throw new Error(`${flag}: expected a positive integer, got ${JSON.stringify(text)}`);
  return value;
}

function parseList<T extends string>(text: string, known: readonly T[], flag: string): T[] {
  const items = text.split(',').map((item) => item.trim()).filter((item) => item !== '');
  const unknown = items.filter((item) => !(known as readonly string[]).includes(item));
  if (unknown.length > 0 || items.length === 0) {
    throw new Error(`${flag}: unknown ${unknown.join(', ') || '(empty list)'}; known: ${known.join(', ')}`);
  }
  return [...new Set(items)] as T[];
}

/** Returns undefined when --help was asked for. Throws an Error naming the flag for bad input. */
export function parseBenchArgs(argv: string[], defaultOutPath: string): BenchConfig | undefined {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      rows: { type: 'string' },
      size: { type: 'string' },
      'parallel-size': { type: 'string' },
      parallel: { type: 'string' },
      'round-trips': { type: 'string' },
      'new-connections': { type: 'string' },
      'idle-connections': { type: 'string' },
      quick: { type: 'boolean', default: false },
      out: { type: 'string' },
      profile: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) return undefined;
  const scenarios = positionals.length === 0 ? [...SCENARIOS] : parseList(positionals.join(','), SCENARIOS, 'scenario');
  const base = values.quick ? QUICK_SIZES : DEFAULT_SIZES;
  const sizes: BenchSizes = {
    singleBytes: values.size === undefined ? base.singleBytes : parseSize(values.size, '--size'),
    parallelBytes: values['parallel-size'] === undefined ? base.parallelBytes : parseSize(values['parallel-size'], '--parallel-size'),
    parallelConnections: values.parallel === undefined ? base.parallelConnections : parseCount(values.parallel, '--parallel'),
    roundTrips: values['round-trips'] === undefined ? base.roundTrips : parseCount(values['round-trips'], '--round-trips'),
    newConnections: values['new-connections'] === undefined ? base.newConnections : parseCount(values['new-connections'], '--new-connections'),
    idleConnections: values['idle-connections'] === undefined ? base.idleConnections : parseCount(values['idle-connections'], '--idle-connections'),
  };
  return {
    scenarios,
    rows: values.rows === undefined ? [...ROWS] : parseList(values.rows, ROWS, '--rows'),
    sizes,
    pacedSizes: pacedSizesOf(sizes),
    quick: values.quick,
    outPath: values.out ?? (values.quick ? undefined : defaultOutPath),
    profileDir: values.profile,
  };
}
