import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Duration } from 'aws-cdk-lib';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { BACKUP_STATES as B, ENV, RESTORE_STATES as R } from '../../lib/contract.js';
import type { FargateStep } from '../../lib/fargate-steps.js';
import type { DisasterRecoveryStack } from '../../lib/index.js';
import { allowedActions, type CfnResource, definitionOf, logicalId, ofType, roleStatements, type SynthResult, synthStack, testApp } from './helpers.js';

/**
 * The Fargate steps (compute `fargate` and `auto`) in the template: ARM64 task definitions whose
 * containers get names and ARNs but never a secret, task roles with exactly their Lambda twin's
 * grants, logs with retention, the image as an asset staged (not built) at synth, and the states
 * that run them.
 */

let auto: SynthResult;
let lambdaOnly: SynthResult;

beforeAll(() => {
  auto = synthStack({ compute: 'auto', fargateSizing: { restore: { cpu: 4096, memoryMiB: 8192, timeout: Duration.hours(3) } }, restoreMachineTimeout: Duration.hours(8) });
  lambdaOnly = synthStack();
});

function steps(stack: DisasterRecoveryStack): Record<string, FargateStep> {
  return {
    backup: stack.backup.fargate!.backup,
    backupValidate: stack.backup.fargate!.validate,
    restoreValidate: stack.restore.validateTask!,
    restore: stack.restore.restoreTask!,
    productionRestore: stack.restore.production.restoreTask!,
  };
}

type ContainerDefinition = { Environment: { Name: string; Value: unknown }[]; Secrets?: unknown; LogConfiguration: { LogDriver: string; Options: Record<string, unknown> }; Image: unknown };

function containerOf(step: FargateStep): ContainerDefinition {
  const props = auto.resources[logicalId(step.taskDefinition)]?.Properties as { ContainerDefinitions: ContainerDefinition[] };
  expect(props.ContainerDefinitions).toHaveLength(1);
  return props.ContainerDefinitions[0]!;
}

const envNames = (step: FargateStep) => containerOf(step).Environment.map((e) => e.Name).sort();

