import { Duration } from 'aws-cdk-lib';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { BackupVault } from './backup-vault.js';
import { VALIDATE_FILE_STATES } from './contract.js';
import { PropErrors } from './defaults.js';
import { DrFunction, type DrFunctionNetwork, type FunctionSizing } from './dr-function.js';
import type { LambdaRoute } from './compute-routing.js';
import { EXECUTION_FIELDS, lambdaStep } from './workflow.js';

/**
 * A Distributed Map that fails as soon as one child execution fails, and says so in the definition:
 * CDK leaves out a ToleratedFailurePercentage of 0 (the ASL default), this writes it.
 */
class StrictDistributedMap extends sfn.DistributedMap {
  override toStateJson(): object {
    return { ...super.toStateJson(), ToleratedFailurePercentage: 0 };
  }
}

/** Files checked at the same time by the `Validate` Distributed Map, unless a prop says otherwise. */
export const DEFAULT_VALIDATE_CONCURRENCY = 8;

export interface ParallelValidationProps {
  readonly vault: BackupVault;
  /**
   * Memory and timeout of the function that checks one file (`ValidateFile`): one file, not the
   * whole backup, has to fit in it.
   * @default 1024 MB, 15 minutes
   */
  readonly fileSizing?: FunctionSizing;
  /** In the functions' descriptions: what the validation is for (`a new backup`, `a backup before a restore`). */
  readonly purpose: string;
  /**
   * Network placement of the functions.
   * @default - no VPC
   */
  readonly network?: DrFunctionNetwork;
}

export interface ValidationStatesProps {
  /** State names: the plan task, the Distributed Map, the summary task (the Map's item states are VALIDATE_FILE_STATES). */
  readonly names: { readonly plan: string; readonly map: string; readonly summary: string };
  /** JSONPath of the backup id in the state, e.g. `$.backup.backupId`. */
  readonly backupIdPath: string;
  /** Where the result goes (`$.validation`); the plan and the files' checks are kept there until the summary replaces them. */
  readonly resultPath: string;
  /**
   * Files checked at the same time (the Map's MaxConcurrency): each is one Lambda invocation that
   * reads the file from the bucket.
   * @default 8
   */
  readonly maxConcurrency?: number;
  readonly comment: string;
}

/**
 * The full validation of a backup as a Step Functions Distributed Map over its files, for the
 * Lambda route of the `Validate` step: `ValidatePlan` (reads and checks the manifest, lists the
 * files) -> `Validate` (Distributed Map: one `ValidateFile` child execution per file, its size,
 * SHA-256 and rows) -> `ValidateSummary` (folds the checks into the one `Validate` result).
 *
 * Each file's check is independent of the others, so no single invocation has to read the whole
 * backup in 15 minutes: only the largest file has to fit. The three functions are shared by every
 * machine of a workflow; the states are made per machine (`states`).
 */
export class ParallelValidation extends Construct {
  /** `ValidatePlan`: reads the manifest and lists the backup (read-only). */
  public readonly planFunction: DrFunction;
  /** `ValidateFile`: checks one file (read-only); also the Fargate validate task's twin (same variables and grants). */
  public readonly fileFunction: DrFunction;
  /** `ValidateSummary`: folds the checks; touches nothing. */
  public readonly summaryFunction: DrFunction;

  constructor(scope: Construct, id: string, props: ParallelValidationProps) {
    super(scope, id);
    const network = props.network ? { network: props.network } : {};
    this.planFunction = new DrFunction(this, 'PlanFunction', {
      handler: 'validate-plan',
      description: `Plans the validation of ${props.purpose}: reads and checks its manifest, lists its files`,
      timeout: Duration.minutes(2),
      memorySize: 512,
      ...network,
    }).bindBackupStore(props.vault, 'read');
    this.fileFunction = new DrFunction(this, 'FileFunction', {
      handler: 'validate-file',
      description: `Validates one file of ${props.purpose}: size, SHA-256, line counts`,
      timeout: props.fileSizing?.timeout ?? Duration.minutes(15),
      memorySize: props.fileSizing?.memorySize ?? 1024,
      ...network,
    }).bindBackupStore(props.vault, 'read');
    this.summaryFunction = new DrFunction(this, 'SummaryFunction', {
      handler: 'validate-summary',
      description: `Folds the checks of every file of ${props.purpose} into one validation result`,
      timeout: Duration.minutes(1),
      memorySize: 256,
      ...network,
    });
  }

  /** The functions (for the machine's invoke grants and the alarms). */
  get functions(): readonly DrFunction[] {
    return [this.planFunction, this.fileFunction, this.summaryFunction];
  }

  /**
   * The states of one machine, as a Lambda route: the plan and summary tasks and the Map are the
   * states a failure is caught at; a file check that failed after its retries is recorded by the
   * Map's `ValidateFileFailed` and fails `ValidateSummary` with that check's error name.
   */
  states(scope: Construct, props: ValidationStatesProps): LambdaRoute {
    const maxConcurrency = props.maxConcurrency ?? DEFAULT_VALIDATE_CONCURRENCY;
    const errors = new PropErrors('ParallelValidation');
    errors.check(Number.isInteger(maxConcurrency) && maxConcurrency >= 1 && maxConcurrency <= 10_000, `validateConcurrency must be a whole number from 1 to 10000 (got ${maxConcurrency})`);
    errors.throwIfAny();
    const result = props.resultPath;

    const plan = lambdaStep(scope, props.names.plan, this.planFunction, {
      comment: `${props.comment}: read and check the manifest, list the files`,
      payload: { 'backupId.$': props.backupIdPath, execution: EXECUTION_FIELDS },
      resultPath: result,
    });

    const checkFile = lambdaStep(scope, VALIDATE_FILE_STATES.validateFile, this.fileFunction, {
      comment: 'Check one file of the backup: size, SHA-256, rows',
      payload: { 'backupId.$': '$.backupId', 'item.$': '$.item', 'maxProblems.$': '$.maxProblems', 'execution.$': '$.execution' },
    });
    // Caught inside the item, so the summary fails with the check's own error (a Map run's failure
    // would only say that the tolerated failure threshold was exceeded).
    checkFile.addCatch(
      new sfn.Pass(scope, VALIDATE_FILE_STATES.fileCheckFailed, {
        comment: 'Record the error of a file check that failed after its retries',
        parameters: { 'key.$': '$.item.key', 'error.$': '$.error' },
      }),
      { errors: ['States.ALL'], resultPath: '$.error' },
    );

    const map = new StrictDistributedMap(scope, props.names.map, {
      comment: `${props.comment}: each file in a child execution, at most ${maxConcurrency} at a time`,
      itemsPath: `${result}.items`,
      // The parent's execution: in a child execution `$$.Execution` is the child's.
      itemSelector: {
        'backupId.$': `${result}.backupId`,
        'item.$': '$$.Map.Item.Value',
        'maxProblems.$': `${result}.maxProblems`,
        execution: EXECUTION_FIELDS,
      },
      maxConcurrency,
      // STANDARD: a file's check may use the function's 15 minutes; an EXPRESS child ends at 5.
      mapExecutionType: sfn.StateMachineType.STANDARD,
      label: props.names.map,
      resultPath: `${result}.results`,
    });
    map.itemProcessor(checkFile);

    const summary = lambdaStep(scope, props.names.summary, this.summaryFunction, {
      comment: `${props.comment}: fold the files' checks into the result`,
      payload: { 'validation.$': result, execution: EXECUTION_FIELDS },
      resultPath: result,
    });

    return { chain: sfn.Chain.start(plan).next(map).next(summary), catchable: [plan, map, summary] };
  }
}
