import { describe, expect, it } from '@jest/globals';
import { deadlineMarginSeconds, stepDeadline } from '../../../lambdas/container/step-task.js';

/** The Fargate step task's deadline: before the state's timeout, counted from when the state was entered. */

describe('the step task deadline', () => {
  it('leaves a tenth of the ceiling, between 1 s and a minute', () => {
    expect(deadlineMarginSeconds(10)).toBe(1);
    expect(deadlineMarginSeconds(300)).toBe(30);
    expect(deadlineMarginSeconds(5400)).toBe(60);
  });

  it('counts from the state\'s entry, so a slow task start does not push the deadline past the timeout', () => {
    const entered = new Date('2026-11-30T02:00:00Z');
    const started = new Date('2026-11-30T02:03:00Z');
    expect(stepDeadline(5400, entered, started).toISOString()).toBe('2026-11-30T03:29:00.000Z');
    // Without an entry time (or one in the future, a clock skew), from the task's own start.
    expect(stepDeadline(5400, undefined, started).toISOString()).toBe('2026-11-30T03:32:00.000Z');
    expect(stepDeadline(5400, new Date('2026-11-30T02:05:00Z'), started).toISOString()).toBe('2026-11-30T03:32:00.000Z');
  });
});
