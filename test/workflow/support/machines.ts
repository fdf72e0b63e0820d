import { ExecutionError, StateMachine } from 'aws-local-stepfunctions';
import { expect } from '@jest/globals';
import { type AslDefinition, definitionOf, logicalId, synthStack } from '../../infra/helpers.js';
import { type Handler, lambdaContext } from './lambda.js';
import '../../helpers/promise-polyfill.js';
import { because } from '../../helpers/expect-message.js';

/**
 * Runs the state machines exactly as synthesized (the DefinitionString of the template, with fake
 * function ARNs) in aws-local-stepfunctions, each Task bound by state name to a real handler.
 *
 * The tasks invoke the function ARN directly (`payloadResponseOnly`), so in real Step Functions the
 * task's result is the function's return value as is — which is what an override returns here (the
 * interpreter would wrap nothing either way for a function ARN; the `{Payload}` envelope belongs to
 * `arn:aws:states:::lambda:invoke`, which these definitions do not use: `bindTasks` checks it).
 */


export interface Definitions {
  readonly backup: AslDefinition;
  readonly restore: AslDefinition;
  /** The production restore machine (its own functions; only named principals may start it). */
  readonly productionRestore: AslDefinition;
}

/** The production restore machine's fixed name in the test stack (its restore function's RESTORE_GATE). */
export const PRODUCTION_MACHINE_NAME = 'IconicDrTest-ProductionRestore';

/** Synthesizes the stack once (no bundling, no CloudFormation validation) and takes both machines. */
export function synthDefinitions(): Definitions {
  const { stack, resources } = synthStack();
  return {
    backup: definitionOf(resources, logicalId(stack.backup.stateMachine)),
    restore: definitionOf(resources, logicalId(stack.restore.stateMachine)),
    productionRestore: definitionOf(resources, logicalId(stack.restore.production.stateMachine)),
  };
}

export interface RunResult {
  readonly executionArn: string;
  /** The machine's output when it succeeded. */
  readonly output: Record<string, unknown> | undefined;
  /** The Fail state's error when it failed (`name` = Error, `message` = Cause). */
  readonly error: { name: string; message: string } | undefined;
  /** Each task's events (its Parameters), by state name, in order. */
  readonly calls: Record<string, unknown[]>;
  /** Each task's results or errors, by state name. */
  readonly results: Record<string, unknown[]>;
  /** State names of the machine in the order they were entered (not those inside a Map's items). */
  readonly path: string[];
  /** States entered inside Map items (the `Validate` Distributed Map's ValidateFile, …), in order. */
  readonly itemPath: string[];
}

/** Every state of a definition with its name, those of Map item processors included. */
export function allStates(definition: Pick<AslDefinition, 'States'>): [string, AslDefinition['States'][string]][] {
  return Object.entries(definition.States).flatMap(([name, state]) => {
    const processor = (state.ItemProcessor ?? state.Iterator) as Pick<AslDefinition, 'States'> | undefined;
    return [[name, state] as [string, AslDefinition['States'][string]], ...(state.Type === 'Map' && processor ? allStates(processor) : [])];
  });
}

let runs = 0;

/** Checks that every Task of the definition invokes a Lambda function ARN and has a handler. */
function bindTasks(definition: AslDefinition, handlers: Readonly<Record<string, Handler>>): void {
  const tasks = allStates(definition).filter(([, state]) => state.Type === 'Task');
  for (const [name, state] of tasks) {
    // A Lambda function ARN (payloadResponseOnly), or a Fargate step (lib/fargate-steps.ts).
    because(`${name} must invoke the function ARN directly (payloadResponseOnly)`, () => expect(state.Resource).toMatch(/^arn:aws:lambda:[^:]+:\d{12}:function:[^:]+$|^arn:aws:states:::ecs:runTask\.waitForTaskToken$/));
    because(`no handler bound to Task ${name}: the interpreter would call AWS, fail, and the Catch would hide it`, () => expect(typeof handlers[name]).toBe('function'));
  }
}

/**
 * Executes a definition with the handlers bound by state name. Retry intervals are zeroed (a
 * TransientError is retried at once); the context carries the execution ARN; StartTime is the
 * interpreter's (now).
 */
export async function runMachine(definition: AslDefinition, input: unknown, handlers: Readonly<Record<string, Handler>>, machineName = 'IconicDr'): Promise<RunResult> {
  bindTasks(definition, handlers);
  const executionArn = `arn:aws:states:us-east-1:123456789012:execution:${machineName}:run-${++runs}-${Date.now()}`;
  const calls: Record<string, unknown[]> = {};
  const results: Record<string, unknown[]> = {};
  const path: string[] = [];
  const itemPath: string[] = [];
  const overrides = Object.fromEntries(
    Object.entries(handlers).map(([state, handler]) => [
      state,
      async (event: unknown) => {
        (calls[state] ??= []).push(event);
        try {
          const result = await handler(event, lambdaContext(state));
          (results[state] ??= []).push(result);
          return result;
        } catch (error) {
          (results[state] ??= []).push(error);
          throw error;
        }
      },
    ]),
  );
  const machine = new StateMachine(definition as never, { validationOptions: { checkArn: true, checkPaths: true } });
  const run = machine.run(input as never, {
    overrides: { taskResourceLocalHandlers: overrides as never, retryIntervalOverrides: Object.fromEntries(allStates(definition).map(([name]) => [name, 0])) },
    // Task.Token and State.EnteredTime for Fargate steps: the interpreter has neither (the local
    // runner gives each task its own token and entry time, test/helpers/step-task.ts).
    context: { Execution: { Id: executionArn, Name: executionArn.split(':').pop() }, Task: { Token: 'local-task-token' }, State: { EnteredTime: new Date().toISOString() } } as never,
  });
  const collecting = (async () => {
    // A Map item's events come with the item's `index`.
    for await (const event of run.eventLogs) if (event.type === 'StateEntered') (event.index === undefined ? path : itemPath).push(event.state.name);
  })();
  try {
    const output = (await run.result) as Record<string, unknown>;
    return { executionArn, output, error: undefined, calls, results, path, itemPath };
  } catch (error) {
    if (!(error instanceof ExecutionError)) throw error;
    const cause = error.cause as Error;
    return { executionArn, output: undefined, error: { name: cause.name, message: cause.message }, calls, results, path, itemPath };
  } finally {
    await collecting;
  }
}
