/*
 * What a Node process loads: runs it with an `--import` module that records every URL the ES
 * module loader resolves (a resolve hook) and, at exit, every CommonJS file in require's cache
 * (CommonJS modules require()d by other CommonJS modules never reach the ES module hooks).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Runs in the loader's hooks thread: appends each resolved URL to the log. */
const HOOKS = `
import { appendFileSync } from 'node:fs';
let log;
export function initialize(data) { log = data.log; }
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  appendFileSync(log, result.url + '\\n');
  return result;
}`;

function recorder(log: string): string {
  return `
import { register, createRequire } from 'node:module';
import { appendFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(HOOKS)}`)}, { data: { log: ${JSON.stringify(log)} } });
process.on('exit', () => {
  const files = Object.keys(createRequire(pathToFileURL(process.cwd() + '/')).cache).map((file) => pathToFileURL(file).href);
  appendFileSync(${JSON.stringify(log)}, files.join('\\n') + '\\n');
});`;
}

export interface LoadedModules {
  code: number | null;
  stdout: string;
  /** Absolute paths of the files loaded (file: URLs only; builtins are left out). */
  files: string[];
}

/** Runs `node ...args` in `cwd` and lists the files it loaded. */
export async function loadedModules(args: string[], cwd: string): Promise<LoadedModules> {
  const dir = mkdtempSync(join(tmpdir(), 'ssm-tunnel-modules-'));
  const log = join(dir, 'loaded.txt');
  try {
    const child = spawn(process.execPath, ['--import', `data:text/javascript,${encodeURIComponent(recorder(log))}`, ...args], {
      cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (exitCode) => resolve(exitCode));
    });
    if (code !== 0) throw new Error(`node ${args.join(' ')} exited with ${code}:\n${stderr}`);
    const urls = readFileSync(log, 'utf8').split('\n').filter((url) => url.startsWith('file:'));
    return { code, stdout, files: [...new Set(urls.map((url) => fileURLToPath(url)))] };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
