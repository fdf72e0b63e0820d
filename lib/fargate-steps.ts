import path from 'node:path';
import { Duration, IgnoreMode, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecrAssets from 'aws-cdk-lib/aws-ecr-assets';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { CONTAINER_HEARTBEAT_SECONDS, type ContainerStep, ENV, METRICS_NAMESPACE, SERVICE_NAME, TRANSIENT_ERRORS } from './contract.js';
import { DEFAULT_LOG_RETENTION, PropErrors } from './defaults.js';
import { type DrFunction, type DrFunctionNetwork, PROJECT_ROOT } from './dr-function.js';

/**
 * Where a big step runs: `lambda` (one invocation, at most 15 minutes), `fargate` (one ECS Fargate
 * task, hours), or `auto` (Lambda unless the backup's manifest says the step would use more than
 * half of the Lambda timeout; lib/compute-routing.ts).
 */
export type StepCompute = 'lambda' | 'fargate' | 'auto';

/** CPU and memory of the Fargate steps (valid Fargate combinations only). */
export interface FargateSizing {
  /**
   * vCPU in CPU units (1024 = 1 vCPU): 1024, 2048, 4096, 8192 or 16384.
   * @default 2048
   */
  readonly cpu?: number;
  /**
   * Memory in MiB, within what Fargate allows for `cpu` (2 vCPU: 4096-16384).
   * @default 4096
   */
  readonly memoryMiB?: number;
  /**
   * The step's ceiling: the state's timeout. The task stops itself a tenth of it (at most a
   * minute) earlier, so a restore still running then is rolled back before the alert says so.
   * @default 90 minutes
   */
  readonly timeout?: Duration;
}

/** Fargate's CPU units -> allowed memory (MiB) range and step. */
const FARGATE_MEMORY: Readonly<Record<number, { min: number; max: number; step: number }>> = {
  1024: { min: 2048, max: 8192, step: 1024 },
  2048: { min: 4096, max: 16384, step: 1024 },
  4096: { min: 8192, max: 30720, step: 1024 },
  8192: { min: 16384, max: 61440, step: 4096 },
  16384: { min: 32768, max: 122880, step: 8192 },
};

export interface DrTaskClusterProps {
  /**
   * Network placement: the functions' VPC and subnets (private with egress: NAT or VPC endpoints
   * for S3, Secrets Manager, Step Functions, ECR and CloudWatch Logs).
   * @default - a VPC of its own with two public subnets, no NAT gateway; tasks get a public IP,
   * no inbound rule, and reach the database over TLS as the Lambda functions do
   */
  readonly network?: DrFunctionNetwork;
  /**
   * Retention of the tasks' log group (and the VPC's flow logs when it creates the VPC).
   * @default logs.RetentionDays.THREE_MONTHS
   */
  readonly logRetention?: logs.RetentionDays;
}

/** Files of the repository the image is built from (everything else stays out of the build context and the synth's asset copy). */
const IMAGE_CONTEXT = ['*', '!package.json', '!package-lock.json', '!tsconfig.json', '!bin', 'bin/*', '!bin/build-task.mjs', '!lib', '!lambdas'];

/**
 * The ECS cluster (Container Insights on), the network the steps run in, the shared log group, and
 * the one container image: lambdas/container/Dockerfile built from the repository for arm64.
 *
 * At `cdk synth` the image is not built: the DockerImageAsset only copies its build context (the
 * files above) into cdk.out and records the image in the asset manifest, so synth works offline
 * without Docker; `cdk deploy` (or `cdk-assets publish`) builds and pushes it, and needs Docker.
 */
export class DrTaskCluster extends Construct {
  public readonly cluster: ecs.Cluster;
  public readonly vpc: ec2.IVpc;
  public readonly subnets: ec2.SubnetSelection;
  /** Egress only: the tasks call out (database, AWS APIs) and nothing calls in. */
  public readonly securityGroup: ec2.SecurityGroup;
  public readonly assignPublicIp: boolean;
  public readonly logGroup: logs.LogGroup;
  public readonly image: ecrAssets.DockerImageAsset;

  constructor(scope: Construct, id: string, props: DrTaskClusterProps = {}) {
    super(scope, id);
    const retention = props.logRetention ?? DEFAULT_LOG_RETENTION;
    if (props.network) {
      this.vpc = props.network.vpc;
      this.subnets = props.network.vpcSubnets ?? { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS };
      this.assignPublicIp = false;
    } else {
      const flowLogs = new logs.LogGroup(this, 'FlowLogs', { retention });
      this.vpc = new ec2.Vpc(this, 'Vpc', {
        maxAzs: 2,
        natGateways: 0,
        subnetConfiguration: [{ name: 'Tasks', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 }],
        flowLogs: { all: { destination: ec2.FlowLogDestination.toCloudWatchLogs(flowLogs), trafficType: ec2.FlowLogTrafficType.REJECT } },
      });
      this.subnets = { subnetType: ec2.SubnetType.PUBLIC };
      this.assignPublicIp = true;
    }
    this.securityGroup = new ec2.SecurityGroup(this, 'TaskSecurityGroup', { vpc: this.vpc, description: 'iconic-dr step tasks: outbound only', allowAllOutbound: true });
    this.cluster = new ecs.Cluster(this, 'Cluster', { vpc: this.vpc, containerInsightsV2: ecs.ContainerInsights.ENABLED });
    this.logGroup = new logs.LogGroup(this, 'Logs', { retention });
    this.image = new ecrAssets.DockerImageAsset(this, 'Image', {
      directory: PROJECT_ROOT,
      file: path.join('lambdas', 'container', 'Dockerfile'),
      platform: ecrAssets.Platform.LINUX_ARM64,
      exclude: IMAGE_CONTEXT,
      ignoreMode: IgnoreMode.DOCKER,
    });
  }
}

export interface FargateStepProps {
  readonly cluster: DrTaskCluster;
  readonly step: ContainerStep;
  /** The Lambda function this task stands in for: the task role gets its grants, the container its variables. */
  readonly mirrors: DrFunction;
  /** @default - 2 vCPU, 4 GiB, 90 minutes */
  readonly sizing?: FargateSizing;
}

/**
 * One step as a Fargate task: an ARM64 task definition with the shared image, its own task role
 * (exactly the grants of the function it mirrors: DrFunction.mirrorTo), the function's variables
 * (never secret values: secret ARNs, read at run time by the task role), logs to the cluster's log
 * group. `task()` makes the state that runs it with `.waitForTaskToken`.
 */
export class FargateStep extends Construct {
  public readonly taskDefinition: ecs.FargateTaskDefinition;
  public readonly container: ecs.ContainerDefinition;
  public readonly taskRole: iam.Role;
  public readonly timeout: Duration;
  public readonly cpu: number;
  private readonly cluster: DrTaskCluster;

  constructor(scope: Construct, id: string, props: FargateStepProps) {
    super(scope, id);
    this.cpu = props.sizing?.cpu ?? 2048;
    const memory = props.sizing?.memoryMiB ?? 4096;
    this.timeout = props.sizing?.timeout ?? Duration.minutes(90);
    const errors = new PropErrors('FargateStep');
    const range = FARGATE_MEMORY[this.cpu];
    errors.check(range !== undefined, `cpu must be one of ${Object.keys(FARGATE_MEMORY).join(', ')} (got ${this.cpu})`);
    if (range) errors.check(memory >= range.min && memory <= range.max && (memory - range.min) % range.step === 0, `memoryMiB ${memory} is not valid for cpu ${this.cpu} (Fargate allows ${range.min}-${range.max} in steps of ${range.step})`);
    errors.check(this.timeout.toSeconds() >= 10 && this.timeout.toSeconds() <= 24 * 3600, `timeout must be 10 seconds to 24 hours (got ${this.timeout.toHumanString()})`);
    errors.throwIfAny();
    this.cluster = props.cluster;

    this.taskRole = new iam.Role(this, 'TaskRole', { assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com'), description: `iconic-dr ${props.step} step task` });
    this.taskRole.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ReportToStepFunctions',
        actions: ['states:SendTaskSuccess', 'states:SendTaskFailure', 'states:SendTaskHeartbeat'],
        // Task tokens are not resources: these actions take no resource-level permission.
        resources: ['*'],
      }),
    );
    Validations.of(this.taskRole).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'states:SendTaskSuccess/Failure/Heartbeat act on a task token, not a resource: they support no resource-level permission. The token itself is the authorization.',
    });
    this.taskDefinition = new ecs.FargateTaskDefinition(this, 'TaskDefinition', {
      cpu: this.cpu,
      memoryLimitMiB: memory,
      runtimePlatform: { cpuArchitecture: ecs.CpuArchitecture.ARM64, operatingSystemFamily: ecs.OperatingSystemFamily.LINUX },
      taskRole: this.taskRole,
    });
    this.container = this.taskDefinition.addContainer('Step', {
      image: ecs.ContainerImage.fromDockerImageAsset(props.cluster.image),
      logging: ecs.LogDrivers.awsLogs({ logGroup: props.cluster.logGroup, streamPrefix: props.step }),
      environment: {
        [ENV.serviceName]: SERVICE_NAME,
        [ENV.metricsNamespace]: METRICS_NAMESPACE,
        [ENV.logLevel]: 'INFO',
        [ENV.containerStep]: props.step,
        [ENV.containerStepTimeoutSeconds]: String(this.timeout.toSeconds()),
      },
    });
    const execution = this.taskDefinition.obtainExecutionRole();
    Validations.of(execution).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'The execution role pulls the image: ecr:GetAuthorizationToken supports no resource-level permission (the pull itself is limited to the asset repository).',
    });
    Validations.of(this.taskDefinition).acknowledge({
      id: 'AwsSolutions-ECS2',
      reason: 'The variables are names and ARNs (bucket, prefix, secret ARNs, step), never secret values: the task role reads the secrets at run time, the way the Lambda functions do.',
    });
    props.mirrors.mirrorTo({ role: this.taskRole, addEnvironment: (name, value) => this.container.addEnvironment(name, value) });
  }

  /**
   * The state that runs this step: `ecs:runTask.waitForTaskToken` on Fargate, the event (what the
   * Lambda would get, built by a Pass state at `$.stepInput`) in DR_STEP_INPUT, the token and the
   * state's entry time beside it. TimeoutSeconds is the step's ceiling; HeartbeatSeconds a few
   * heartbeats, so a task that died without a word fails the state in minutes, not hours. Retries
   * TransientError (and ECS capacity errors) like the Lambda steps.
   */
  task(scope: Construct, stateName: string, props: { readonly payload: Record<string, unknown>; readonly resultPath: string; readonly comment: string; readonly maxAttempts?: number }): FargateStepStates {
    const prepare = new sfn.Pass(scope, `Prepare${stateName}`, { comment: `The event of ${stateName}, as the Lambda step would get it`, parameters: props.payload, resultPath: '$.stepInput' });
    const run = new tasks.EcsRunTask(scope, stateName, {
      comment: props.comment,
      integrationPattern: sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
      cluster: this.cluster.cluster,
      taskDefinition: this.taskDefinition,
      launchTarget: new tasks.EcsFargateLaunchTarget({ platformVersion: ecs.FargatePlatformVersion.LATEST }),
      subnets: this.cluster.subnets,
      securityGroups: [this.cluster.securityGroup],
      assignPublicIp: this.cluster.assignPublicIp,
      containerOverrides: [
        {
          containerDefinition: this.container,
          environment: [
            { name: ENV.containerStepInput, value: sfn.JsonPath.jsonToString(sfn.JsonPath.objectAt('$.stepInput')) },
            { name: ENV.containerTaskToken, value: sfn.JsonPath.taskToken },
            { name: ENV.containerStepEnteredAt, value: sfn.JsonPath.stringAt('$$.State.EnteredTime') },
          ],
        },
      ],
      resultPath: props.resultPath,
      taskTimeout: sfn.Timeout.duration(this.timeout),
      heartbeatTimeout: sfn.Timeout.duration(Duration.seconds(CONTAINER_HEARTBEAT_SECONDS * 5)),
    });
    run.addRetry({
      errors: [...TRANSIENT_ERRORS, 'ECS.AmazonECSException'],
      interval: Duration.seconds(10),
      maxAttempts: props.maxAttempts ?? 3,
      backoffRate: 2,
      maxDelay: Duration.seconds(120),
      jitterStrategy: sfn.JitterType.FULL,
    });
    prepare.next(run);
    return { entry: prepare, run };
  }
}

/** The two states of a Fargate step: the Pass that builds its event, then the task (catch and continue on `run`). */
export interface FargateStepStates {
  readonly entry: sfn.Pass;
  readonly run: tasks.EcsRunTask;
}
