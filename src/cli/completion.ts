import { loadTargets } from './target-cache.js';

/*
 * Shell completion (`ssm-tunnel completion`, bash and zsh scripts from yargs): commands and options
 * as yargs knows them, and after --target the node ids and `name:<Name>` of the last lookup
 * (`targets` or the picker) while it is fresh. It reads only that cache: pressing Tab never waits
 * on AWS.
 */

type Defaults = (onCompleted?: (error: Error | null, completions: string[] | undefined) => void) => void;

const VALUE_OPTIONS = new Set(['--target']);

/** The word before the one being completed, from the words yargs' script passes after its flag. */
function previousWord(argv: readonly string[]): string | undefined {
  const at = argv.indexOf('--get-yargs-completions');
  if (at < 0) return undefined;
  const words = argv.slice(at + 1);
  return words.length >= 2 ? words[words.length - 2] : undefined;
}

export function completeWords(current: string, _argv: unknown, defaults: Defaults, done: (completions: string[]) => void): void {
  if (VALUE_OPTIONS.has(previousWord(process.argv) ?? '')) {
    void loadTargets().then((targets) => {
      const words = targets.flatMap((target) => [target.id, ...(target.name === undefined ? [] : [`name:${target.name}`])]);
      done(words.filter((word) => word.startsWith(current)));
    });
    return;
  }
  defaults((error, completions) => done(error === null ? (completions ?? []) : []));
}
