import { randomBytes, randomInt } from 'node:crypto';
import { ApiError, serializationError, validationError } from './api-errors.js';
import { nextPageToken, optionalString, pageStart, type JsonObject } from './ssm-operations.js';
import type { EmulatedTargetConfig, TargetDirectory } from './targets.js';

/*
 * Emulated ECS tasks with ECS Exec: the subset of the ECS API that resolving a service target uses
 * (ListTasks, DescribeTasks, AWS JSON 1.1 as `AmazonEC2ContainerServiceV20141113.<Operation>`), and
 * each running task's containers as session targets `ecs:<cluster>_<task id>_<runtime id>`. Tasks
 * can be stopped and replaced while the emulator runs, as a deployment does.
 */

export const ECS_TARGET_PREFIX = 'AmazonEC2ContainerServiceV20141113.';

/** A task of a service, with one or more containers that all see `address` as their localhost. */
export interface EmulatedEcsTaskConfig {
  cluster: string;
  service: string;
  /** Container names; default `['app']`. */
  containers?: string[];
  /** What "localhost" means in the task; default `127.0.0.1`. */
  address?: string;
  /** Destinations sessions through the task may reach (`host:port`, `host:*`, `*`); default `['*']`. */
  allowedDestinations?: string[];
  /** The service's ECS Exec setting; default true. */
  enableExecuteCommand?: boolean;
  /** `lastStatus` of the ExecuteCommandAgent in each container; default `RUNNING`. */
  execAgentStatus?: string;
}

export interface EmulatedEcsTask {
  readonly taskArn: string;
  readonly taskId: string;
  readonly cluster: string;
  readonly service: string;
  lastStatus: 'RUNNING' | 'STOPPED';
  readonly enableExecuteCommand: boolean;
  readonly containers: readonly { name: string; runtimeId: string; execAgentStatus: string; targetId: string }[];
  /** What it was started with, so a replacement is started alike. */
  readonly config: Readonly<EmulatedEcsTaskConfig>;
}

/** The fake account the emulator's ARNs carry. */
const ACCOUNT = '123456789012';
const LIST_PAGE = { min: 1, max: 100 } as const;
const DESCRIBE_MAX = 100;

export class EcsTaskDirectory {
  private readonly tasks: EmulatedEcsTask[] = [];

  constructor(
    private readonly region: string,
    private readonly targets: TargetDirectory,
    /** Ends the sessions of a stopped task's containers. */
    private readonly onStopped: (targetIds: readonly string[]) => void,
  ) {}

  /** Starts a task of the service; its containers take sessions at once. */
  run(config: EmulatedEcsTaskConfig): EmulatedEcsTask {
    const taskId = randomBytes(16).toString('hex');
    const target: EmulatedTargetConfig = {
      ...(config.address === undefined ? {} : { address: config.address }),
      ...(config.allowedDestinations === undefined ? {} : { allowedDestinations: config.allowedDestinations }),
    };
    const enableExecuteCommand = config.enableExecuteCommand ?? true;
    const containers = (config.containers ?? ['app']).map((name) => {
      const runtimeId = `${taskId}-${randomInt(1_000_000_000, 9_999_999_999)}`;
      const targetId = `ecs:${config.cluster}_${taskId}_${runtimeId}`;
      // Without ECS Exec there is no agent in the task to start a session with.
      if (enableExecuteCommand) this.targets.addTaskContainer(targetId, target);
      return { name, runtimeId, execAgentStatus: enableExecuteCommand ? (config.execAgentStatus ?? 'RUNNING') : 'STOPPED', targetId };
    });
    const task: EmulatedEcsTask = {
      taskArn: `arn:aws:ecs:${this.region}:${ACCOUNT}:task/${config.cluster}/${taskId}`,
      taskId,
      cluster: config.cluster,
      service: config.service,
      lastStatus: 'RUNNING',
      enableExecuteCommand,
      containers,
      config: { ...config },
    };
    this.tasks.push(task);
    return task;
  }

  /** Stops a task: its containers stop taking sessions and their sessions end. False if unknown or stopped. */
  stop(taskId: string): boolean {
    const task = this.tasks.find((t) => t.taskId === taskId);
    if (task === undefined || task.lastStatus === 'STOPPED') return false;
    task.lastStatus = 'STOPPED';
    for (const container of task.containers) this.targets.removeTaskContainer(container.targetId);
    this.onStopped(task.containers.map((container) => container.targetId));
    return true;
  }

  /**
   * A deployment: every running task of the service is stopped (its sessions end) and a new one
   * started in its place, with new task and runtime ids. Returns the new tasks.
   */
  replace(cluster: string, service: string): EmulatedEcsTask[] {
    const running = this.list(cluster, service).filter((task) => task.lastStatus === 'RUNNING');
    if (running.length === 0) throw new Error(`The emulator has no running task of service ${service} in cluster ${cluster}`);
    const started = running.map((task) => this.run(task.config));
    for (const task of running) this.stop(task.taskId);
    return started;
  }

