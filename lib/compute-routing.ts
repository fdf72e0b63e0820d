import { Duration } from 'aws-cdk-lib';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { BackupVault } from './backup-vault.js';
import { type ContainerStep, ENV } from './contract.js';
import { DrFunction, type DrFunctionNetwork } from './dr-function.js';
import type { FargateStep, StepCompute } from './fargate-steps.js';
import { EXECUTION_FIELDS, lambdaStep } from './workflow.js';

/**
 * Routing of the big steps between Lambda and Fargate, added to a machine as states of their own so
 * the machines' chains stay as they are: with `compute: 'lambda'` nothing changes; with `fargate`
 * the step's state is replaced by `Prepare<Step>OnFargate` -> `<Step>OnFargate`; with `auto` a
 * `PlanCompute` task reads the backup's manifest (lambdas/handlers/plan-compute.ts) and a
 * `Route<Step>` Choice picks one of the two per step. Both routes catch into the same Failed<Step>
 * state, so a failure reads the same whichever ran.
 */

/**
 * A step's Lambda states: one task, or a chain of states (the parallel validation) with the states
 * a failure can come from, each of which gets the step's Catch.
 */
export type LambdaRoute = sfn.TaskStateBase | { readonly chain: sfn.Chain; readonly catchable: readonly (sfn.TaskStateBase | sfn.DistributedMap)[] };

export interface RoutedStepProps {
  readonly compute: StepCompute;
  readonly step: ContainerStep;
  /** The step's name (`Backup`, `Validate`, `Restore`): the Lambda task's state name, and the stem of the Fargate route's. */
  readonly stateName: string;
  /** Makes the Lambda states (without a Catch): called only when the step may run in Lambda, so a `fargate` machine holds no unreachable Lambda state. */
  readonly lambda: () => LambdaRoute;
  /** The Fargate task (required unless compute is `lambda`). */
  readonly fargate?: FargateStep;
  /** The Lambda step's Parameters: the Fargate task gets the same event. */
  readonly payload: Record<string, unknown>;
  readonly resultPath: string;
  readonly comment: string;
  /** Where a failure goes (the Lambda step's Catch target). */
  readonly onError: sfn.IChainable;
  readonly maxAttempts?: number;
}

/** The step's states for its compute mode, as one chain whose ends continue with `.next()`. */
export function routedStep(scope: Construct, props: RoutedStepProps): sfn.IChainable & { next(next: sfn.IChainable): sfn.Chain } {
  const catchProps = { errors: ['States.ALL'], resultPath: '$.error' };
  const lambdaStates = (): sfn.Chain => {
    const route = props.lambda();
    if (route instanceof sfn.TaskStateBase) return sfn.Chain.start(route.addCatch(props.onError, catchProps));
    for (const state of route.catchable) state.addCatch(props.onError, catchProps);
    return route.chain;
  };
  if (props.compute === 'lambda') return lambdaStates();
  if (!props.fargate) throw new Error(`routedStep(${props.stateName}): compute '${props.compute}' needs a FargateStep`);
  const states = props.fargate.task(scope, `${props.stateName}OnFargate`, {
    payload: props.payload,
    resultPath: props.resultPath,
    comment: `${props.comment}, as a Fargate task`,
    ...(props.maxAttempts ? { maxAttempts: props.maxAttempts } : {}),
  });
  states.run.addCatch(props.onError, catchProps);
  if (props.compute === 'fargate') return sfn.Chain.custom(states.entry, [states.run], states.run);
  const lambda = lambdaStates();
  const choice = new sfn.Choice(scope, `Route${props.stateName}`, { comment: `${props.stateName} on Fargate when PlanCompute estimated more than half the Lambda timeout` })
    .when(sfn.Condition.and(sfn.Condition.isPresent(`$.compute.${props.step}`), sfn.Condition.stringEquals(`$.compute.${props.step}`, 'fargate')), states.entry)
    .otherwise(lambda);
  return sfn.Chain.custom(choice, [...lambda.endStates, states.run], choice);
}

/** State name of the planning task (`compute: 'auto'`). */
export const PLAN_COMPUTE_STATE = 'PlanCompute';

export interface ComputePlannerProps {
  readonly vault: BackupVault;
  /** The Lambda functions whose timeouts the plan weighs, by step. */
  readonly lambdas: Partial<Record<ContainerStep, DrFunction>>;
  /** Tables of a full backup (the basis of a new backup is the previous full one). */
  readonly backupTables: readonly string[];
  readonly network?: DrFunctionNetwork;
}

/** The plan-compute function of one workflow (read-only on the backups). */
export class ComputePlanner extends Construct {
  public readonly function: DrFunction;

  constructor(scope: Construct, id: string, props: ComputePlannerProps) {
    super(scope, id);
    const sizing = Object.fromEntries(Object.entries(props.lambdas).map(([step, fn]) => [step, { timeoutSeconds: fn.timeout.toSeconds(), memoryMb: fn.memorySize }]));
    this.function = new DrFunction(this, 'Function', {
      handler: 'plan-compute',
      description: 'Decides per step whether it runs in Lambda or on Fargate, from the backup manifest',
      timeout: Duration.minutes(1),
      memorySize: 256,
      ...(props.network ? { network: props.network } : {}),
    })
      .bindBackupStore(props.vault, 'read')
      .addEnvironment(ENV.backupTables, props.backupTables.join(','))
      .addEnvironment(ENV.lambdaSizing, JSON.stringify(sizing));
  }

  /**
   * The `PlanCompute` state: its result at `$.compute`. If planning fails, every step runs in
   * Lambda (`PlanFallback`): the Lambda step then fails or succeeds on its own, and alerts as usual.
   */
  planState(scope: Construct, steps: readonly ContainerStep[], backupIdPath?: string): sfn.IChainable & { next(next: sfn.IChainable): sfn.Chain } {
    const plan = lambdaStep(scope, PLAN_COMPUTE_STATE, this.function, {
      comment: 'Lambda or Fargate for each big step, from the backup manifest (size, duration)',
      payload: { steps, ...(backupIdPath ? { 'backupId.$': backupIdPath } : {}), execution: EXECUTION_FIELDS },
      resultPath: '$.compute',
    });
    const fallback = new sfn.Pass(scope, 'PlanFallback', {
      comment: 'Planning failed: every step in Lambda',
      parameters: Object.fromEntries(steps.map((step) => [step, 'lambda'])),
      resultPath: '$.compute',
    });
    plan.addCatch(fallback, { errors: ['States.ALL'], resultPath: '$.planError' });
    return sfn.Chain.custom(plan, [plan, fallback], fallback);
  }
}
