import { Duration, Stack, Token, Validations } from 'aws-cdk-lib';
import type * as ecs from 'aws-cdk-lib/aws-ecs';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { type FailureOutcome, TRANSIENT_ERRORS } from './contract.js';
import type { DrFunction } from './dr-function.js';
import { DEFAULT_LOG_RETENTION } from './defaults.js';

/**
 * Shared building blocks of the two state machines.
 *
 * Every task invokes its Lambda with `payloadResponseOnly: true`: the state's `Resource` is the
 * function ARN, the task's input is exactly its `Parameters`, and its result is exactly what the
 * handler returns (no `{Payload}` envelope, no ResultSelector). With aws-local-stepfunctions a
 * task override is therefore `(input) => handler(input)`.
 */

/** The execution fields every task receives under `execution`. */
export const EXECUTION_FIELDS = {
  'id.$': '$$.Execution.Id',
  'startTime.$': '$$.Execution.StartTime',
} as const;

export interface LambdaStepProps {
  /** Parameters (the handler's event). */
  readonly payload: Record<string, unknown>;
  /**
   * Where the result goes in the state document, e.g. `$.backup`.
   * @default - the result is the state's output (a Map item's task)
   */
  readonly resultPath?: string;
  /**
   * Retry attempts on transient errors.
   * @default 3
   */
  readonly maxAttempts?: number;
  readonly comment: string;
}

/**
 * A Lambda task that retries only transient errors (TRANSIENT_ERRORS), with jittered backoff. Its
 * TimeoutSeconds is the function's timeout plus one minute (explicit, so local interpreters do not
 * apply their own 60 s default).
 */
export function lambdaStep(scope: Construct, stateName: string, fn: DrFunction, props: LambdaStepProps): tasks.LambdaInvoke {
  const functionTimeout = fn.function.timeout ?? Duration.seconds(3);
  const step = new tasks.LambdaInvoke(scope, stateName, {
    lambdaFunction: fn.function,
    payloadResponseOnly: true,
    retryOnServiceExceptions: false,
    payload: sfn.TaskInput.fromObject(props.payload),
    ...(props.resultPath !== undefined ? { resultPath: props.resultPath } : {}),
    comment: props.comment,
    taskTimeout: sfn.Timeout.duration(Duration.seconds(functionTimeout.toSeconds() + 60)),
  });
  step.addRetry({
    errors: [...TRANSIENT_ERRORS],
    interval: Duration.seconds(2),
    maxAttempts: props.maxAttempts ?? 3,
    backoffRate: 2,
    maxDelay: Duration.seconds(60),
    jitterStrategy: sfn.JitterType.FULL,
  });
  return step;
}

/**
 * The state a task's Catch goes to: records at `$.failure` which step failed, with which error, and
 * what that means for the target (`outcome`, `summary`), so the notify task need not guess and the
 * Fail state's Cause (CausePath `$.failure.summary`) tells the truth in the console.
 *
 * `consequence` is plain text without quotes, braces or backslashes (it goes into States.Format).
 * The Catch's `Cause` is not formatted in: a States.Timeout may come without one, and a missing path
 * would fail the Pass state itself; the cause is in the notify task's input and the alert.
 */
