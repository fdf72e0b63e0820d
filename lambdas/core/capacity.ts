/**
 * Where a step should run, from what the backup's manifest says about its size and duration.
 * Plain arithmetic, shared by the plan-compute task and docs/scale.md's table.
 *
 * Rates are MB of the backup's compressed files per CPU-second of the iconic-dr process, measured
 * with the CLI on the sample shop (docs/scale.md, "Measurements"): the engine is CPU-bound in gzip,
 * SHA-256 and COPY encoding, so a step's time scales with the vCPUs it gets, until the database or
 * the network is the slower side — which the previous backup's own duration captures.
 */

export type RoutedStep = 'backup' | 'validate' | 'restore';

/** MB of compressed backup per CPU-second of the iconic-dr process (docs/scale.md; measured under load, so on the low side). */
export const COMPRESSED_MB_PER_VCPU_SECOND: Readonly<Record<RoutedStep, number>> = { backup: 15, validate: 18, restore: 18 };

/** Parallel work a step can use: backup jobs (up to 4), validate (2 files at a time), restore (one transaction, one connection). */
export const MAX_PARALLEL: Readonly<Record<RoutedStep, number>> = { backup: 4, validate: 2, restore: 1 };

/** A step's wall time relative to the backup's, for the same backup (docs/scale.md). */
export const TIME_RELATIVE_TO_BACKUP: Readonly<Record<RoutedStep, number>> = { backup: 1, validate: 0.8, restore: 1.2 };

/** Lambda gives one full vCPU at 1769 MB, and CPU in proportion to memory (AWS documentation). */
export function lambdaVcpus(memoryMb: number): number {
  return memoryMb / 1769;
}

/** What the manifest of the backup a step works on (or, for a new backup, the previous one) says. */
export interface CapacityBasis {
  readonly backupId: string;
  /** Compressed table files, bytes. */
  readonly totalBytes: number;
  /** How long taking that backup took. */
  readonly durationMs: number;
}

/** Seconds a step would take with `vcpus`: the slower of the CPU estimate and the backup's own pace. */
export function estimateSeconds(step: RoutedStep, basis: CapacityBasis, vcpus: number): number {
  const byCpu = basis.totalBytes / 1e6 / (COMPRESSED_MB_PER_VCPU_SECOND[step] * Math.min(vcpus, MAX_PARALLEL[step]));
  const byPace = (basis.durationMs / 1000) * TIME_RELATIVE_TO_BACKUP[step];
  return Math.max(byCpu, byPace);
}

/** The share of the Lambda timeout above which a step goes to Fargate. */
export const FARGATE_ABOVE_SHARE = 0.5;

export interface ComputeChoice {
  readonly compute: 'lambda' | 'fargate';
  readonly estimatedSeconds: number | null;
  readonly lambdaTimeoutSeconds: number;
}

/**
 * Lambda unless the step is estimated to need more than half its Lambda timeout. Without a basis
 * (the first backup) Lambda: there is nothing to go on, and a too-small Lambda fails loudly and
 * the next run has a manifest.
 */
export function chooseCompute(step: RoutedStep, basis: CapacityBasis | undefined, lambda: { timeoutSeconds: number; memoryMb: number }): ComputeChoice {
  if (!basis) return { compute: 'lambda', estimatedSeconds: null, lambdaTimeoutSeconds: lambda.timeoutSeconds };
  const estimated = estimateSeconds(step, basis, lambdaVcpus(lambda.memoryMb));
  return {
    compute: estimated > lambda.timeoutSeconds * FARGATE_ABOVE_SHARE ? 'fargate' : 'lambda',
    estimatedSeconds: Math.round(estimated),
    lambdaTimeoutSeconds: lambda.timeoutSeconds,
  };
}
