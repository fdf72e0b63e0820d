import { SendTaskFailureCommand, SendTaskHeartbeatCommand, SendTaskSuccessCommand, SFNClient } from '@aws-sdk/client-sfn';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { z } from 'zod';
import { CONTAINER_HEARTBEAT_SECONDS, CONTAINER_STEPS, type ContainerStep, ENV, METRICS } from '../../lib/contract.js';
import { handler as backup } from '../handlers/backup.js';
import { describeIssues } from '../handlers/shared/errors.js';
import { logger, metrics } from '../handlers/shared/observability.js';
import { handler as restore } from '../handlers/restore.js';
import { handler as validate } from '../handlers/validate.js';

/**
 * A backup, validate or restore step run as one ECS Fargate task instead of one Lambda invocation,
 * for databases whose step would not fit in Lambda's 15 minutes. It runs the very handler the Lambda
 * runs (same event schema, same engine call, same error names), in a process of its own.
 *
 * The task definition gives it the Lambda's environment (bucket, prefix, secret ARNs — never secret
 * values: the task role reads the secrets from Secrets Manager at run time) plus DR_STEP and
 * DR_STEP_TIMEOUT_SECONDS; each run adds DR_STEP_INPUT (the Lambda's event as JSON),
 * DR_TASK_TOKEN and DR_STEP_ENTERED_AT as container overrides.
 *
 * The result goes back with `.waitForTaskToken`: SendTaskSuccess with the handler's result, or
 * SendTaskFailure with the error's name and message. So the state's output is exactly the Lambda's
 * result, and a failure keeps its name (TransientError is retried, ConfigError is not) — which
 * `ecs:runTask.sync` cannot do (its failure is `States.TaskFailed` with the ECS task description,
 * and its output is that description, so a result object in the bucket and a Lambda to read it
 * would be needed: two more moving parts, and the backup role may not write outside backups).
 *
 * The one thing `.sync` does that a token does not: stop the ECS task when the state times out. The
 * task stops itself instead: it exits at its deadline — the state's ceiling less a margin, counted
 * from when the state was entered — so a restore that is still running then is rolled back by
 * PostgreSQL (its connection dies with the process) before Step Functions reports the timeout and
 * the alert says "unchanged". Heartbeats also end it at once if Step Functions already gave up.
 */

export const EXIT = { succeeded: 0, failed: 1, unreportable: 2, deadline: 124 } as const;

const HANDLERS: Record<ContainerStep, (event: unknown) => Promise<unknown>> = { backup, validate, restore };

const containerEnv = z.object({
  [ENV.containerStep]: z.enum(CONTAINER_STEPS),
  [ENV.containerStepInput]: z.string().min(2),
  [ENV.containerTaskToken]: z.string().min(1),
  [ENV.containerStepTimeoutSeconds]: z.coerce.number().int().positive(),
  [ENV.containerStepEnteredAt]: z.iso.datetime({ offset: true }).optional(),
});

/** Seconds before the state's timeout by which the task must be gone: a tenth of it, 1 s to 60 s. */
export function deadlineMarginSeconds(timeoutSeconds: number): number {
  return Math.min(60, Math.max(1, Math.floor(timeoutSeconds / 10)));
}

/** When the task must have ended: the state's entry (or the task's start) plus its ceiling less the margin. */
export function stepDeadline(timeoutSeconds: number, enteredAt: Date | undefined, startedAt: Date): Date {
  const from = enteredAt && enteredAt.getTime() <= startedAt.getTime() ? enteredAt : startedAt;
  return new Date(from.getTime() + (timeoutSeconds - deadlineMarginSeconds(timeoutSeconds)) * 1000);
}

/** SendTaskFailure limits: error 256, cause 32768 characters. */
function failureOf(error: unknown): { error: string; cause: string } {
  const name = error instanceof Error ? error.name : 'Error';
  const message = error instanceof Error ? error.message : String(error);
  return { error: name.slice(0, 256), cause: message.slice(0, 32_768) };
}

/** True when Step Functions no longer waits for this token (the state timed out, the execution ended). */
function tokenIsGone(error: unknown): boolean {
  return error instanceof Error && ['TaskTimedOut', 'TaskDoesNotExist', 'InvalidToken'].includes(error.name);
}

export interface StepTaskOptions {
  readonly env?: NodeJS.ProcessEnv;
  /** Ends the process (tests of the deadline run the real process instead). */
  readonly exit?: (code: number) => never;
}

