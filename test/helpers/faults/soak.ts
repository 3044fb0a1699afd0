import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { runFuzz } from './fuzz.js';
import { failures, renderReport } from './report.js';
import { TEST_SIZES } from './row-check.js';
import { runRow, type RowFigures } from './row-runner.js';
import { REPO_ROOT } from './paths.js';
import type { FaultSizes, PortMode } from './scenario.js';
import { FAULT_SCENARIOS } from './scenarios.js';

/*
 * `npm run soak`: the fault matrix at large sizes, the client in its own process. Prints the table
 * and writes docs/reliability.md; exits 1 when any row fails (a corrupted byte, a connection lost
 * that should have survived, no recovery, something left open).
 *
 *   node dist/bench/test/helpers/faults/soak.js [--quick] [--only id,id] [--mode mux|basic] [--out PATH | --no-write]
 */

const SOAK_SIZES: FaultSizes = {
  transferBytes: 16 * 1024 * 1024,
  parallel: 4,
  repetitions: 3,
  warmup: true,
  faultMs: 3000,
  resumeOutageMs: 30_000,
  closeEveryMs: 2000,
  stallTimeoutMs: 60_000,
};
const SOAK_FUZZ_RUNS = 500;
const QUICK_FUZZ_RUNS = 50;
const DEFAULT_OUT = fileURLToPath(new URL('docs/reliability.md', REPO_ROOT));

interface SoakArgs {
  sizes: FaultSizes;
  fuzzRuns: number;
  only: string[] | undefined;
  modes: PortMode[];
  out: string | undefined;
}

function parseArgs(argv: string[]): SoakArgs {
  const args: SoakArgs = { sizes: SOAK_SIZES, fuzzRuns: SOAK_FUZZ_RUNS, only: undefined, modes: ['mux', 'basic'], out: DEFAULT_OUT };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = (): string => {
      const next = argv[++i];
      if (next === undefined) throw new Error(`${arg} needs a value`);
      return next;
    };
    switch (arg) {
      case '--quick':
        args.sizes = { ...TEST_SIZES, warmup: true, repetitions: 2 };
        args.fuzzRuns = QUICK_FUZZ_RUNS;
        break;
      case '--only':
        args.only = value().split(',');
        break;
      case '--mode': {
        const mode = value();
        if (mode !== 'mux' && mode !== 'basic') throw new Error(`--mode must be mux or basic, got ${JSON.stringify(mode)}`);
        args.modes = [mode];
        break;
      }
      case '--out':
        args.out = value();
        break;
      case '--no-write':
        args.out = undefined;
        break;
      default:
        throw new Error(`unknown argument ${JSON.stringify(arg)}`);
    }
  }
  return args;
}

async function main(argv: string[]): Promise<number> {
  let args: SoakArgs;
  try {
    args = parseArgs(argv);
  } catch (error) {
    process.stderr.write(`soak: ${(error as Error).message}\nusage: node dist/bench/test/helpers/faults/soak.js [--quick] [--only id,id] [--mode mux|basic] [--out PATH | --no-write]\n`);
    return 2;
  }
  const scenarios = FAULT_SCENARIOS.filter((s) => args.only === undefined || args.only.includes(s.id));
  const startedAt = Date.now();
  const rows: RowFigures[] = [];
  for (const scenario of scenarios) {
    for (const mode of scenario.modes.filter((m) => args.modes.includes(m))) {
      process.stderr.write(`soak: ${scenario.title(args.sizes)} (${mode}) … `);
      const row = await runRow(scenario, mode, { sizes: args.sizes });
      rows.push(row);
      process.stderr.write(`${(row.durationMs / 1000).toFixed(1)} s${row.error === undefined ? '' : `, error: ${row.error}`}\n`);
    }
  }
  process.stderr.write('soak: fuzzing the client with malformed frames … ');
  const fuzz = runFuzz(args.fuzzRuns, 20_240_601);
  process.stderr.write('done\n');
  const markdown = renderReport({
    rows,
    fuzz,
    scenarios,
    sizes: args.sizes,
    fuzzRuns: args.fuzzRuns,
    date: new Date(),
    durationMs: Date.now() - startedAt,
    commandLine: ['npm run soak', ...(argv.length > 0 ? ['--', ...argv] : [])].join(' '),
  });
  process.stdout.write(markdown);
  if (args.out !== undefined) {
    writeFileSync(args.out, markdown);
    process.stderr.write(`soak: wrote ${args.out}\n`);
  }
  const problems = failures({ rows, fuzz });
  for (const problem of problems) process.stderr.write(`soak: FAIL ${problem}\n`);
  return problems.length === 0 ? 0 : 1;
}

process.exitCode = await main(process.argv.slice(2));