describe('Fargate task definitions', () => {
  it('adds nothing with compute lambda (the default): no cluster, no task, no image, no plan function', () => {
    for (const type of ['AWS::ECS::Cluster', 'AWS::ECS::TaskDefinition', 'AWS::EC2::VPC']) expect(ofType(lambdaOnly.resources, type)).toEqual({});
    expect(lambdaOnly.stack.backup.planner).toBeUndefined();
    expect(JSON.stringify(lambdaOnly.resources)).not.toContain('runTask');
  });

  it('runs each step on Fargate, ARM64 Linux, with the CPU and memory of its props', () => {
    const definitions = ofType(auto.resources, 'AWS::ECS::TaskDefinition');
    expect(Object.keys(definitions).sort()).toEqual(Object.values(steps(auto.stack)).map((s) => logicalId(s.taskDefinition)).sort());
    for (const definition of Object.values(definitions)) {
      expect(definition.Properties).toMatchObject({ RequiresCompatibilities: ['FARGATE'], NetworkMode: 'awsvpc', RuntimePlatform: { CpuArchitecture: 'ARM64', OperatingSystemFamily: 'LINUX' } });
    }
    expect(auto.resources[logicalId(steps(auto.stack).backup!.taskDefinition)]?.Properties).toMatchObject({ Cpu: '2048', Memory: '4096' });
    expect(auto.resources[logicalId(steps(auto.stack).restore!.taskDefinition)]?.Properties).toMatchObject({ Cpu: '4096', Memory: '8192' });
  });

  it('gives each container its Lambda twin\'s variables plus the step and its ceiling, and never a secret value', () => {
    const s = steps(auto.stack);
    const common = [ENV.serviceName, ENV.metricsNamespace, ENV.logLevel, ENV.containerStep, ENV.containerStepTimeoutSeconds, ENV.backupBucket, ENV.backupPrefix];
    expect(envNames(s.backup!)).toEqual([...common, ENV.backupKmsKeyId, ENV.sourceSecretArn, ENV.backupSchemas, ENV.backupTables, ENV.backupRows].sort());
    expect(envNames(s.backupValidate!)).toEqual([...common].sort());
    expect(envNames(s.restore!)).toEqual([...common, ENV.targetSecretArns, ENV.restoreGate].sort());
    for (const step of Object.values(s)) {
      const container = containerOf(step);
      // Secrets are read at run time by the task role: neither ECS `Secrets` nor a value that is one.
      expect(container.Secrets).toBeUndefined();
      for (const { Name, Value } of container.Environment) {
        expect(Name).not.toMatch(/PASSWORD|TOKEN|CONNECTION|DATABASE_URL|WEBHOOK_URL/i);
        expect(JSON.stringify(Value)).not.toMatch(/postgres:\/\/|password|SecretString|resolve:secretsmanager/i);
      }
    }
    const restoreEnv = Object.fromEntries(containerOf(s.restore!).Environment.map((e) => [e.Name, e.Value]));
    expect(JSON.stringify(restoreEnv[ENV.targetSecretArns])).toContain(logicalId(auto.stack.secrets.targets.staging));
    expect(JSON.stringify(restoreEnv[ENV.targetSecretArns])).not.toContain(logicalId(auto.stack.secrets.targets.production));
    expect(restoreEnv[ENV.containerStepTimeoutSeconds]).toBe('10800');
  });

  it('logs every container to the tasks\' log group, kept 90 days', () => {
    const group = logicalId(auto.stack.taskCluster!.logGroup);
    expect(auto.resources[group]?.Properties?.RetentionInDays).toBe(90);
    for (const step of Object.values(steps(auto.stack))) {
      expect(containerOf(step).LogConfiguration).toMatchObject({ LogDriver: 'awslogs', Options: { 'awslogs-group': { Ref: group } } });
    }
  });

  it('gives each task role exactly its Lambda twin\'s data access, plus reporting on its task token', () => {
    const s = steps(auto.stack);
    const dataActions = (roleLogicalId: string) => allowedActions(roleStatements(auto.resources, roleLogicalId)).filter((a) => !/^(logs|xray|states):/.test(a)).sort();
    const twins: [FargateStep, { role: Parameters<typeof logicalId>[0] }][] = [
      [s.backup!, auto.stack.backup.backupFunction],
      [s.backupValidate!, auto.stack.backup.validateFunction],
      [s.restore!, auto.stack.restore.restoreFunction],
      [s.productionRestore!, auto.stack.restore.production.restoreFunction],
    ];
    for (const [step, fn] of twins) {
      expect(dataActions(logicalId(step.taskRole))).toEqual(dataActions(logicalId(fn.role)));
      const reporting = roleStatements(auto.resources, logicalId(step.taskRole)).filter((st) => allowedActions([st]).some((a) => a.startsWith('states:')));
      expect(reporting).toEqual([{ Sid: 'ReportToStepFunctions', Effect: 'Allow', Action: ['states:SendTaskFailure', 'states:SendTaskHeartbeat', 'states:SendTaskSuccess'], Resource: '*' }]);
    }
    expect(allowedActions(roleStatements(auto.resources, logicalId(s.backupValidate!.taskRole))).filter((a) => a.startsWith('s3:')).sort()).toEqual(['s3:GetObject', 's3:ListBucket']);
    // The staging restore task may not read production's secret; the production one may, and the secret's policy lets it.
    const secretRefs = (step: FargateStep) => JSON.stringify(roleStatements(auto.resources, logicalId(step.taskRole)).filter((st) => allowedActions([st]).includes('secretsmanager:GetSecretValue')));
    expect(secretRefs(s.restore!)).not.toContain(logicalId(auto.stack.secrets.targets.production));
    expect(secretRefs(s.productionRestore!)).toContain(logicalId(auto.stack.secrets.targets.production));
    const policy = Object.values(ofType(auto.resources, 'AWS::SecretsManager::ResourcePolicy'))[0];
    expect(JSON.stringify(policy?.Properties?.ResourcePolicy)).toContain(logicalId(s.productionRestore!.taskRole));
  });

  it('keeps the backup task from replacing a manifest, as the backup function', () => {
    const policies = Object.values(ofType(auto.resources, 'AWS::S3::BucketPolicy')).map((p) => p.Properties?.PolicyDocument as { Statement: { Sid?: string; Principal: unknown }[] });
    const writeOnce = policies.flatMap((p) => p.Statement).find((st) => st.Sid === 'ManifestsAreWriteOnce');
    expect(JSON.stringify(writeOnce?.Principal)).toContain(logicalId(steps(auto.stack).backup!.taskRole));
  });

  it('places the tasks in a VPC of their own without a NAT gateway, public IP, no inbound rule, flow logs on', () => {
    expect(Object.keys(ofType(auto.resources, 'AWS::EC2::NatGateway'))).toEqual([]);
    expect(Object.keys(ofType(auto.resources, 'AWS::EC2::FlowLog'))).toHaveLength(1);
    const [group] = Object.values(ofType(auto.resources, 'AWS::EC2::SecurityGroup'));
    expect(group?.Properties?.SecurityGroupIngress).toBeUndefined();
    expect(ofType(auto.resources, 'AWS::ECS::Cluster')).toEqual({ [logicalId(auto.stack.taskCluster!.cluster)]: expect.objectContaining({ Properties: expect.objectContaining({ ClusterSettings: [{ Name: 'containerInsights', Value: 'enabled' }] }) }) });
  });

  it('warns when a Fargate step used more than 60 % of its ceiling, and judges a slow backup against the Fargate ceiling', () => {
    const alarm = auto.resources[logicalId(auto.stack.monitoring.alarms.FargateStepHeadroom!)]?.Properties;
    expect(alarm).toMatchObject({ MetricName: 'StepCeilingPercent', Threshold: 60, Statistic: 'Maximum', Dimensions: [{ Name: 'service', Value: 'iconic-dr' }] });
    expect(lambdaOnly.stack.monitoring.alarms.FargateStepHeadroom).toBeUndefined();
    const slow = Object.values(ofType(auto.resources, 'AWS::CloudWatch::Alarm')).find((a) => a.Properties?.MetricName === 'BackupDurationSeconds' && a.Properties?.ComparisonOperator === 'GreaterThanThreshold');
    expect(slow?.Properties?.Threshold).toBe(Math.floor(5400 * 0.6));
  });

  it('refuses a CPU and memory pair Fargate does not offer, and compute without a cluster', () => {
    expect(() => synthStack({ compute: 'fargate', fargateSizing: { backup: { cpu: 2048, memoryMiB: 2048 } } }, testApp())).toThrow(/memoryMiB 2048 is not valid for cpu 2048/);
    expect(() => synthStack({ compute: 'fargate', fargateSizing: { backup: { cpu: 3000 } } }, testApp())).toThrow(/cpu must be one of/);
  });
});