export function failureRecord(scope: Construct, stateName: string, step: string, outcome: FailureOutcome, consequence: string): sfn.Pass {
  if (/['{}\\]/.test(consequence)) throw new Error(`failureRecord(${step}): the consequence must not contain quotes, braces or backslashes`);
  return new sfn.Pass(scope, stateName, {
    comment: `Record that ${step} failed (${outcome}) for the alert and the Fail state`,
    parameters: {
      step,
      outcome,
      'error.$': '$.error.Error',
      'summary.$': `States.Format('${step} failed with {}. ${consequence}', $.error.Error)`,
    },
    resultPath: '$.failure',
  });
}

export interface DrStateMachineProps {
  readonly definition: sfn.IChainable;
  readonly timeout: Duration;
  readonly comment: string;
  /** Functions the machine invokes (for the nag acknowledgement of their version wildcard). */
  readonly functions: readonly lambda.IFunction[];
  /**
   * Fargate task definitions the machine runs (for the nag acknowledgement of their revision wildcard).
   * @default - none
   */
  readonly taskDefinitions?: readonly ecs.TaskDefinition[];
  /** @default logs.RetentionDays.THREE_MONTHS */
  readonly logRetention?: logs.RetentionDays;
  /**
   * A fixed name (when something must know the ARN before the machine exists).
   * @default - generated
   */
  readonly stateMachineName?: string;
}

/**
 * A standard state machine with logging ALL but without execution data, X-Ray tracing, a timeout,
 * and its own log group.
 *
 * `includeExecutionData: false`: CloudWatch Logs gets every state transition and error name, but
 * not the states' input and output. Inputs never hold secrets by design, but they may hold what an
 * operator typed and the results hold table names and counts of the shop's data; the execution
 * history (IAM-protected, 90 days) still shows them to those allowed to see the console.
 */
export class DrStateMachine extends Construct {
  public readonly stateMachine: sfn.StateMachine;
  public readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: DrStateMachineProps) {
    super(scope, id);
    this.logGroup = new logs.LogGroup(this, 'Logs', { retention: props.logRetention ?? DEFAULT_LOG_RETENTION });
    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      definitionBody: sfn.DefinitionBody.fromChainable(props.definition),
      ...(props.stateMachineName ? { stateMachineName: props.stateMachineName } : {}),
      stateMachineType: sfn.StateMachineType.STANDARD,
      timeout: props.timeout,
      comment: props.comment,
      tracingEnabled: true,
      logs: { destination: this.logGroup, level: sfn.LogLevel.ALL, includeExecutionData: false },
    });

    const role = this.stateMachine.role;
    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'Step Functions log delivery (logs:CreateLogDelivery, …) and X-Ray (xray:PutTraceSegments, …) do not support resource-level permissions.',
    });
    const stack = Stack.of(this);
    for (const fn of props.functions) {
      const cfn = fn.node.defaultChild as lambda.CfnFunction;
      Validations.of(role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::<${stack.getLogicalId(cfn)}.Arn>:*]`,
        reason: 'lambda:InvokeFunction on the function and its versions/aliases (`:*`), as CDK grants for task integrations; the function itself is fixed.',
      });
    }
    // A Distributed Map runs each item as a child execution of this machine: CDK grants starting
    // the machine itself, and describing, stopping and redriving its executions (by name, `:*`).
    const mapPolicy = this.stateMachine.node.tryFindChild('DistributedMapPolicy');
    if (mapPolicy) {
      // As cdk-nag renders the ARN: pseudo parameters the stack does not know as `<AWS::…>`.
      const known = (value: string, pseudo: string) => (Token.isUnresolved(value) ? `<AWS::${pseudo}>` : value);
      const executions = `arn:${known(stack.partition, 'Partition')}:states:${known(stack.region, 'Region')}:${known(stack.account, 'AccountId')}:execution:{"Fn::Select":[6,{"Fn::Split":[":",{"Ref":"${stack.getLogicalId(this.stateMachine.node.defaultChild as sfn.CfnStateMachine)}"}]}]}`;
      const labels = sfn.State.findReachableStates(props.definition.startState)
        .filter((state) => sfn.DistributedMap.isDistributedMap(state))
        .map((state) => (state.toStateJson() as { Label?: string }).Label);
      for (const resource of [`${executions}:*`, ...new Set(labels.map((label) => (label ? `${executions}/${label}:*` : `${executions}/*`)))]) {
        Validations.of(mapPolicy).acknowledge({
          id: `AwsSolutions-IAM5[Resource::${resource}]`,
          reason: "The Distributed Map's child executions: describe, stop and redrive only this machine's own executions (`:*` is the execution's id, unknown until it runs), as CDK grants for DistributedMap.",
        });
      }
    }
    for (const taskDefinition of props.taskDefinitions ?? []) {
      Validations.of(role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::${taskDefinitionFamilyArn(stack.getLogicalId(taskDefinition.node.defaultChild as ecs.CfnTaskDefinition))}]`,
        reason: 'ecs:RunTask on every revision (`:*`) of the one step task definition family, as CDK grants for the ECS task integration; the family itself is fixed.',
      });
    }
  }
}

/** How cdk-nag renders the `<family>:*` ARN CDK grants ecs:RunTask on (the task definition ARN without its revision). */
function taskDefinitionFamilyArn(logicalId: string): string {
  const ref = `{"Ref":"${logicalId}"}`;
  const part = (i: number) => `{"Fn::Select":[${i},{"Fn::Split":[":",${ref}]}]}`;
  const family = (i: number) => `{"Fn::Select":[${i},{"Fn::Split":["/",${part(5)}]}]}`;
  return `arn:${part(1)}:${part(2)}:${part(3)}:${part(4)}:${family(0)}/${family(1)}:*`;
}
