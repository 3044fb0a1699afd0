import { runCodecBenchmark } from './codec.js';

/*
 * Benchmark entry point: `node dist/bench/main.js [scenario...]`, all scenarios when none is named.
 * A scenario is a module exporting one run function; add it to this map.
 */

type Scenario = () => void | Promise<void>;

const scenarios = new Map<string, Scenario>([['codec', runCodecBenchmark]]);

async function main(names: string[]): Promise<number> {
  const selected = names.length === 0 ? [...scenarios.keys()] : names;
  const unknown = selected.filter((name) => !scenarios.has(name));
  if (unknown.length > 0) {
    console.error(`unknown scenario ${unknown.join(', ')}; known: ${[...scenarios.keys()].join(', ')}`);
    return 2;
  }
  for (const name of selected) {
    console.log(`## ${name}\n`);
    await scenarios.get(name)!();
    console.log('');
  }
  return 0;
}

process.exitCode = await main(process.argv.slice(2));
