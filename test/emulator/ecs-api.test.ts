import { DescribeTasksCommand, ECSClient, ListTasksCommand } from '@aws-sdk/client-ecs';
import { ListDocumentsCommand, SSMClient, StartSessionCommand } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmulatorService } from '../../src/emulator/service-api.js';
import { EMULATOR_CREDENTIALS } from '../../src/emulator/sigv4-verifier.js';

const emulator = new EmulatorService();
let endpoint: string;
let ecs: ECSClient;

beforeAll(async () => {
  ({ endpoint } = await emulator.listen());
  ecs = new ECSClient({ region: 'us-east-1', endpoint, credentials: EMULATOR_CREDENTIALS, maxAttempts: 1 });
  for (let i = 0; i < 3; i++) emulator.ecsTasks.run({ cluster: 'prod', service: 'api', containers: ['app', 'envoy'] });
  emulator.ecsTasks.run({ cluster: 'prod', service: 'worker' });
});

afterAll(async () => {
  ecs.destroy();
  await emulator.close();
});

describe('the emulated ECS API', () => {
  it("lists a service's running tasks page by page, as the SDK's ECS client asks", async () => {
    const first = await ecs.send(new ListTasksCommand({ cluster: 'prod', serviceName: 'api', maxResults: 2 }));
    expect(first.taskArns).toHaveLength(2);
    const second = await ecs.send(new ListTasksCommand({ cluster: 'prod', serviceName: 'api', maxResults: 2, nextToken: first.nextToken }));
    expect(second.taskArns).toHaveLength(1);
    expect(second.nextToken).toBeUndefined();
    expect([...first.taskArns!, ...second.taskArns!].every((arn) => /^arn:aws:ecs:us-east-1:\d{12}:task\/prod\/[0-9a-f]{32}$/.test(arn))).toBe(true);
  });

  it('describes containers with their runtime ids and the ECS Exec agent', async () => {
    const { taskArns } = await ecs.send(new ListTasksCommand({ cluster: 'prod', serviceName: 'worker' }));
    const { tasks, failures } = await ecs.send(new DescribeTasksCommand({ cluster: 'prod', tasks: [...taskArns!, 'arn:aws:ecs:us-east-1:123456789012:task/prod/nope'] }));
    expect(failures).toEqual([{ arn: 'arn:aws:ecs:us-east-1:123456789012:task/prod/nope', reason: 'MISSING' }]);
    expect(tasks).toHaveLength(1);
    const [task] = tasks!;
    expect(task).toMatchObject({ lastStatus: 'RUNNING', enableExecuteCommand: true });
    expect(task!.containers![0]).toMatchObject({ name: 'app', managedAgents: [{ name: 'ExecuteCommandAgent', lastStatus: 'RUNNING' }] });
    expect(task!.containers![0]!.runtimeId).toMatch(new RegExp(`^${task!.taskArn!.split('/').pop()!}-\\d+$`));
  });

  it('answers ClusterNotFoundException and ServiceNotFoundException as ECS does', async () => {
    await expect(ecs.send(new ListTasksCommand({ cluster: 'staging', serviceName: 'api' }))).rejects.toMatchObject({ name: 'ClusterNotFoundException' });
    await expect(ecs.send(new ListTasksCommand({ cluster: 'prod', serviceName: 'web' }))).rejects.toMatchObject({ name: 'ServiceNotFoundException' });
  });

  it('checks that a signature is scoped to ecs, not ssm', async () => {
    const ssm = new SSMClient({ region: 'us-east-1', endpoint, credentials: EMULATOR_CREDENTIALS, maxAttempts: 1 });
    // Signed by the SSM client (scope .../ssm/aws4_request), addressed to the ECS API.
    ssm.middlewareStack.add(
      (next) => (args) => {
        (args.request as { headers: Record<string, string> }).headers['x-amz-target'] = 'AmazonEC2ContainerServiceV20141113.ListTasks';
        return next(args);
      },
      { step: 'build' },
    );
    await expect(ssm.send(new ListDocumentsCommand({}))).rejects.toMatchObject({
      name: 'InvalidSignatureException',
      message: expect.stringContaining("'ecs', got 'ssm'") as unknown,
    });
    ssm.destroy();
  });

  it("takes sessions to a running task's containers and refuses them once the task stopped", async () => {
    const ssm = new SSMClient({ region: 'us-east-1', endpoint, credentials: EMULATOR_CREDENTIALS, maxAttempts: 1 });
    const task = emulator.ecsTasks.list('prod', 'worker')[0]!;
    const target = task.containers[0]!.targetId;
    const started = await ssm.send(new StartSessionCommand({ Target: target, DocumentName: 'AWS-StartPortForwardingSession', Parameters: { portNumber: ['80'] } }));
    expect(emulator.sessions.get(started.SessionId!)?.state).toBe('pending');
    emulator.ecsTasks.stop(task.taskId);
    expect(emulator.sessions.get(started.SessionId!)?.state).toBe('terminated');
    await expect(ssm.send(new StartSessionCommand({ Target: target, DocumentName: 'AWS-StartPortForwardingSession', Parameters: { portNumber: ['80'] } }))).rejects.toMatchObject({
      name: 'TargetNotConnected',
    });
    ssm.destroy();
  });
});