describe('the container image', () => {
  it('is a linux/arm64 image asset of the repository\'s Dockerfile, staged at synth without Docker: only the files the build needs', () => {
    const assembly = auto.app.synth();
    const manifestFile = readdirSync(assembly.directory).find((f) => f.endsWith('.assets.json'));
    const manifest = JSON.parse(readFileSync(path.join(assembly.directory, manifestFile!), 'utf8')) as { dockerImages: Record<string, { source: { directory: string; dockerFile: string; platform: string } }> };
    const images = Object.values(manifest.dockerImages);
    expect(images).toHaveLength(1);
    expect(images[0]!.source).toMatchObject({ dockerFile: 'lambdas/container/Dockerfile', platform: 'linux/arm64' });
    const staged = path.join(assembly.directory, images[0]!.source.directory);
    expect(readdirSync(staged).sort()).toEqual(['bin', 'lambdas', 'lib', 'package-lock.json', 'package.json', 'tsconfig.json']);
    expect(readdirSync(path.join(staged, 'bin'))).toEqual(['build-task.mjs']);
    expect(existsSync(path.join(staged, 'lambdas', 'container', 'Dockerfile'))).toBe(true);
  });
});

describe('states that run the steps', () => {
  type States = ReturnType<typeof definitionOf>['States'];
  let backup: States;
  let restore: States;
  beforeAll(() => {
    backup = definitionOf(auto.resources, logicalId(auto.stack.backup.stateMachine)).States;
    restore = definitionOf(auto.resources, logicalId(auto.stack.restore.stateMachine)).States;
  });

  it('plans first, then routes each big step to Lambda or Fargate by $.compute', () => {
    expect(backup.PlanCompute?.Next).toBe(`Route${B.backup}`);
    expect(backup[`Route${B.backup}`]).toMatchObject({ Type: 'Choice', Default: B.backup });
    expect(JSON.stringify(backup[`Route${B.backup}`]?.Choices)).toContain('$.compute.backup');
    expect(restore[R.checkConfirmation]?.Default).toBe('PlanCompute');
    expect(restore.PlanCompute?.Parameters).toMatchObject({ 'backupId.$': '$.backup.backupId', steps: ['validate', 'restore'] });
    // A plan that fails sends every step to Lambda rather than failing the run.
    expect(backup.PlanCompute?.Catch).toEqual([expect.objectContaining({ Next: 'PlanFallback' })]);
  });

  it('runs a Fargate step with waitForTaskToken, its event as JSON, its ceiling and a heartbeat, catching into the same Failed state as Lambda', () => {
    const task = restore[`${R.restore}OnFargate`]!;
    expect(task.Resource).toBe('arn:aws:states:::ecs:runTask.waitForTaskToken');
    expect(task).toMatchObject({ TimeoutSeconds: 10800, HeartbeatSeconds: 300 });
    const environment = (task.Parameters as { Overrides: { ContainerOverrides: { Environment: Record<string, string>[] }[] } }).Overrides.ContainerOverrides[0]!.Environment;
    expect(environment).toEqual([
      { Name: ENV.containerStepInput, 'Value.$': 'States.JsonToString($.stepInput)' },
      { Name: ENV.containerTaskToken, 'Value.$': '$$.Task.Token' },
      { Name: ENV.containerStepEnteredAt, 'Value.$': '$$.State.EnteredTime' },
    ]);
    expect(task.Catch).toEqual(restore[R.restore]!.Catch);
    expect(restore[`Prepare${R.restore}OnFargate`]?.Parameters).toEqual(restore[R.restore]?.Parameters);
    expect(backup[`Prepare${B.backup}OnFargate`]?.Parameters).toEqual(backup[B.backup]?.Parameters);
  });

  it('with compute fargate has no Lambda backup, validate or restore state and no plan', () => {
    const fargate = synthStack({ compute: 'fargate' }, testApp());
    const states = definitionOf(fargate.resources, logicalId(fargate.stack.backup.stateMachine)).States;
    expect(Object.keys(states)).not.toContain(B.backup);
    expect(Object.keys(states)).not.toContain('PlanCompute');
    expect(Object.keys(states)).toContain(`${B.backup}OnFargate`);
    const resources: Record<string, CfnResource> = fargate.resources;
    expect(Object.values(ofType(resources, 'AWS::Lambda::Function')).some((f) => JSON.stringify(f).includes('plan-compute'))).toBe(false);
  });
});
