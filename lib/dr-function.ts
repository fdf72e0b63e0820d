import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type CfnElement, Duration, Stack, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { BackupVault } from './backup-vault.js';
import { ENV, type HandlerName, METRICS_NAMESPACE, SERVICE_NAME } from './contract.js';
import { DEFAULT_LOG_RETENTION, PropErrors } from './defaults.js';

/** The project root (where package.json and package-lock.json live). */
export const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));

/** The entry file of a handler: `lambdas/handlers/<name>.ts`. */
export function handlerEntry(name: HandlerName): string {
  return path.join(PROJECT_ROOT, 'lambdas', 'handlers', `${name}.ts`);
}

/** The Lambda runtime every function uses: the newest Node.js this aws-cdk-lib knows. */
export const DR_RUNTIME = lambda.Runtime.NODEJS_24_X;

/** Network placement shared by all functions when the database is only reachable from a VPC. */
export interface DrFunctionNetwork {
  /** The VPC. It needs a route to the database and to the AWS APIs (NAT or VPC endpoints). */
  readonly vpc: ec2.IVpc;
  /**
   * Subnets for the functions' network interfaces.
   * @default - private subnets with egress
   */
  readonly vpcSubnets?: ec2.SubnetSelection;
}

/** Memory and timeout of one function, as a stack prop (the runbook's knob for big databases). */
export interface FunctionSizing {
  /**
   * Memory in MB (128-10240); CPU grows with it.
   * @default - the function's own default
   */
  readonly memorySize?: number;
  /**
   * Timeout (at most 15 minutes); the headroom alarm warns at 60 % of it.
   * @default - the function's own default
   */
  readonly timeout?: Duration;
}

export interface DrFunctionProps {
  /** Which handler: bundles `lambdas/handlers/<handler>.ts`, export `handler`. */
  readonly handler: HandlerName;
  /**
   * Description shown in the console.
   * @default - none
   */
  readonly description?: string;
  /**
   * Timeout.
   * @default Duration.minutes(1)
   */
  readonly timeout?: Duration;
  /**
   * Memory in MB.
   * @default 512
   */
  readonly memorySize?: number;
  /**
   * Retention of the function's log group.
   * @default logs.RetentionDays.THREE_MONTHS
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Reserved concurrency; 1 makes a function run at most once at a time.
   * @default - unreserved
   */
  readonly reservedConcurrentExecutions?: number;
  /**
   * Run inside a VPC.
   * @default - no VPC (the database is reached over the internet with TLS)
   */
  readonly network?: DrFunctionNetwork;
  /**
   * Extra environment variables (never secret values: bind secrets with `bindX()` instead).
   * @default - only the Powertools variables
   */
  readonly environment?: Record<string, string>;
  /**
   * Where asynchronous invocations (SNS, EventBridge) that failed every attempt go, so a failure is
   * never lost silently. Synchronous task invocations by Step Functions do not need one: the
   * machine's Catch sees their failures.
   * @default - none
   */
  readonly deadLetterQueue?: sqs.IQueue;
  /**
   * Retries of a failed asynchronous invocation (0-2).
   * @default 2 (Lambda's default)
   */
  readonly retryAttempts?: number;
  /**
   * Entry file override (tests).
   * @default lambdas/handlers/<handler>.ts
   */
  readonly entry?: string;
}

/**
 * The project's Lambda function: NodejsFunction bundled by the local esbuild as ESM for the newest
 * Node.js runtime on arm64, X-Ray active tracing, its own log group with retention, its own role
 * (logs, X-Ray and what `bindX()` adds — nothing else), Powertools environment.
 *
 * `bindX()` methods grant access and set the matching environment variable together, so a
 * function never has a variable it cannot use nor a permission it has no variable for.
 */
