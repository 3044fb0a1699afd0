import type { LevelWithSilent } from 'pino';
import type { CommandModule } from 'yargs';
import { LOG_LEVELS, type LogFormat } from '../log-options.js';

interface UpArgs {
  config: string;
  'log-level'?: LevelWithSilent;
  'log-format'?: LogFormat;
}

/** Exit status for an invalid config: nothing was started. */
export const EXIT_INVALID_CONFIG = 2;

const SIGNAL_NUMBERS: Record<string, number> = { SIGINT: 2, SIGTERM: 15 };

export const upCommand: CommandModule<object, UpArgs> = {
  command: 'up',
  describe: 'Run the daemon: every tunnel of a config file, until SIGTERM (SIGHUP reloads the file)',
  builder: (y) =>
    y
      .option('config', { alias: 'c', type: 'string', demandOption: true, describe: 'YAML config file (see config.example.yaml)' })
      .option('log-level', { choices: LOG_LEVELS, describe: "Overrides the config's log.level" })
      .option('log-format', { choices: ['auto', 'json', 'pretty'] as const, describe: "Overrides the config's log.format (auto: readable on a terminal)" })
      .example('$0 up --config /etc/ssm-tunnel/tunnels.yaml', ''),
  handler: async (args) => {
    const [{ formatConfigError, loadConfig }, { Daemon }, { createCliLogger }] = await Promise.all([
      import('../../daemon/config.js'),
      import('../../daemon/daemon.js'),
      import('../logger.js'),
    ]);
    const loaded = await loadConfig(args.config);
    if ('errors' in loaded) {
      for (const error of loaded.errors) process.stderr.write(`${formatConfigError(error)}\n`);
      process.stderr.write(`ssm-tunnel: ${args.config} is invalid (${loaded.errors.length} error${loaded.errors.length === 1 ? '' : 's'}); nothing started\n`);
      process.exit(EXIT_INVALID_CONFIG);
    }
    const { config } = loaded;
    // journald reads stdout; the logs are the daemon's only output.
    const logger = await createCliLogger({ level: args['log-level'] ?? config.log.level, format: args['log-format'] ?? config.log.format, fd: 1 });
    // Handlers go in before the tunnels start: a signal during start-up must not kill the process
    // with Node's default action (SIGHUP would, leaving sessions open).
    const starting = Daemon.start(config, { configFile: args.config, logger });

    process.on('SIGHUP', () => {
      logger.info('SIGHUP: reloading the config');
      void starting.then((daemon) => daemon.reload());
    });
    let stopping = false;
    const stop = (signal: NodeJS.Signals): void => {
      if (stopping) {
        logger.warn({ signal }, 'second signal: exiting at once');
        process.exit(128 + (SIGNAL_NUMBERS[signal] ?? 0));
      }
      stopping = true;
      logger.info({ signal }, 'stopping');
      starting
        .then((daemon) => daemon.shutdown())
        .then(
          () => process.exit(0),
          (error: Error) => {
            logger.error({ err: error.message }, 'shutdown failed');
            process.exit(1);
          },
        );
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
    await starting;
  },
};
