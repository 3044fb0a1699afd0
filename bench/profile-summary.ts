import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

/*
 * Summarises V8 .cpuprofile files (from `node --cpu-prof`, e.g. `npm run bench -- --profile DIR`):
 * the functions with the most self time, self time per file, and with --callers NAME the call
 * paths that lead to the functions named NAME.
 * Usage: node dist/bench/bench/profile-summary.js [--top N] [--callers NAME] FILE.cpuprofile...
 */

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Where a function lives, shortened: our files relative to dist/, dependencies by package. */
function shortUrl(url: string): string {
  if (url === '') return '';
  const dist = url.indexOf('/dist/');
  if (dist >= 0) return url.slice(dist + '/dist/'.length);
  const modules = url.lastIndexOf('/node_modules/');
  if (modules >= 0) return url.slice(modules + '/node_modules/'.length);
  return url.replace(/^file:\/\//, '');
}

function label(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  const name = functionName === '' ? '(anonymous)' : functionName;
  return url === '' ? name : `${name} ${shortUrl(url)}:${lineNumber + 1}`;
}

function fileOf(node: ProfileNode): string {
  const url = shortUrl(node.callFrame.url);
  return url === '' ? node.callFrame.functionName : url;
}

function addTo(map: Map<string, number>, key: string, value: number): void {
  map.set(key, (map.get(key) ?? 0) + value);
}

function top(map: Map<string, number>, total: number, count: number): string[] {
  return [...map.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([key, micros]) => `${(micros / 1000).toFixed(1).padStart(9)} ms ${((100 * micros) / total).toFixed(1).padStart(5)}%  ${key}`);
}

/** The `depth` frames above `node`, innermost first. */
function callerPath(node: ProfileNode, parents: Map<number, ProfileNode>, depth: number): string {
  const frames: string[] = [];
  for (let parent = parents.get(node.id); parent !== undefined && frames.length < depth; parent = parents.get(parent.id)) frames.push(label(parent));
  return frames.join(' < ');
}

function summarise(path: string, count: number, callersOf: string | undefined): string {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const parents = new Map<number, ProfileNode>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parents.set(child, node);
  const byFunction = new Map<string, number>();
  const byFile = new Map<string, number>();
  const byCallers = new Map<string, number>();
  let total = 0;
  let idle = 0;
  profile.samples.forEach((id, i) => {
    const node = nodes.get(id);
    // A sample's time is the delta to the next one; the first delta is the profile's start offset.
    const micros = profile.timeDeltas[i + 1] ?? 0;
    if (node === undefined) return;
    if (node.callFrame.functionName === '(idle)') {
      idle += micros;
      return;
    }
    total += micros;
    addTo(byFunction, label(node), micros);
    addTo(byFile, fileOf(node), micros);
    if (node.callFrame.functionName === callersOf) addTo(byCallers, callerPath(node, parents, 9), micros);
  });
  const callers = callersOf === undefined ? [] : ['', `call paths into ${callersOf} (9 frames, innermost first):`, ...top(byCallers, total, count)];
  return [
    `${path}: ${(total / 1000).toFixed(0)} ms busy, ${(idle / 1000).toFixed(0)} ms idle`,
    '',
    `top ${count} functions by self time:`,
    ...top(byFunction, total, count),
    '',
    `top ${count} files by self time:`,
    ...top(byFile, total, count),
    ...callers,
  ].join('\n');
}

function main(): number {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '25' }, callers: { type: 'string' } } });
  const count = Number(values.top);
  if (positionals.length === 0 || !Number.isInteger(count) || count < 1) {
    process.stderr.write('usage: node dist/bench/bench/profile-summary.js [--top N] [--callers NAME] FILE.cpuprofile...\n');
    return 2;
  }
  for (const path of positionals) process.stdout.write(`${summarise(path, count, values.callers)}\n\n`);
  return 0;
}

process.exitCode = main();