  list(cluster?: string, service?: string): EmulatedEcsTask[] {
    return this.tasks.filter((task) => (cluster === undefined || task.cluster === cluster) && (service === undefined || task.service === service));
  }

  answer(operation: string, input: JsonObject): JsonObject {
    switch (operation) {
      case 'ListTasks':
        return this.listTasks(input);
      case 'DescribeTasks':
        return this.describeTasks(input);
      default:
        throw new ApiError('UnknownOperationException', `ECS operation ${operation} is not supported by the emulator`);
    }
  }

  private listTasks(input: JsonObject): JsonObject {
    const cluster = this.knownCluster(input.cluster);
    const service = optionalString(input, 'serviceName');
    if (service !== undefined && !this.tasks.some((task) => task.cluster === cluster && task.service === service)) {
      throw new ApiError('ServiceNotFoundException', `Service not found: ${service}`);
    }
    const desired = optionalString(input, 'desiredStatus') ?? 'RUNNING';
    if (!['RUNNING', 'PENDING', 'STOPPED'].includes(desired)) throw validationError(`desiredStatus must be RUNNING, PENDING or STOPPED, got ${desired}`);
    const maxResults = typeof input.maxResults === 'number' ? input.maxResults : LIST_PAGE.max;
    if (!Number.isInteger(maxResults) || maxResults < LIST_PAGE.min || maxResults > LIST_PAGE.max) {
      throw new ApiError('InvalidParameterException', `maxResults must be ${LIST_PAGE.min}-${LIST_PAGE.max}`);
    }
    const start = pageStart(optionalString(input, 'nextToken'), () => new ApiError('InvalidParameterException', 'The nextToken is not one this service issued'));
    const matching = this.tasks.filter(
      (task) => task.cluster === cluster && (service === undefined || task.service === service) && task.lastStatus === (desired === 'STOPPED' ? 'STOPPED' : 'RUNNING'),
    );
    const page = matching.slice(start, start + maxResults);
    const end = start + page.length;
    return { taskArns: page.map((task) => task.taskArn), ...(end < matching.length ? { nextToken: nextPageToken(end) } : {}) };
  }

  private describeTasks(input: JsonObject): JsonObject {
    const cluster = this.knownCluster(input.cluster);
    const wanted = input.tasks;
    if (!Array.isArray(wanted) || !wanted.every((t) => typeof t === 'string')) throw serializationError('tasks: expected a list of strings');
    if (wanted.length === 0 || wanted.length > DESCRIBE_MAX) throw new ApiError('InvalidParameterException', `tasks must list 1-${DESCRIBE_MAX} tasks`);
    const tasks: JsonObject[] = [];
    const failures: JsonObject[] = [];
    for (const reference of wanted) {
      const task = this.tasks.find((t) => t.cluster === cluster && (t.taskArn === reference || t.taskId === reference));
      if (task === undefined) failures.push({ arn: reference, reason: 'MISSING' });
      else tasks.push(describe(task, this.region));
    }
    return { tasks, failures };
  }

  /** ListTasks and DescribeTasks default to the cluster named `default`; an ARN names it by its last part. */
  private knownCluster(value: unknown): string {
    if (value !== undefined && typeof value !== 'string') throw serializationError('cluster: expected a string');
    const cluster = value === undefined ? 'default' : value.slice(value.lastIndexOf('/') + 1);
    if (!this.tasks.some((task) => task.cluster === cluster)) throw new ApiError('ClusterNotFoundException', 'Cluster not found.');
    return cluster;
  }
}

function describe(task: EmulatedEcsTask, region: string): JsonObject {
  return {
    taskArn: task.taskArn,
    clusterArn: `arn:aws:ecs:${region}:${ACCOUNT}:cluster/${task.cluster}`,
    group: `service:${task.service}`,
    lastStatus: task.lastStatus,
    desiredStatus: task.lastStatus,
    launchType: 'FARGATE',
    enableExecuteCommand: task.enableExecuteCommand,
    containers: task.containers.map((container) => ({
      containerArn: `arn:aws:ecs:${region}:${ACCOUNT}:container/${task.cluster}/${task.taskId}/${container.runtimeId}`,
      taskArn: task.taskArn,
      name: container.name,
      runtimeId: container.runtimeId,
      lastStatus: task.lastStatus,
      managedAgents: [{ name: 'ExecuteCommandAgent', lastStatus: task.lastStatus === 'STOPPED' ? 'STOPPED' : container.execAgentStatus }],
    })),
  };
}
