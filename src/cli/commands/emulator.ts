import type { LevelWithSilent } from 'pino';
import type { CommandModule } from 'yargs';
import { parseDuration } from '../../daemon/duration.js';
import { DEFAULT_AGENT_VERSION, startEmulator, type EmulatedEcsTaskConfig, type EmulatorTargetConfig } from '../../emulator/index.js';
import { formatHostPort } from '../../util/net.js';
import { createCliLogger, LOG_OPTIONS, type LogFormat } from '../logger.js';

interface EmulatorArgs {
  port: number;
  host: string;
  region: string;
  target: string[];
  'ecs-task': string[];
  'agent-version': string;
  pacing: boolean;
  'idle-timeout': string;
  'max-session-duration'?: string;
  tls: boolean;
  'log-level': LevelWithSilent;
  'log-format': LogFormat;
}

const EXAMPLE_TARGET = 'i-0123456789abcdef0';

/**
 * `ID`, `ID=HOST` or `ID=HOST:PORT` (IPv6 in brackets): HOST is what "localhost" means on the
 * target (default 127.0.0.1); with PORT, sessions may reach only that port on it, otherwise anything.
 */
export function parseTargetSpec(spec: string): [string, EmulatorTargetConfig] {
  const equals = spec.indexOf('=');
  const id = equals < 0 ? spec : spec.slice(0, equals);
  if (id === '') throw new Error(`--target ${JSON.stringify(spec)}: the target id is empty (expected ID, ID=HOST or ID=HOST:PORT)`);
  if (equals < 0) return [id, {}];
  return [id, parseAddress('--target', spec, spec.slice(equals + 1))];
}

/** `HOST` or `HOST:PORT` after the `=` of a --target or --ecs-task value. */
function parseAddress(option: string, spec: string, where: string): Pick<EmulatorTargetConfig, 'address' | 'allowedDestinations'> {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+))(?::(\d+))?$/.exec(where);
  if (match === null) throw new Error(`${option} ${JSON.stringify(spec)}: expected HOST or HOST:PORT after '=', got ${JSON.stringify(where)}`);
  const host = match[1] ?? match[2]!;
  if (match[3] === undefined) return { address: host };
  const port = Number(match[3]);
  if (port < 1 || port > 65535) throw new Error(`${option} ${JSON.stringify(spec)}: port ${match[3]} is not 1-65535`);
  return { address: host, allowedDestinations: [formatHostPort(host, port), `localhost:${port}`] };
}

/**
 * `CLUSTER/SERVICE/CONTAINER[,CONTAINER…]`, optionally `=HOST` or `=HOST:PORT` as for --target: a
 * running ECS task of that service, with ECS Exec on.
 */
export function parseEcsTaskSpec(spec: string): EmulatedEcsTaskConfig {
  const equals = spec.indexOf('=');
  const names = equals < 0 ? spec : spec.slice(0, equals);
  const match = /^([A-Za-z0-9_-]+)\/([A-Za-z0-9_-]+)\/([A-Za-z0-9_,-]+)$/.exec(names);
  if (match === null) throw new Error(`--ecs-task ${JSON.stringify(spec)}: expected CLUSTER/SERVICE/CONTAINER[,CONTAINER…][=HOST[:PORT]]`);
  const address = equals < 0 ? {} : parseAddress('--ecs-task', spec, spec.slice(equals + 1));
  const containers = match[3]!.split(',');
  if (containers.some((name) => name === '')) throw new Error(`--ecs-task ${JSON.stringify(spec)}: a container name is empty`);
  return { cluster: match[1]!, service: match[2]!, containers, ...address };
}