export class DrFunction extends Construct {
  public readonly function: nodejs.NodejsFunction;
  public readonly role: iam.Role;
  public readonly logGroup: logs.LogGroup;
  public readonly handlerName: HandlerName;
  /** The function's timeout (headroom alarms are set at 60 % of it). */
  public readonly timeout: Duration;
  /** Memory in MB (Lambda's CPU share follows it: one vCPU at 1769 MB). */
  public readonly memorySize: number;
  /** Every grant and variable added after construction, replayed onto mirrors (Fargate tasks). */
  private readonly bindings: ((grantee: DrGrantee) => void)[] = [];
  private readonly mirrors: DrGrantee[] = [];
  private readonly self: DrGrantee;

  constructor(scope: Construct, id: string, props: DrFunctionProps) {
    super(scope, id);
    const timeout = props.timeout ?? Duration.minutes(1);
    const memorySize = props.memorySize ?? 512;

    const errors = new PropErrors('DrFunction');
    errors.check(timeout.toSeconds() >= 1 && timeout.toSeconds() <= 900, `timeout must be 1 s to 15 min (got ${timeout.toHumanString()})`);
    errors.check(Number.isInteger(memorySize) && memorySize >= 128 && memorySize <= 10240, `memorySize must be 128-10240 MB (got ${memorySize})`);
    errors.check(props.reservedConcurrentExecutions === undefined || (Number.isInteger(props.reservedConcurrentExecutions) && props.reservedConcurrentExecutions >= 1), 'reservedConcurrentExecutions must be a whole number >= 1');
    for (const key of Object.keys(props.environment ?? {})) {
      errors.check(!/PASSWORD|TOKEN|CONNECTION|DATABASE_URL|WEBHOOK_URL/i.test(key), `environment variable ${key} looks like a secret: bind a Secrets Manager secret instead`);
    }
    errors.throwIfAny();

    this.handlerName = props.handler;
    this.timeout = timeout;
    this.memorySize = memorySize;
    this.logGroup = new logs.LogGroup(this, 'LogGroup', {
      retention: props.logRetention ?? DEFAULT_LOG_RETENTION,
    });
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `iconic-dr ${props.handler} function`,
    });
    this.logGroup.grantWrite(this.role);
    this.self = { role: this.role, addEnvironment: (name, value) => void this.function.addEnvironment(name, value) };

    this.function = new nodejs.NodejsFunction(this, 'Function', {
      entry: props.entry ?? handlerEntry(props.handler),
      handler: 'handler',
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: path.join(PROJECT_ROOT, 'package-lock.json'),
      runtime: DR_RUNTIME,
      architecture: lambda.Architecture.ARM_64,
      tracing: lambda.Tracing.ACTIVE,
      timeout,
      memorySize,
      role: this.role,
      logGroup: this.logGroup,
      ...(props.description ? { description: props.description } : {}),
      ...(props.reservedConcurrentExecutions !== undefined ? { reservedConcurrentExecutions: props.reservedConcurrentExecutions } : {}),
      ...(props.deadLetterQueue ? { deadLetterQueueEnabled: true, deadLetterQueue: props.deadLetterQueue } : {}),
      ...(props.retryAttempts !== undefined ? { retryAttempts: props.retryAttempts } : {}),
      ...(props.network ? { vpc: props.network.vpc, vpcSubnets: props.network.vpcSubnets ?? { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS } } : {}),
      environment: {
        [ENV.serviceName]: SERVICE_NAME,
        [ENV.metricsNamespace]: METRICS_NAMESPACE,
        [ENV.logLevel]: 'INFO',
        NODE_OPTIONS: '--enable-source-maps',
        ...props.environment,
      },
      bundling: {
        format: nodejs.OutputFormat.ESM,
        target: 'node24',
        platform: 'node',
        mainFields: ['module', 'main'],
        // Bundled CommonJS dependencies (pg, …) call require(): give the ESM bundle one.
        banner: "import { createRequire as __drCreateRequire } from 'node:module'; const require = __drCreateRequire(import.meta.url);",
        // Bundle the pinned AWS SDK too, so the code runs with the versions the tests ran. The zstd
        // binding is for Node 20 only: on this runtime node:zlib has zstd (format/codec.ts), and the
        // binding's per-platform .node file would not bundle anyway.
        externalModules: ['pg-native', '@mongodb-js/zstd'],
        minify: true,
        // Error classes name themselves from the class (DrError: `new.target.name`); minified names
        // would turn CountMismatchError into `n` for Step Functions, the alerts and the metric filter.
        keepNames: true,
        sourceMap: true,
      },
    });

    if (props.network) {
      this.role.addManagedPolicy(iam.ManagedPolicy.fromAwsManagedPolicyName('service-role/AWSLambdaVPCAccessExecutionRole'));
      Validations.of(this.role).acknowledge({
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole]',
        reason: 'The AWS-maintained policy holds exactly the ENI permissions Lambda needs to attach to the VPC; they do not support resource-level scoping.',
      });
    }
    if (!props.deadLetterQueue) {
      Validations.of(this.function).acknowledge({
        id: 'Serverless-LambdaDLQ',
        reason: 'Invoked synchronously by a Step Functions task, never asynchronously: a failure is returned to the machine, whose Catch alerts on it; a dead-letter queue would never receive anything.',
      });
    }
    Validations.of(this.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'X-Ray active tracing: xray:PutTraceSegments and xray:PutTelemetryRecords do not support resource-level permissions.',
    });
  }

  /** Adds an environment variable that is not a secret. */
  addEnvironment(name: string, value: string): this {
    return this.bind((grantee) => grantee.addEnvironment(name, value));
  }

  /**
   * Gives another principal (a Fargate task standing in for this function) every grant and
   * variable this function has and will get, so the two never differ in what they may do.
   */
  mirrorTo(grantee: DrGrantee): this {
    for (const apply of this.bindings) apply(grantee);
    this.mirrors.push(grantee);
    return this;
  }

  private bind(apply: (grantee: DrGrantee) => void): this {
    apply(this.self);
    for (const mirror of this.mirrors) apply(mirror);
    this.bindings.push(apply);
    return this;
  }

  /**
   * Access to the backup store. `write` may put objects and abort its own multipart uploads, read
   * and list — and never delete. `read` may read and list. Only under the vault's backup prefix;
   * KMS use only through S3. Sets BACKUP_BUCKET, BACKUP_PREFIX (and BACKUP_KMS_KEY_ID for write).
   */
  bindBackupStore(vault: BackupVault, access: 'read' | 'write'): this {
    return this.bind((g) => bindBackupStoreTo(g, vault, access));
  }

  /** Read access to the source database secret; sets SOURCE_SECRET_ARN. */
  bindSourceDatabase(secret: secretsmanager.ISecret): this {
    return this.bind((g) => {
      secret.grantRead(g.role);
      g.addEnvironment(ENV.sourceSecretArn, secret.secretArn);
    });
  }

  /** Read access to every restore target's secret; sets TARGET_SECRET_ARNS (JSON name -> ARN). */
  bindRestoreTargets(targets: Readonly<Record<string, secretsmanager.ISecret>>): this {
    return this.bind((g) => g.addEnvironment(ENV.targetSecretArns, grantSecrets(g, targets)));
  }

  /** Read access to every restore target's read-only secret; sets VERIFY_SECRET_ARNS (JSON name -> ARN). */
  bindReadOnlyTargets(targets: Readonly<Record<string, secretsmanager.ISecret>>): this {
    return this.bind((g) => g.addEnvironment(ENV.verifySecretArns, grantSecrets(g, targets)));
  }

  /** Publish to the alert topics (and use their key through SNS); sets CRITICAL_/WARNING_TOPIC_ARN. */
  bindAlertTopics(critical: sns.ITopic, warning: sns.ITopic): this {
    this.role.addToPrincipalPolicy(new iam.PolicyStatement({ sid: 'PublishAlerts', actions: ['sns:Publish'], resources: [critical.topicArn, warning.topicArn] }));
    const keys = [...new Set([critical.masterKey, warning.masterKey].filter((key) => key !== undefined))];
    if (keys.length > 0) {
      this.role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          sid: 'EncryptAlerts',
          actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
          resources: keys.map((key) => key.keyArn),
          conditions: { StringEquals: { 'kms:ViaService': `sns.${Stack.of(this).region}.amazonaws.com` } },
        }),
      );
    }
    this.addEnvironment(ENV.criticalTopicArn, critical.topicArn);
    return this.addEnvironment(ENV.warningTopicArn, warning.topicArn);
  }

  /** Read access to the Slack webhook secret; sets SLACK_WEBHOOK_SECRET_ARN. */
  bindSlackWebhook(secret: secretsmanager.ISecret): this {
    secret.grantRead(this.role);
    return this.addEnvironment(ENV.slackWebhookSecretArn, secret.secretArn);
  }
}

