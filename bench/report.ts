import { readFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, release, totalmem, type as osType } from 'node:os';
import type { BenchConfig, BenchSizes, RowName, ScenarioName } from './args.js';
import { ROW_LABELS } from './rows.js';
import { cpuSecondsPerGiB, perGiB, megabytesPerSecond, type LatencyStats, type RowResult, type ThroughputCell } from './results.js';

/* The markdown of a run: the main table, the targets, details, notes and the machine. */

const MiB = 1024 * 1024;
const TARGET_MB_PER_SECOND = 50;
const TARGET_ADDED_LATENCY_MS = 1;
const TARGET_IDLE_CONNECTIONS = 1000;
const TARGET_RSS_MB = 150;
const NOT_APPLICABLE = 'n/a';

const number = (digits: number): Intl.NumberFormat => new Intl.NumberFormat('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const oneDecimal = number(1);
const twoDecimals = number(2);
const integer = number(0);

export interface Machine {
  /** 1-minute load average when the run started: other work on the machine slows every row. */
  loadAverage: number;
  cores: number;
  cpuModel: string;
  totalMemoryBytes: number;
  node: string;
  os: string;
}

export function describeMachine(): Machine {
  let cpuModel = cpus()[0]?.model ?? 'unknown CPU';
  try {
    const match = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (match !== null) cpuModel = match[1]!.trim();
  } catch {
    // Not Linux: os.cpus() has the model too.
  }
  return { loadAverage: loadavg()[0] ?? 0, cores: availableParallelism(), cpuModel, totalMemoryBytes: totalmem(), node: process.version, os: `${osType()} ${release()}` };
}

export function machineLine(machine: Machine): string {
  return (
    `${machine.cores} cores (nproc), ${machine.cpuModel}, ${oneDecimal.format(machine.totalMemoryBytes / 1024 ** 3)} GiB RAM, ${machine.os}, Node ${machine.node}; ` +
    `load average ${twoDecimals.format(machine.loadAverage)} at the start`
  );
}

function ratio(value: number, base: number | undefined): string {
  if (base === undefined || base === 0) return '';
  const r = value / base;
  return ` (${r >= 10 ? integer.format(r) : r >= 0.1 ? twoDecimals.format(r) : r.toPrecision(2)}×)`;
}

function rateCell(cell: ThroughputCell | undefined, direct: ThroughputCell | undefined): string {
  if (cell === undefined) return NOT_APPLICABLE;
  return `${oneDecimal.format(megabytesPerSecond(cell))}${ratio(megabytesPerSecond(cell), direct && megabytesPerSecond(direct))}`;
}

function micros(ns: number): string {
  return `${integer.format(ns / 1000)} µs`;
}

function latencyCell(stats: LatencyStats | undefined, direct: LatencyStats | undefined, pick: (s: LatencyStats) => number): string {
  if (stats === undefined) return NOT_APPLICABLE;
  return `${micros(pick(stats))}${ratio(pick(stats), direct && pick(direct))}`;
}

function megabytes(bytes: number | undefined): string {
  return bytes === undefined ? NOT_APPLICABLE : oneDecimal.format(bytes / 1e6);
}

function sizeText(bytes: number): string {
  return bytes % MiB === 0 ? `${integer.format(bytes / MiB)} MiB` : `${integer.format(bytes / 1024)} KiB`;
}

function mainTable(results: RowResult[], config: BenchConfig): string {
  const direct = results.find((r) => r.row === 'direct');
  const has = (scenario: ScenarioName): boolean => config.scenarios.includes(scenario);
  const columns: { title: string; cell: (r: RowResult) => string }[] = [];
  const { sizes } = config;
  if (has('throughput')) {
    columns.push(
      { title: 'download MB/s', cell: (r) => rateCell(r.download, r === direct ? undefined : direct?.download) },
      { title: 'upload MB/s', cell: (r) => rateCell(r.upload, r === direct ? undefined : direct?.upload) },
      { title: `${sizes.parallelConnections} parallel downloads, MB/s`, cell: (r) => rateCell(r.parallel, r === direct ? undefined : direct?.parallel) },
    );
  }
  if (has('latency')) {
    columns.push(
      { title: 'ping-pong p50', cell: (r) => latencyCell(r.pingPong, r === direct ? undefined : direct?.pingPong, (s) => s.p50Ns) },
      { title: 'ping-pong p99', cell: (r) => latencyCell(r.pingPong, r === direct ? undefined : direct?.pingPong, (s) => s.p99Ns) },
    );
  }
  if (has('connect')) {
    columns.push(
      { title: 'new connection p50', cell: (r) => latencyCell(r.newConnection, r === direct ? undefined : direct?.newConnection, (s) => s.p50Ns) },
      { title: 'new connection p99', cell: (r) => latencyCell(r.newConnection, r === direct ? undefined : direct?.newConnection, (s) => s.p99Ns) },
    );
  }
  if (has('idle')) {
    columns.push(
      {
        title: `${integer.format(sizes.idleConnections)} idle connections: client RSS MB, before → after`,
        cell: (r) => (r.idle?.rssAfter === undefined ? NOT_APPLICABLE : `${megabytes(r.idle.rssBefore)} → ${megabytes(r.idle.rssAfter)}`),
      },
      {
        title: 'client heap used MB, before → after',
        cell: (r) => (r.idle?.heapUsedAfter === undefined ? NOT_APPLICABLE : `${megabytes(r.idle.heapUsedBefore)} → ${megabytes(r.idle.heapUsedAfter)}`),
      },
    );
  }
  if (has('throughput')) {
    columns.push({
      title: 'client CPU s/GiB',
      cell: (r) => {
        const value = cpuSecondsPerGiB(r);
        return value === undefined ? NOT_APPLICABLE : twoDecimals.format(value);
      },
    });
  }
  const lines = [`| row | ${columns.map((c) => c.title).join(' | ')} |`, `|---|${columns.map(() => '---:').join('|')}|`];
  for (const result of results) lines.push(`| ${ROW_LABELS[result.row]} | ${columns.map((c) => c.cell(result)).join(' | ')} |`);
  return lines.join('\n');
}

function verdict(met: boolean): string {
  return met ? 'met' : '**missed**';
}

function targetsTable(results: RowResult[]): string | undefined {
  const unpaced = results.find((r) => r.row === 'unpaced');
  const direct = results.find((r) => r.row === 'direct');
  if (unpaced === undefined) return undefined;
  const lines: string[] = [];
  for (const [name, cell] of [
    ['download', unpaced.download],
    ['upload', unpaced.upload],
  ] as const) {
    if (cell === undefined) continue;
    const rate = megabytesPerSecond(cell);
    lines.push(`| ≥ ${TARGET_MB_PER_SECOND} MB/s single-connection ${name} | ${oneDecimal.format(rate)} MB/s | ${verdict(rate >= TARGET_MB_PER_SECOND)} |`);
  }
  if (unpaced.upload !== undefined) {
    // One 1 KiB message per millisecond is 1.024 MB/s at best.
    const rate = megabytesPerSecond(unpaced.upload);
    lines.push(`| no 1 ms-per-KiB pacing on upload (it would cap uploads near 1 MB/s) | ${oneDecimal.format(rate)} MB/s | ${verdict(rate > 1.1)} |`);
  }
  if (unpaced.pingPong !== undefined && direct?.pingPong !== undefined) {
    const addedMs = (unpaced.pingPong.p50Ns - direct.pingPong.p50Ns) / 1e6;
    lines.push(`| ≤ ${TARGET_ADDED_LATENCY_MS} ms p50 added per round trip over direct TCP | +${twoDecimals.format(addedMs)} ms | ${verdict(addedMs <= TARGET_ADDED_LATENCY_MS)} |`);
  }
  if (unpaced.idle?.rssAfter !== undefined) {
    const rssMb = unpaced.idle.rssAfter / 1e6;
    const enough = unpaced.idle.connections >= TARGET_IDLE_CONNECTIONS;
    const note = enough ? '' : ` (only ${unpaced.idle.connections} connections in this run)`;
    lines.push(
      `| ${integer.format(TARGET_IDLE_CONNECTIONS)} concurrent connections on one session, client RSS < ${TARGET_RSS_MB} MB | ${oneDecimal.format(rssMb)} MB${note} | ${enough ? verdict(rssMb < TARGET_RSS_MB) : 'not measured'} |`,
    );
  }
  if (lines.length === 0) return undefined;
  return ['| target (emulator unpaced) | measured | |', '|---|---:|---|', ...lines].join('\n');
}

function detailsTable(results: RowResult[]): string | undefined {
  const lines: string[] = [];
  for (const result of results) {
    const { sizes } = result;
    for (const [name, cell] of [
      ['download', result.download],
      ['upload', result.upload],
      [`${sizes.parallelConnections} × ${sizeText(sizes.parallelBytes)} parallel downloads`, result.parallel],
    ] as const) {
      if (cell === undefined) continue;
      const cpu = (seconds: number | undefined): string => (seconds === undefined ? NOT_APPLICABLE : twoDecimals.format(seconds));
      lines.push(
        `| ${ROW_LABELS[result.row]} | ${name} | ${sizeText(cell.bytes)} | ${twoDecimals.format(cell.seconds)} | ${oneDecimal.format(megabytesPerSecond(cell))} | ` +
          `${cpu(cell.clientCpuSeconds)} | ${cpu(perGiB(cell.clientCpuSeconds, cell))} | ${cpu(perGiB(cell.emulatorCpuSeconds, cell))} |`,
      );
    }
  }
  if (lines.length === 0) return undefined;
  return [
    '| row | transfer | size | seconds | MB/s | client CPU s | client CPU s/GiB | emulator CPU s/GiB |',
    '|---|---|---:|---:|---:|---:|---:|---:|',
    ...lines,
  ].join('\n');
}

function sizesLine(sizes: BenchSizes): string {
  return (
    `${sizeText(sizes.singleBytes)} download and upload on one connection, ${sizes.parallelConnections} × ${sizeText(sizes.parallelBytes)} parallel downloads, ` +
    `${integer.format(sizes.roundTrips)} round trips, ${integer.format(sizes.newConnections)} new connections, ${integer.format(sizes.idleConnections)} idle connections`
  );
}

function notes(config: BenchConfig, rows: RowName[]): string {
  const lines = [
    '- 1 MB = 10^6 bytes; sizes in KiB/MiB are powers of two. Ratios (×) are to the direct TCP row of the same column.',
    `- Sizes: ${sizesLine(config.sizes)}.`,
  ];
  if (rows.includes('paced')) {
    lines.push(
      `- The paced row sends the agent's output as it does on AWS: 1 KiB messages with a 1 ms sleep after each, so downloads run near 1 MB/s. ` +
        `Its transfers are smaller so that each takes about 20 s or less (${sizeText(config.pacedSizes.singleBytes)} download and upload, ` +
        `${config.pacedSizes.parallelConnections} × ${sizeText(config.pacedSizes.parallelBytes)} parallel); the rates compare with the other rows. ` +
        'The agent paces only what it sends, so uploads are not slowed by it; the client CPU per GiB of paced downloads is mostly the cost of waking up for every message.',
    );
  }
  lines.push(
    '- Processes: the driver generates the load and runs the destinations (a bulk source/sink, an echo server, a server that writes one byte on accept); ' +
      'the emulator is `ssm-tunnel emulator` in its own process; the client is `openTunnel()` in its own process, a fresh one per scenario. ' +
      'Client CPU (user + system) and memory are that process alone; memory is read after garbage collection. Direct TCP has no client process (n/a).',
    '- The transfers follow an untimed warm-up each way (an eighth of the size, at most 4 MiB). Ping-pong: 64-byte messages on one connection, timed one round trip at a time after untimed ones. ' +
      'New connection: from the TCP connection being accepted to the first byte back from a destination that speaks first, one connection after another on a warm session. ' +
      'Idle connections: each is proven open by a one-byte echo, and the client must report all of them open.',
    '- All three processes share the machine: on AWS the agent runs on another host, so these figures include the emulator competing for the same cores.',
    '- The official AWS client (session-manager-plugin) cannot run here, so there is no column for it. Its upload sleeps 1 ms after every 1 KiB message ' +
      '(docs/protocol.md §12.5), which caps its uploads near 0.6–1 MB/s whatever the agent can take.',
  );
  return lines.join('\n');
}

export interface Report {
  results: RowResult[];
  /** Sections of scenarios that are not columns of the main table (codec, session pools). */
  sections: { title: string; markdown: string }[];
  config: BenchConfig;
  machine: Machine;
  date: Date;
  commandLine: string;
}

export function renderReport(report: Report): string {
  const { results, config } = report;
  const parts = [
    '# ssm-tunnel benchmark',
    '',
    `${report.date.toISOString()}: \`${report.commandLine}\`${config.quick ? ' (quick smoke run: small sizes, figures are not representative)' : ''}`,
    '',
    `Machine: ${machineLine(report.machine)}.`,
  ];
  if (results.length > 0) {
    parts.push('', mainTable(results, config));
    const targets = targetsTable(results);
    if (targets !== undefined) parts.push('', '## Targets', '', targets);
    const details = detailsTable(results);
    if (details !== undefined) parts.push('', '## Transfers', '', details);
    parts.push('', '## Notes', '', notes(config, results.map((r) => r.row)));
  }
  for (const section of report.sections) parts.push('', `## ${section.title}`, '', section.markdown);
  return `${parts.join('\n')}\n`;
}