/**
 * Runs the step the environment names and reports its result on the task token. Returns the exit
 * code; at the deadline, or when a heartbeat learns the state is gone, exits the process at once
 * (nothing else may run after that: a restore must not reach COMMIT).
 */
export async function runStepTask(options: StepTaskOptions = {}): Promise<number> {
  const env = options.env ?? process.env;
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const startedAt = new Date();
  const token = env[ENV.containerTaskToken];
  const parsed = containerEnv.safeParse(env);
  const sfn = new SFNClient({});
  if (!parsed.success) {
    const message = `The step task is misconfigured: ${describeIssues(parsed.error).join('; ')}. The stack sets these variables (lib/fargate-steps.ts); redeploy it.`;
    logger.error(message);
    if (!token) return EXIT.unreportable;
    await sfn.send(new SendTaskFailureCommand({ taskToken: token, error: 'ConfigError', cause: message }));
    return EXIT.failed;
  }
  const config = parsed.data;
  const step = config[ENV.containerStep];
  const taskToken = config[ENV.containerTaskToken];
  const timeoutSeconds = config[ENV.containerStepTimeoutSeconds];
  const enteredText = config[ENV.containerStepEnteredAt];
  const enteredAt = enteredText ? new Date(enteredText) : undefined;
  const deadline = stepDeadline(timeoutSeconds, enteredAt, startedAt);

  const stop = (reason: string): never => {
    // Synchronous on purpose: nothing of the step may run after this line.
    process.stderr.write(`${JSON.stringify({ level: 'ERROR', message: `${step} task stopped: ${reason}`, service: env[ENV.serviceName], step, deadline: deadline.toISOString() })}\n`);
    return exit(EXIT.deadline);
  };
  const deadlineTimer = setTimeout(() => stop(`its deadline ${deadline.toISOString()} passed (the state's ${timeoutSeconds} s ceiling less ${deadlineMarginSeconds(timeoutSeconds)} s); Step Functions reports the timeout`), Math.max(0, deadline.getTime() - Date.now()));
  const heartbeat = setInterval(() => {
    sfn.send(new SendTaskHeartbeatCommand({ taskToken })).catch((error: unknown) => {
      if (tokenIsGone(error)) stop('Step Functions no longer waits for it (the state timed out or the execution ended)');
      else logger.warn('Heartbeat not delivered; trying again at the next one', { error: error instanceof Error ? error.name : String(error) });
    });
  }, CONTAINER_HEARTBEAT_SECONDS * 1000);

  let outcome: { ok: true; result: unknown } | { ok: false; error: unknown };
  try {
    let event: unknown;
    try {
      event = JSON.parse(config[ENV.containerStepInput]);
    } catch {
      throw Object.assign(new Error(`${ENV.containerStepInput} is not JSON: the state machine passes the step's event there (lib/fargate-steps.ts)`), { name: 'UsageError' });
    }
    logger.info('Step task started', { step, deadline: deadline.toISOString() });
    // The handler logs the failure at ERROR and maps it (toTaskError) exactly as in Lambda.
    outcome = { ok: true, result: await HANDLERS[step](event) };
  } catch (error) {
    outcome = { ok: false, error };
  } finally {
    clearTimeout(deadlineTimer);
    clearInterval(heartbeat);
  }

  const elapsedSeconds = (Date.now() - (enteredAt ?? startedAt).getTime()) / 1000;
  metrics.addMetric(METRICS.stepCeilingPercent, MetricUnit.Percent, Math.round((elapsedSeconds / timeoutSeconds) * 1000) / 10);
  metrics.publishStoredMetrics();
  try {
    if (outcome.ok) {
      await sfn.send(new SendTaskSuccessCommand({ taskToken, output: JSON.stringify(outcome.result ?? null) }));
      logger.info('Step task succeeded', { step, elapsedSeconds });
      return EXIT.succeeded;
    }
    await sfn.send(new SendTaskFailureCommand({ taskToken, ...failureOf(outcome.error) }));
    return EXIT.failed;
  } catch (error) {
    // The state already timed out: it reported the failure, and (the deadline being earlier) no
    // restore committed after that.
    logger.error('Step task result not delivered to Step Functions', { step, error: error instanceof Error ? error.name : String(error) });
    return EXIT.unreportable;
  }
}
