import search from '@inquirer/search';
import { ErrorCode, SsmTunnelError } from '../errors.js';
import type { NodeRow } from './node-list.js';

/*
 * The searchable list `open` offers on a terminal when no target was named: the online nodes, found
 * by typing part of an id, Name tag or platform. Prompts go to stderr, so stdout stays the command's.
 */

export async function pickTarget(nodes: readonly NodeRow[], signal?: AbortSignal): Promise<string> {
  const online = nodes.filter((node) => node.pingStatus === 'Online');
  if (online.length === 0) {
    throw new SsmTunnelError(ErrorCode.TARGET_NOT_FOUND, 'no managed node is Online here: check the region and profile, and `ssm-tunnel targets`');
  }
  const label = (node: NodeRow): string => [node.id, node.name ?? '', node.platformName ?? node.platformType ?? ''].filter(Boolean).join('  ');
  return search(
    {
      message: 'Target (type to filter)',
      pageSize: 12,
      source: (term) => {
        const wanted = (term ?? '').toLowerCase();
        return online.filter((node) => label(node).toLowerCase().includes(wanted)).map((node) => ({ value: node.id, name: label(node), short: node.id }));
      },
    },
    { input: process.stdin, output: process.stderr, ...(signal === undefined ? {} : { signal }) },
  ).catch((error: unknown) => {
    // Ctrl-C or Esc in the prompt: the person chose nothing.
    if (error instanceof Error && (error.name === 'ExitPromptError' || error.name === 'AbortPromptError')) {
      throw new SsmTunnelError(ErrorCode.ABORTED, 'no target picked', { cause: error });
    }
    throw error;
  });
}

/** A command line a person can paste back: arguments with shell characters single-quoted. */
export function shellCommand(words: readonly string[]): string {
  return words.map((word) => (/^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`)).join(' ');
}
