export interface Deferred {
  /** Runs the step now (once) and unregisters it. */
  now(): Promise<void>;
  /** Unregisters the step without running it (the resource is gone or handed over). */
  forget(): void;
}

/**
 * Undo steps registered as resources are created (servers, databases, directories) and run in
 * reverse order at the end, on failure and on Ctrl-C, so a bench never leaves servers running.
 */
export class Cleanup {
  private readonly steps: { label: string; undo: () => Promise<unknown> | unknown }[] = [];
  private running: Promise<void> | undefined;
  /** Set on Ctrl-C: the bench's loops stop at their next step instead of racing the cleanup. */
  stopped = false;

  throwIfStopped(): void {
    if (this.stopped) throw new Interrupted();
  }

  defer(label: string, undo: () => Promise<unknown> | unknown): Deferred {
    const step = { label, undo };
    this.steps.push(step);
    const remove = (): boolean => {
      const i = this.steps.indexOf(step);
      if (i === -1) return false;
      this.steps.splice(i, 1);
      return true;
    };
    return {
      now: async () => {
        if (remove()) await step.undo();
      },
      forget: () => void remove(),
    };
  }

  /**
   * Runs every remaining step, newest first; a failing step is reported and the rest still run.
   * Steps registered while it runs (a database created just before Ctrl-C) are run too.
   */
  run(log: (line: string) => void): Promise<void> {
    this.running ??= (async () => {
      while (this.steps.length) {
        const step = this.steps.pop()!;
        try {
          await step.undo();
        } catch (error) {
          log(`cleanup: ${step.label} failed: ${(error as Error)?.message ?? error}`);
        }
      }
    })();
    return this.running;
  }
}

export class Interrupted extends Error {
  constructor() {
    super('interrupted');
  }
}
