import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseBenchArgs, SECTION_SCENARIOS, TUNNEL_SCENARIOS, USAGE, type BenchConfig, type SectionScenario } from './args.js';
import { runCodecBenchmark } from './codec.js';
import { startDestinations } from './destinations.js';
import { killAll } from './processes.js';
import { describeMachine, renderReport, updateSections } from './report.js';
import type { RowResult } from './results.js';
import { runRow } from './rows.js';
import { runSessionPoolBenchmark } from './session-pool.js';
import { runStartupBenchmark } from './startup.js';

/*
 * Benchmark entry point: `node dist/bench/bench/main.js [scenario...] [options]` (see USAGE). Measures
 * ssm-tunnel through the emulator against direct TCP on loopback, prints a markdown report and
 * writes it to bench/results.md (and the raw figures beside it as results.json).
 */

const DEFAULT_OUT_PATH = fileURLToPath(new URL('../../../bench/results.md', import.meta.url));

/** Scenarios with a section of their own, in report order. */
const SECTIONS: Record<SectionScenario, { title: string; run: (config: BenchConfig) => string | Promise<string> }> = {
  codec: { title: 'Codec micro-benchmark', run: () => runCodecBenchmark() },
  'session-pool': { title: 'Session pools through the paced emulator', run: (config) => runSessionPoolBenchmark(config.quick) },
  startup: { title: 'Startup time', run: (config) => runStartupBenchmark(config.quick) },
};

async function run(config: BenchConfig, commandLine: string): Promise<void> {
  const machine = describeMachine();
  const results: RowResult[] = [];
  if (TUNNEL_SCENARIOS.some((scenario) => config.scenarios.includes(scenario))) {
    const destinations = await startDestinations();
    try {
      for (const row of config.rows) results.push(await runRow(row, config, destinations));
    } finally {
      await destinations.close();
    }
  }
  const sections: { title: string; markdown: string }[] = [];
  for (const name of SECTION_SCENARIOS) {
    if (!config.scenarios.includes(name)) continue;
    process.stderr.write(`[${name}]\n`);
    sections.push({ title: SECTIONS[name].title, markdown: (await SECTIONS[name].run(config)).trimEnd() });
  }
  const markdown = renderReport({ results, sections, config, machine, date: new Date(), commandLine });
  process.stdout.write(markdown);
  if (config.outPath !== undefined) {
    if (results.length === 0 && existsSync(config.outPath)) {
      writeFileSync(config.outPath, updateSections(readFileSync(config.outPath, 'utf8'), sections));
      process.stderr.write(`updated ${sections.map((s) => s.title).join(', ')} in ${config.outPath}\n`);
      return;
    }
    writeFileSync(config.outPath, markdown);
    writeFileSync(config.outPath.replace(/(\.md)?$/, '.json'), `${JSON.stringify({ config, results }, null, 2)}\n`);
    process.stderr.write(`wrote ${config.outPath}\n`);
  }
}

async function main(argv: string[]): Promise<number> {
  let config: BenchConfig | undefined;
  try {
    config = parseBenchArgs(argv, DEFAULT_OUT_PATH);
  } catch (error) {
    process.stderr.write(`bench: ${(error as Error).message}\n\n${USAGE}\n`);
    return 2;
  }
  if (config === undefined) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  try {
    await run(config, ['node dist/bench/bench/main.js', ...argv].join(' '));
    return 0;
  } catch (error) {
    process.stderr.write(`bench: ${(error as Error).message}\n`);
    return 1;
  } finally {
    killAll();
  }
}

// Children must not outlive the driver, however it ends.
process.on('exit', killAll);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    killAll();
    process.exit(130);
  });
}
process.exitCode = await main(process.argv.slice(2));
