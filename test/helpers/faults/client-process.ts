import { fork, type ChildProcess } from 'node:child_process';
import type { ClientConfig, ClientStats, ClientUnderTest, MemoryFigures } from './client-under-test.js';
import { CLIENT_CHILD_PATH } from './paths.js';

/* The tunnel under test in a child process of its own (client-child.ts), driven over IPC. */

export type ClientRequest = { type: 'stats' | 'memory'; id: number } | { type: 'close'; id: number };

export type ClientReply =
  | { type: 'ready'; id: 0; localPort: number }
  | { type: 'stats'; id: number; stats: ClientStats }
  | { type: 'memory'; id: number; memory: MemoryFigures }
  | { type: 'error'; id: number; message: string };

const REPLY_TIMEOUT_MS = 30_000;
const EXIT_TIMEOUT_MS = 10_000;

/** Forks the client child with `config`; resolves once its tunnel listens. */
export async function startClientProcess(config: ClientConfig, env: NodeJS.ProcessEnv): Promise<ClientUnderTest> {
  const child = fork(CLIENT_CHILD_PATH, [], {
    execArgv: ['--expose-gc'],
    env: { ...env, FAULT_CLIENT_CONFIG: JSON.stringify(config) },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  let nextId = 1;
  const waiting = new Map<number, { resolve: (reply: ClientReply) => void; reject: (error: Error) => void }>();
  let exited: Error | undefined;
  child.on('message', (message: ClientReply) => {
    const waiter = waiting.get(message.id);
    waiting.delete(message.id);
    if (message.type === 'error') waiter?.reject(new Error(message.message));
    else waiter?.resolve(message);
  });
  child.once('exit', (code, signal) => {
    exited = new Error(`the client process exited (${signal ?? `code ${code}`})`);
    for (const waiter of waiting.values()) waiter.reject(exited);
    waiting.clear();
  });
  const ask = (id: number, send?: ClientRequest): Promise<ClientReply> =>
    new Promise<ClientReply>((resolve, reject) => {
      if (exited) {
        reject(exited);
        return;
      }
      const timer = setTimeout(() => {
        waiting.delete(id);
        reject(new Error(`the client process did not answer ${send?.type ?? 'ready'} within ${REPLY_TIMEOUT_MS} ms`));
      }, REPLY_TIMEOUT_MS);
      waiting.set(id, {
        resolve: (reply) => {
          clearTimeout(timer);
          resolve(reply);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      if (send) child.send(send);
    });
  const request = async <T extends 'stats' | 'memory'>(type: T): Promise<Extract<ClientReply, { type: T }>> => {
    const id = nextId++;
    return (await ask(id, { type, id })) as Extract<ClientReply, { type: T }>;
  };
  let ready: Extract<ClientReply, { type: 'ready' }>;
  try {
    ready = (await ask(0)) as Extract<ClientReply, { type: 'ready' }>;
  } catch (error) {
    await stop(child, 'SIGKILL');
    throw error;
  }
  return {
    localPort: ready.localPort,
    stats: async () => (await request('stats')).stats,
    memory: async () => (await request('memory')).memory,
    close: async () => {
      if (child.connected) child.send({ type: 'close', id: 0 } satisfies ClientRequest);
      await stop(child, undefined);
    },
  };
}

async function stop(child: ChildProcess, signal: NodeJS.Signals | undefined): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  if (signal !== undefined) child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), EXIT_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}
