/*
 * A real terminal for the CLI: a private tmux server (its own socket in a temp directory) running one
 * command in a pane of a fixed size. Tests type with sendKeys and read the screen as a person sees it
 * (capture-pane), with the escape sequences of colors when asked. Gate on `tmuxTool` first.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CLI_PATH, isolatedEnv } from './cli.js';
import { optionalTool } from './tools.js';
import { waitFor } from './wait.js';

const run = promisify(execFile);

export const tmuxTool = optionalTool('tmux', 'apt-get install tmux');

/** Printed in the pane when the command ends, so tests read its exit status from the screen. */
const EXIT_MARK = '[exit ';

export interface TerminalSession {
  /** The screen's text, trailing blank lines dropped; with `escapes`, colors as escape sequences. */
  screen(options?: { escapes?: boolean }): Promise<string>;
  /** tmux key names (`Enter`, `C-c`, `Tab`) or literal text. */
  sendKeys(...keys: string[]): Promise<void>;
  /** Types text as is (no key-name lookup). */
  type(text: string): Promise<void>;
  /** Waits until the screen satisfies `predicate`; fails with the screen in the message. */
  waitForScreen(predicate: (screen: string) => boolean, what: string, timeoutMs?: number): Promise<string>;
  /** Waits for the command to end and returns its exit status. */
  exitCode(timeoutMs?: number): Promise<number>;
  /** Ends the tmux server and removes its socket directory. */
  close(): Promise<void>;
}

export interface TerminalOptions {
  env?: Record<string, string>;
  columns?: number;
  rows?: number;
}

/** Runs `shellCommand` (a line for sh) in a new terminal. */
export async function startTerminal(shellCommand: string, options: TerminalOptions = {}): Promise<TerminalSession> {
  const dir = await mkdtemp(join(tmpdir(), 'ssm-tunnel-tmux-'));
  const socket = join(dir, 'tmux.sock');
  const env = isolatedEnv({ ...options.env });
  delete env.TMUX;
  const tmux = async (...args: string[]): Promise<string> => (await run('tmux', ['-S', socket, ...args], { env })).stdout;
  // The shell survives the Ctrl-C a test sends to the command (a trap, unlike an ignore, is not inherited).
  const wrapped = `trap : INT; ${shellCommand}; echo "${EXIT_MARK}$?]"; sleep 600`;
  await tmux('-f', '/dev/null', 'new-session', '-d', '-s', 'test', '-x', String(options.columns ?? 160), '-y', String(options.rows ?? 30), 'sh', '-c', wrapped);
  const screen = async (screenOptions: { escapes?: boolean } = {}): Promise<string> =>
    (await tmux('capture-pane', '-p', ...(screenOptions.escapes === true ? ['-e'] : []), '-t', 'test')).replace(/\n+$/, '');
  const session: TerminalSession = {
    screen,
    sendKeys: async (...keys) => {
      await tmux('send-keys', '-t', 'test', ...keys);
    },
    type: async (text) => {
      await tmux('send-keys', '-t', 'test', '-l', text);
    },
    waitForScreen: async (predicate, what, timeoutMs = 20_000) => {
      let last = '';
      try {
        await waitFor(async () => predicate((last = await screen())), what, timeoutMs);
      } catch (error) {
        throw new Error(`${(error as Error).message}; the screen:\n${last}`, { cause: error });
      }
      return last;
    },
    exitCode: async (timeoutMs) => {
      const text = await session.waitForScreen((s) => s.includes(EXIT_MARK), 'the command to exit', timeoutMs);
      return Number(/\[exit (\d+)\]/.exec(text)?.[1]);
    },
    close: async () => {
      await tmux('kill-server').catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
  return session;
}

/** `node <built CLI> args…` as one sh line, each argument single-quoted. */
export function cliCommand(args: readonly string[]): string {
  return [process.execPath, CLI_PATH, ...args].map((word) => `'${word.replace(/'/g, `'\\''`)}'`).join(' ');
}

