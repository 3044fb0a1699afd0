#!/usr/bin/env node
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import type { CommandModule } from 'yargs';
import { commands } from './commands/index.js';

const cli = yargs(hideBin(process.argv))
  .scriptName('ssm-tunnel')
  .usage('$0 <command> [options]\n\nPort forwarding over AWS Systems Manager Session Manager, without the plugin.')
  .strict()
  .demandCommand(1, 'Name a command: see --help.')
  .recommendCommands()
  .help()
  .alias('h', 'help')
  .version()
  .wrap(Math.min(110, process.stdout.columns ?? 110))
  .fail((message, error, y) => {
    if (error) throw error;
    process.stderr.write(`${y.help().toString()}\n\n${message}\n`);
    process.exit(2);
  });

for (const command of commands) cli.command(command as CommandModule);

await cli.parseAsync();
