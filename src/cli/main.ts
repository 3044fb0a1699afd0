#!/usr/bin/env node
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import type { CommandModule } from 'yargs';
import { commands } from './commands/index.js';

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
  .help()
  .alias('h', 'help')
  .version(SSM_TUNNEL_VERSION)
  .wrap(Math.min(110, process.stdout.columns ?? 110))
  .fail((message, error, y) => {
    // A message means bad usage (unknown option, failed check); otherwise a command failed.
    if (!message) throw error;
    process.stderr.write(`${y.help().toString()}\n\n${message}\n`);
    process.exit(2);
  });

for (const command of commands) cli.command(command as CommandModule);

try {
  await cli.parseAsync();
} catch (error) {
  process.stderr.write(`ssm-tunnel: ${(error as Error).message}\n`);
  process.exit(1);
}
