import { describe, expect, it } from '@jest/globals';
import { ConfigError } from '../../../lambdas/core/errors.js';
import { backupEnv, configOnce, notifyEnv, pickBackupEnv, readConfig, slackEnv, storeAndTargetsEnv, targetsEnv } from '../../../lambdas/handlers/shared/config.js';
import { ENV } from '../../../lib/contract.js';

const ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:x';

function failure(run: () => unknown): ConfigError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('function configuration from the environment (lib/contract.ts)', () => {
  it('reads the backup function environment with its defaults; blank lists mean "all"', () => {
    const config = readConfig('backup', backupEnv, { BACKUP_BUCKET: 'vault', SOURCE_SECRET_ARN: ARN, BACKUP_TABLES: '', BACKUP_KMS_KEY_ID: '' });
    expect(config).toEqual({ BACKUP_BUCKET: 'vault', BACKUP_PREFIX: 'backups', BACKUP_KMS_KEY_ID: undefined, SOURCE_SECRET_ARN: ARN, BACKUP_SCHEMAS: ['public'], BACKUP_TABLES: [], BACKUP_ROWS: 'copy' });
    const listed = readConfig('backup', backupEnv, { BACKUP_BUCKET: 'vault', BACKUP_PREFIX: '/db/', SOURCE_SECRET_ARN: ARN, BACKUP_SCHEMAS: 'public, sales', BACKUP_TABLES: 'products, sales.orders', BACKUP_KMS_KEY_ID: 'arn:aws:kms:k', BACKUP_ROWS: 'json' });
    expect(listed).toMatchObject({ BACKUP_PREFIX: 'db', BACKUP_SCHEMAS: ['public', 'sales'], BACKUP_TABLES: ['products', 'sales.orders'], BACKUP_KMS_KEY_ID: 'arn:aws:kms:k', BACKUP_ROWS: 'json' });
    expect(() => readConfig('backup', backupEnv, { BACKUP_BUCKET: 'vault', SOURCE_SECRET_ARN: ARN, BACKUP_ROWS: 'csv' })).toThrow(/BACKUP_ROWS/);
  });

  it('lists every missing variable at once, naming the function and never a value', () => {
    const error = failure(() => readConfig('backup', backupEnv, { BACKUP_PREFIX: 'backups' }));
    expect(error.message).toContain('The backup function is misconfigured');
    expect(error.message).toContain(`${ENV.backupBucket}: not set`);
    expect(error.message).toContain(`${ENV.sourceSecretArn}: not set`);
  });

  it('parses TARGET_SECRET_ARNS as a JSON object of target names', () => {
    const arns = { staging: `${ARN}-s`, production: `${ARN}-p` };
    expect(readConfig('restore', storeAndTargetsEnv, { BACKUP_BUCKET: 'vault', TARGET_SECRET_ARNS: JSON.stringify(arns) }).TARGET_SECRET_ARNS).toEqual(arns);
    expect(failure(() => readConfig('integrity-check', targetsEnv, { TARGET_SECRET_ARNS: 'staging=arn' })).message).toContain('TARGET_SECRET_ARNS: not JSON');
    expect(failure(() => readConfig('integrity-check', targetsEnv, { TARGET_SECRET_ARNS: '{}' })).message).toContain('names no restore target');
    expect(failure(() => readConfig('integrity-check', targetsEnv, { TARGET_SECRET_ARNS: '{"Staging":"arn"}' })).message).toContain('lower-case');
  });

  it('reads the pick-backup, notify and slack environments', () => {
    expect(readConfig('pick-backup', pickBackupEnv, { BACKUP_BUCKET: 'vault', RESTORE_TARGETS: 'staging, production' }).RESTORE_TARGETS).toEqual(['staging', 'production']);
    expect(failure(() => readConfig('pick-backup', pickBackupEnv, { BACKUP_BUCKET: 'vault' })).message).toContain('RESTORE_TARGETS: not set');
    expect(readConfig('notify', notifyEnv, { CRITICAL_TOPIC_ARN: 'c', WARNING_TOPIC_ARN: 'w' })).toEqual({ CRITICAL_TOPIC_ARN: 'c', WARNING_TOPIC_ARN: 'w', RTO_SECONDS: 3600, AWS_REGION: undefined });
    expect(readConfig('notify', notifyEnv, { CRITICAL_TOPIC_ARN: 'c', WARNING_TOPIC_ARN: 'w', RTO_SECONDS: '1800' }).RTO_SECONDS).toBe(1800);
    expect(failure(() => readConfig('notify', notifyEnv, { CRITICAL_TOPIC_ARN: ' ' })).message).toMatch(/CRITICAL_TOPIC_ARN: not set.*WARNING_TOPIC_ARN: not set/);
    expect(failure(() => readConfig('slack-notifier', slackEnv, {})).message).toContain('SLACK_WEBHOOK_SECRET_ARN: not set');
  });

  it('reads once per container', () => {
    const previous = process.env.SLACK_WEBHOOK_SECRET_ARN;
    process.env.SLACK_WEBHOOK_SECRET_ARN = 'first';
    try {
      const config = configOnce('slack-notifier', slackEnv);
      expect(config().SLACK_WEBHOOK_SECRET_ARN).toBe('first');
      process.env.SLACK_WEBHOOK_SECRET_ARN = 'second';
      expect(config().SLACK_WEBHOOK_SECRET_ARN).toBe('first');
    } finally {
      if (previous === undefined) delete process.env.SLACK_WEBHOOK_SECRET_ARN;
      else process.env.SLACK_WEBHOOK_SECRET_ARN = previous;
    }
  });
});
