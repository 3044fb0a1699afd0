#!/usr/bin/env node
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import type { CommandModule } from 'yargs';
import { commands } from './commands/index.js';
import { completeWords } from './completion.js';
import { EXIT_STATUS_HELP, ExitCode } from './exit-codes.js';

// A rejection nobody handled is a bug: say so and exit with its own status, never carry on.
process.on('unhandledRejection', (reason) => {
  process.stderr.write(`ssm-tunnel: internal error (unhandled rejection): ${reason instanceof Error ? (reason.stack ?? reason.message) : String(reason)}\n`);
  process.exit(ExitCode.INTERNAL);
});

/** package.json's version, written in by the bundler (scripts/build-cli.js). */
declare const SSM_TUNNEL_VERSION: string;

// The SDK warns on Node 20 about its releases after January 2027; ours is pinned by the lock file.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const cli = yargs(hideBin(process.argv))
  .scriptName('ssm-tunnel')
  .usage('$0 <command> [options]\n\nPort forwarding over AWS Systems Manager Session Manager, without the plugin.')
  .strict()
  .demandCommand(1, 'Name a command: see --help.')
  .recommendCommands()
  .completion('completion', 'Print a completion script for bash or zsh (see README, "Shell completion")', completeWords)
  .help()
  .alias('h', 'help')
  .version(SSM_TUNNEL_VERSION)
  .epilogue(EXIT_STATUS_HELP)
  .wrap(Math.min(110, process.stdout.columns ?? 110))
  .fail((message, error, y) => {
    // A message means bad usage (unknown option, failed check); otherwise a command failed.
    if (!message) throw error;
    // Completing a half-typed command line: it is incomplete by nature, so nothing to report.
    if (process.argv.includes('--get-yargs-completions')) return;
    process.stderr.write(`${y.help().toString()}\n\n${message}\n`);
    process.exit(ExitCode.USAGE);
  });

for (const command of commands) cli.command(command as CommandModule);

try {
  await cli.parseAsync();
} catch (error) {
  process.stderr.write(`ssm-tunnel: ${(error as Error).message}\n`);
  process.exit(ExitCode.FAILURE);
}
