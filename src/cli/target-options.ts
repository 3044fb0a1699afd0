import type { Argv } from 'yargs';
import type { TargetSpec } from '../aws/target-resolver.js';

/*
 * How every command that starts sessions is told its target: --target (an id, an ecs: id or
 * name:<Name>), --tag Key=Value, or --ecs-cluster/--ecs-service[/--ecs-container]. Exactly one way.
 */

export interface TargetArgs {
  target?: string;
  tag?: string[];
  'ecs-cluster'?: string;
  'ecs-service'?: string;
  'ecs-container'?: string;
}

export function targetOptions<T>(y: Argv<T>): Argv<T & TargetArgs> {
  return y
    .option('target', { type: 'string', describe: 'Instance or managed node id (i-…, mi-…), ECS task (ecs:<cluster>_<task>_<runtime id>), or name:<Name tag>' })
    .option('tag', { type: 'string', array: true, describe: 'Find the target by tag instead: Key=Value (repeat to require several)' })
    .option('ecs-cluster', { type: 'string', describe: 'Or an ECS service: its cluster (with --ecs-service)' })
    .option('ecs-service', { type: 'string', describe: 'The ECS service; a running task with ECS Exec is picked before every new session' })
    .option('ecs-container', { type: 'string', describe: "The task's container, when it has several" })
    .check((argv) => {
      targetProblem(argv);
      return true;
    });
}

/** Throws (as yargs' checks do) when the target options are missing, mixed or malformed. */
function targetProblem(args: TargetArgs): void {
  const ecs = args['ecs-cluster'] !== undefined || args['ecs-service'] !== undefined || args['ecs-container'] !== undefined;
  const given = [args.target !== undefined, args.tag !== undefined, ecs].filter(Boolean).length;
  if (given !== 1) throw new Error('give one of --target, --tag, or --ecs-cluster with --ecs-service');
  if (ecs && (args['ecs-cluster'] === undefined || args['ecs-service'] === undefined)) throw new Error('--ecs-cluster and --ecs-service go together');
  const badTag = args.tag?.find((pair) => pair.indexOf('=') <= 0);
  if (badTag !== undefined) throw new Error(`--tag must be Key=Value, got ${JSON.stringify(badTag)}`);
}

/** The target the options name (checked by `targetOptions`). */
export function targetFromArgs(args: TargetArgs): TargetSpec {
  if (args.target !== undefined) return args.target;
  if (args['ecs-cluster'] !== undefined && args['ecs-service'] !== undefined) {
    return {
      ecs: {
        cluster: args['ecs-cluster'],
        service: args['ecs-service'],
        ...(args['ecs-container'] === undefined ? {} : { container: args['ecs-container'] }),
      },
    };
  }
  const tags: Record<string, string> = {};
  for (const pair of args.tag ?? []) {
    const at = pair.indexOf('=');
    tags[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return { tag: tags };
}
