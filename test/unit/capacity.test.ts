import { describe, expect, it } from '@jest/globals';
import { chooseCompute, estimateSeconds, lambdaVcpus } from '../../lambdas/core/capacity.js';
import { readConfig, planComputeEnv } from '../../lambdas/handlers/shared/config.js';
import { ConfigError } from '../../lambdas/core/errors.js';

/** Where a step runs, from the backup's manifest (docs/scale.md). */

const LAMBDA = { timeoutSeconds: 900, memoryMb: 1024 };
const basis = (gb: number, durationSeconds: number) => ({ backupId: '2026-11-30T02-00-00-000Z', totalBytes: gb * 1e9, durationMs: durationSeconds * 1000 });

describe('choosing Lambda or Fargate for a step', () => {
  it('keeps every step in Lambda without a manifest to go on (the first backup)', () => {
    for (const step of ['backup', 'validate', 'restore'] as const) expect(chooseCompute(step, undefined, LAMBDA)).toEqual({ compute: 'lambda', estimatedSeconds: null, lambdaTimeoutSeconds: 900 });
  });

  it('keeps the shop\'s daily 1 GB backup in the default 1 GB Lambda, and sends a 5 GB one to Fargate', () => {
    expect(chooseCompute('backup', basis(1, 60), LAMBDA).compute).toBe('lambda');
    expect(chooseCompute('restore', basis(1, 60), LAMBDA).compute).toBe('lambda');
    expect(chooseCompute('backup', basis(5, 60), LAMBDA).compute).toBe('fargate');
  });

  it('goes to Fargate when the backup itself was slow (a slow link), whatever its size', () => {
    // 100 MB that took 7 minutes: the restore (1.2× the backup) would pass half of 15 minutes.
    expect(chooseCompute('backup', basis(0.1, 420), LAMBDA).compute).toBe('lambda');
    expect(chooseCompute('restore', basis(0.1, 420), LAMBDA)).toMatchObject({ compute: 'fargate', estimatedSeconds: 504 });
  });

  it('scales the CPU estimate with Lambda memory up to the parallel work a step has', () => {
    expect(lambdaVcpus(1769)).toBe(1);
    const small = estimateSeconds('backup', basis(10, 0), lambdaVcpus(1024));
    const large = estimateSeconds('backup', basis(10, 0), lambdaVcpus(10240));
    expect(small / large).toBeCloseTo(4 / (1024 / 1769), 5);
    // One transaction on one connection: a restore gains nothing past one vCPU.
    expect(estimateSeconds('restore', basis(10, 0), 2)).toBe(estimateSeconds('restore', basis(10, 0), 8));
  });

  it('reads the steps\' Lambda sizing from LAMBDA_SIZING and refuses what is not JSON', () => {
    const config = readConfig('plan-compute', planComputeEnv, { BACKUP_BUCKET: 'vault', LAMBDA_SIZING: '{"backup":{"timeoutSeconds":900,"memoryMb":1024}}' });
    expect(config.LAMBDA_SIZING).toEqual({ backup: { timeoutSeconds: 900, memoryMb: 1024 } });
    expect(() => readConfig('plan-compute', planComputeEnv, { BACKUP_BUCKET: 'vault', LAMBDA_SIZING: 'nope' })).toThrow(ConfigError);
  });
});