export const emulatorCommand: CommandModule<object, EmulatorArgs> = {
  command: 'emulator',
  describe: 'Run a local stand-in for the SSM service and agent until Ctrl-C',
  builder: (y) =>
    y
      .option('port', { type: 'number', default: 0, describe: 'Port for the API and the data channels; 0 lets the OS choose' })
      .option('host', { type: 'string', default: '127.0.0.1', describe: 'Address to listen on' })
      .option('region', { type: 'string', default: 'us-east-1', describe: 'Region that request signatures must use' })
      .option('target', {
        type: 'string',
        array: true,
        default: [] as string[],
        describe: 'A managed node: ID, ID=HOST or ID=HOST:PORT (HOST is its "localhost"; PORT limits sessions to it). Repeatable.',
      })
      .option('ecs-task', {
        type: 'string',
        array: true,
        default: [] as string[],
        describe: 'A running ECS task: CLUSTER/SERVICE/CONTAINER[,CONTAINER], optionally =HOST or =HOST:PORT as for --target. Repeatable.',
      })
      .option('agent-version', { type: 'string', default: DEFAULT_AGENT_VERSION, describe: 'Agent version to report; 3.0.0.0 makes clients use basic mode' })
      .option('pacing', { type: 'boolean', default: true, describe: "The agent's 1 KiB + 1 ms per message (--no-pacing for benchmarks)" })
      .option('idle-timeout', { type: 'string', default: '20m', describe: 'End sessions with no data for this long (e.g. 90s, 20m)' })
      .option('max-session-duration', { type: 'string', describe: 'End sessions this long after they start (default: no limit)' })
      .option('tls', { type: 'boolean', default: false, describe: 'Serve https and wss, as AWS does, with a certificate made at start; clients trust its CA with AWS_CA_BUNDLE' })
      .options(LOG_OPTIONS)
      .example(`$0 emulator --port 8443 --target ${EXAMPLE_TARGET}=127.0.0.1:5432`, 'one node whose sessions reach local port 5432')
      .example(`$0 emulator --target ${EXAMPLE_TARGET} --agent-version 3.0.0.0 --no-pacing`, 'basic mode, full speed')
      .example('$0 emulator --ecs-task prod/api/app=127.0.0.1:5432', 'an ECS service with one task whose sessions reach local port 5432')
      .example(`$0 emulator --tls --target ${EXAMPLE_TARGET}`, 'https and wss, as AWS serves them'),
  handler: async (args) => {
    const logger = createCliLogger({ level: args['log-level'], format: args['log-format'], fd: 2 });
    let targets: Record<string, EmulatorTargetConfig>;
    let ecsTasks: EmulatedEcsTaskConfig[];
    let idleTimeoutMs: number;
    let maxSessionDurationMs: number | undefined;
    try {
      ecsTasks = args['ecs-task'].map(parseEcsTaskSpec);
      targets = Object.fromEntries((args.target.length === 0 && ecsTasks.length === 0 ? [EXAMPLE_TARGET] : args.target).map(parseTargetSpec));
      idleTimeoutMs = parseDuration(args['idle-timeout']);
      maxSessionDurationMs = args['max-session-duration'] === undefined ? undefined : parseDuration(args['max-session-duration']);
    } catch (error) {
      process.stderr.write(`ssm-tunnel emulator: ${(error as Error).message}\n`);
      process.exit(2);
    }
    const emulator = await startEmulator({
      port: args.port,
      host: args.host,
      region: args.region,
      targets,
      ecsTasks,
      agentVersion: args['agent-version'],
      pacing: args.pacing,
      idleTimeoutMs,
      ...(maxSessionDurationMs === undefined ? {} : { maxSessionDurationMs }),
      tls: args.tls,
      logger,
    }).catch((error: Error) => {
      process.stderr.write(`ssm-tunnel emulator: cannot start: ${error.message}\n`);
      process.exit(1);
    });
    const { endpoint, region, credentials, caFile } = emulator;
    const firstTask = ecsTasks[0];
    const [firstTarget, firstConfig] = Object.entries(targets)[0] ?? [undefined, firstTask ?? {}];
    const examplePort = /:(\d+)$/.exec(firstConfig.allowedDestinations?.[0] ?? '')?.[1] ?? '5432';
    const exampleTarget =
      firstTarget !== undefined
        ? `--target ${firstTarget}`
        : `--ecs-cluster ${firstTask!.cluster} --ecs-service ${firstTask!.service} --ecs-container ${firstTask!.containers?.[0] ?? 'app'}`;
    const lines = [
      `SSM emulator listening on ${endpoint} (region ${region}, agent ${args['agent-version']}, pacing ${args.pacing ? 'on' : 'off'})`,
      ...Object.entries(targets).map(
        ([id, target]) => `  target ${id}: localhost is ${target.address ?? '127.0.0.1'}, destinations ${(target.allowedDestinations ?? ['*']).join(', ')}`,
      ),
      ...emulator.ecs.list().flatMap((task) =>
        task.containers.map(
          (container) =>
            `  ECS task ${task.cluster}/${task.service}/${container.name}: target ${container.targetId}, localhost is ${task.config.address ?? '127.0.0.1'}`,
        ),
      ),
      '',
      'Credentials (not AWS credentials; the emulator accepts only these):',
      `  export AWS_ACCESS_KEY_ID=${credentials.accessKeyId}`,
      `  export AWS_SECRET_ACCESS_KEY='${credentials.secretAccessKey}'`,
      `  export AWS_REGION=${region}`,
      ...(caFile === undefined ? [] : [`  export AWS_CA_BUNDLE=${caFile}   # the emulator's test CA, made at start, removed at exit`]),
      '',
      'Then, for example:',
      `  ssm-tunnel open --endpoint ${endpoint} --region ${region} ${exampleTarget} --remote-port ${examplePort}`,
      ...(firstTarget === undefined
        ? []
        : [`  aws ssm start-session --endpoint-url ${endpoint} --target ${firstTarget} --document-name AWS-StartPortForwardingSession --parameters portNumber=${examplePort}`]),
      '',
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
    const stop = (): void => {
      void emulator.close().then(() => process.exit(0));
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  },
};
