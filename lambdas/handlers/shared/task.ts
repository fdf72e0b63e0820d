import type { Context } from 'aws-lambda';
import { z } from 'zod';
import type { HandlerName } from '../../../lib/contract.js';
import { parseEvent, toTaskError } from './errors.js';
import { logger, metrics } from './observability.js';

/** `execution` of every task event: `{ id: <execution ARN>, startTime: <ISO time> }` (lib/workflow.ts). */
export const executionSchema = z.strictObject({
  id: z.string().min(1),
  startTime: z.iso.datetime({ offset: true }),
});
export type ExecutionRef = z.output<typeof executionSchema>;

export interface TaskDefinition<S extends z.ZodType, R> {
  readonly name: HandlerName;
  /** The event's schema; a mismatch is a UsageError listing every problem. */
  readonly event: S;
  /** The work: one call into the engine (lambdas/core), its result shaped as the contract says. */
  run(event: z.output<S>): Promise<R>;
}

/**
 * Wraps a task as a Lambda handler (STYLE 1, 5): parse the event, run, and on failure log the
 * original error at ERROR (under `error`, so its `name` is what log metric filters see) and rethrow
 * it mapped by `toTaskError` — a failure is never returned as a result. Stored metrics are flushed
 * at the end of every invocation, failed or not.
 */
export function taskHandler<S extends z.ZodType, R>(task: TaskDefinition<S, R>): (event: unknown, context?: Context) => Promise<R> {
  return async (event, context) => {
    if (context) logger.addContext(context);
    const executionArn = (event as { execution?: { id?: unknown } } | null)?.execution?.id;
    if (typeof executionArn === 'string') logger.appendKeys({ executionArn });
    try {
      return await task.run(parseEvent(task.event, event, task.name));
    } catch (error) {
      if (error instanceof Error) logger.error(`${task.name} failed`, error);
      else logger.error(`${task.name} failed`, { error: String(error) });
      throw toTaskError(error);
    } finally {
      if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
      logger.resetKeys();
    }
  };
}
