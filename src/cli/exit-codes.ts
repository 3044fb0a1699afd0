/*
 * The CLI's exit statuses: one meaning per number, for every command. Scripts and systemd branch
 * on these, so they only ever gain members.
 */

export const ExitCode = {
  /** Done, or stopped cleanly by SIGINT/SIGTERM. */
  OK: 0,
  /** The command could not do its job: the service or the network refused (e.g. `open` found no session). */
  FAILURE: 1,
  /** Bad usage: an unknown option, an invalid value or an invalid config file; nothing was started. */
  USAGE: 2,
  /** Something to be reached did not answer: the daemon's status endpoint (`status`), a destination (`check --connect`). */
  UNREACHABLE: 3,
  /** The daemon answered, but not every tunnel is ready (`status`). */
  NOT_READY: 4,
  /** A bug: an error nobody handled (please report it with the log). */
  INTERNAL: 70,
} as const;

export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** The status after a second SIGINT/SIGTERM cut a shutdown short: 128 + the signal's number, as shells report it. */
export function signalExitCode(signal: NodeJS.Signals): number {
  return 128 + (signal === 'SIGINT' ? 2 : signal === 'SIGTERM' ? 15 : 0);
}

/** `--help`'s epilogue; the README's table says the same. */
export const EXIT_STATUS_HELP = [
  'Exit status:',
  `  ${ExitCode.OK}    done, or stopped cleanly by SIGINT/SIGTERM`,
  `  ${ExitCode.FAILURE}    the command could not do its job (the service or the network refused)`,
  `  ${ExitCode.USAGE}    bad usage: unknown option, invalid value or invalid config; nothing started`,
  `  ${ExitCode.UNREACHABLE}    no answer: the daemon's status endpoint (status), a destination (check --connect)`,
  `  ${ExitCode.NOT_READY}    the daemon answered, but not every tunnel is ready (status)`,
  `  ${ExitCode.INTERNAL}   internal error (an unhandled error; please report it)`,
  '  130/143  a second SIGINT/SIGTERM cut the shutdown short',
].join('\n');
