import { DescribeTasksCommand, ECSClient, ListTasksCommand } from '@aws-sdk/client-ecs';
import type { ECSClientConfig, Task } from '@aws-sdk/client-ecs';
import type { EcsContainer, EcsTask } from './session-api.js';

/*
 * The two ECS calls an ECS service target needs. Loaded with import() by ssm-session-api.ts the
 * first time such a target is resolved, so users of instance targets never load the ECS client.
 */

/** DescribeTasks takes at most this many tasks per call (an API limit). */
const DESCRIBE_BATCH = 100;
/** The agent ECS Exec runs in each container; sessions need it RUNNING. */
const EXEC_AGENT = 'ExecuteCommandAgent';

export interface EcsTaskLister {
  serviceTasks(cluster: string, service: string): Promise<EcsTask[]>;
  destroy(): void;
}

/** `call` wraps each request so errors carry the operation and subject, as SSM calls' do. */
export function createEcsTaskLister(
  config: ECSClientConfig,
  call: <T>(operation: string, subject: string, send: () => Promise<T>) => Promise<T>,
): EcsTaskLister {
  const client = new ECSClient(config);
  return {
    async serviceTasks(cluster, service) {
      const subject = `service ${service} in cluster ${cluster}`;
      const arns: string[] = [];
      let nextToken: string | undefined;
      do {
        const page = await call('ecs:ListTasks', subject, () =>
          client.send(new ListTasksCommand({ cluster, serviceName: service, desiredStatus: 'RUNNING', ...(nextToken === undefined ? {} : { nextToken }) })),
        );
        arns.push(...(page.taskArns ?? []));
        nextToken = page.nextToken;
      } while (nextToken);
      const tasks: EcsTask[] = [];
      for (let start = 0; start < arns.length; start += DESCRIBE_BATCH) {
        const batch = arns.slice(start, start + DESCRIBE_BATCH);
        const described = await call('ecs:DescribeTasks', subject, () => client.send(new DescribeTasksCommand({ cluster, tasks: batch })));
        tasks.push(...(described.tasks ?? []).flatMap(toEcsTask));
      }
      return tasks;
    },
    destroy() {
      client.destroy();
    },
  };
}

function toEcsTask(task: Task): EcsTask[] {
  if (task.taskArn === undefined) return [];
  return [
    {
      taskArn: task.taskArn,
      taskId: task.taskArn.slice(task.taskArn.lastIndexOf('/') + 1),
      lastStatus: task.lastStatus ?? 'UNKNOWN',
      enableExecuteCommand: task.enableExecuteCommand === true,
      containers: (task.containers ?? []).flatMap((container): EcsContainer[] => {
        if (container.name === undefined) return [];
        const agent = container.managedAgents?.find((managed) => managed.name === EXEC_AGENT);
        return [
          {
            name: container.name,
            ...(container.runtimeId === undefined ? {} : { runtimeId: container.runtimeId }),
            ...(agent?.lastStatus === undefined ? {} : { execAgentStatus: agent.lastStatus }),
          },
        ];
      }),
    },
  ];
}