/** A principal that can stand in for a DrFunction: a role to grant to and a way to set variables. */
export interface DrGrantee {
  readonly role: iam.IRole;
  addEnvironment(name: string, value: string): void;
}

function bindBackupStoreTo(g: DrGrantee, vault: BackupVault, access: 'read' | 'write'): void {
  const objects = vault.bucket.arnForObjects(`${vault.backupPrefix}/*`);
  const viaS3 = { StringEquals: { 'kms:ViaService': `s3.${Stack.of(vault).region}.amazonaws.com` } };
  // Unconditioned on purpose: S3 answers a HEAD/GET of a missing key with 404 only to callers that
  // may list the bucket, and a HEAD carries no s3:prefix, so a prefix-conditioned grant would turn
  // every "not found" (an incomplete backup, a missing file) into 403 AccessDenied. Objects stay
  // readable only under the prefix; listing reveals key names of this bucket alone.
  g.role.addToPrincipalPolicy(new iam.PolicyStatement({ sid: 'ListBackups', actions: ['s3:ListBucket'], resources: [vault.bucket.bucketArn] }));
  g.role.addToPrincipalPolicy(new iam.PolicyStatement({ sid: 'ReadBackups', actions: ['s3:GetObject'], resources: [objects] }));
  g.role.addToPrincipalPolicy(new iam.PolicyStatement({ sid: 'DecryptBackups', actions: ['kms:Decrypt'], resources: [vault.key.keyArn], conditions: viaS3 }));
  if (access === 'write') {
    g.role.addToPrincipalPolicy(new iam.PolicyStatement({ sid: 'WriteBackups', actions: ['s3:PutObject', 's3:AbortMultipartUpload'], resources: [objects] }));
    g.role.addToPrincipalPolicy(new iam.PolicyStatement({ sid: 'EncryptBackups', actions: ['kms:GenerateDataKey'], resources: [vault.key.keyArn], conditions: viaS3 }));
    g.addEnvironment(ENV.backupKmsKeyId, vault.key.keyArn);
  }
  Validations.of(g.role).acknowledge({
    id: `AwsSolutions-IAM5[Resource::<${Stack.of(vault).getLogicalId(vault.bucket.node.defaultChild as CfnElement)}.Arn>/${vault.backupPrefix}/*]`,
    reason: 'Backups are many objects named by backup id and table; access is limited to the backup prefix of the one backup bucket.',
  });
  g.addEnvironment(ENV.backupBucket, vault.bucket.bucketName);
  g.addEnvironment(ENV.backupPrefix, vault.backupPrefix);
}

/** Grants read on each secret and returns the name -> ARN JSON the handlers read. */
function grantSecrets(g: DrGrantee, targets: Readonly<Record<string, secretsmanager.ISecret>>): string {
  const arns: Record<string, string> = {};
  for (const [name, secret] of Object.entries(targets)) {
    secret.grantRead(g.role);
    arns[name] = secret.secretArn;
  }
  return Stack.of(g.role).toJsonString(arns);
}
