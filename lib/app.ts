import { type App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import type { Node } from 'constructs';
import type { ObjectLockMode } from './backup-vault.js';
import { DisasterRecoveryStack, type DisasterRecoveryStackProps } from './disaster-recovery-stack.js';
import type { StepCompute } from './fargate-steps.js';
import { BackupReplicaStack } from './replica-stack.js';

/**
 * How `cdk synth/deploy -c key=value` configures the app (also readable from cdk.json "context"):
 *
 * | context key               | stack prop                   | example                          |
 * |---------------------------|------------------------------|----------------------------------|
 * | stackName                 | (stack id)                   | IconicDr (default)               |
 * | alertEmails               | critical + warning e-mails   | a@x.com,b@x.com                  |
 * | criticalEmails            | criticalEmails               | oncall@x.com                     |
 * | warningEmails             | warningEmails                | team@x.com                       |
 * | slack                     | slack                        | true                             |
 * | backupSchedule            | backupSchedule               | cron(0 2 * * ? *)                |
 * | retentionDays             | retentionDays                | 90                               |
 * | tables / schemas          | tables / schemas             | products,orders / public         |
 * | objectLock                | objectLock                   | true (default)                   |
 * | objectLockRetentionDays   | objectLockRetentionDays      | 30                               |
 * | objectLockMode            | objectLockMode               | GOVERNANCE or COMPLIANCE         |
 * | replicaRegion             | adds stack <stackName>Replica in that region                    |
 * | replicaBucketArn + replicaKmsKeyArn | replica (outputs of the replica stack)                |
 * | vpcId                     | vpcId (needs CDK_DEFAULT_ACCOUNT/REGION and credentials)        |
 * | drills                    | drillsEnabled                | false                            |
 * | externalSubscribers       | externalSubscribers          | true (a pager subscribed by hand) |
 * | productionRestorePrincipals | productionRestorePrincipals | arn:aws:iam::1:role/oncall       |
 * | productionDatabase        | productionDatabase           | db.abc.supabase.co:5432/postgres |
 * | breakGlassPrincipalArn    | breakGlassPrincipalArn       | arn:aws:iam::1:role/break-glass  |
 * | cloudTrail                | bucketDataEvents             | true (default)                   |
 * | nag                       | run cdk-nag AwsSolutions     | true (default)                   |
 * | compute                   | compute                      | lambda (default), fargate, auto  |
 * | validateConcurrency       | validateConcurrency          | 8 (default)                      |
 * | backupRows                | backupRows                   | copy (default) or json           |
 */
export interface AppConfig {
  readonly stackName: string;
  readonly stackProps: DisasterRecoveryStackProps;
  readonly replicaRegion?: string;
  readonly nag: boolean;
}

/** Reads the app configuration from context; every problem is reported at once. */
export function configFromContext(node: Node): AppConfig {
  const problems: string[] = [];
  const str = (key: string): string | undefined => {
    const value: unknown = node.tryGetContext(key);
    if (value === undefined || value === null || value === '') return undefined;
    return String(value).trim();
  };
  const list = (key: string): string[] | undefined => {
    const value: unknown = node.tryGetContext(key);
    if (value === undefined || value === null || value === '') return undefined;
    const items = Array.isArray(value) ? value.map(String) : String(value).split(',');
    return items.map((item) => item.trim()).filter(Boolean);
  };
  const bool = (key: string, fallback: boolean): boolean => {
    const value = str(key);
    if (value === undefined) return fallback;
    if (/^(true|1|yes|on)$/i.test(value)) return true;
    if (/^(false|0|no|off)$/i.test(value)) return false;
    problems.push(`-c ${key}=${value}: expected true or false`);
    return fallback;
  };
  const int = (key: string): number | undefined => {
    const value = str(key);
    if (value === undefined) return undefined;
    if (!/^\d+$/.test(value)) {
      problems.push(`-c ${key}=${value}: expected a whole number`);
      return undefined;
    }
    return Number(value);
  };

  const alertEmails = list('alertEmails') ?? [];
  const criticalEmails = [...new Set([...alertEmails, ...(list('criticalEmails') ?? [])])];
  const warningEmails = [...new Set([...alertEmails, ...(list('warningEmails') ?? [])])];
  const objectLockMode = str('objectLockMode')?.toUpperCase();
  if (objectLockMode !== undefined && objectLockMode !== 'GOVERNANCE' && objectLockMode !== 'COMPLIANCE') problems.push(`-c objectLockMode=${objectLockMode}: expected GOVERNANCE or COMPLIANCE`);
  const compute = str('compute');
  const backupRows = str('backupRows');
  if (backupRows !== undefined && backupRows !== 'json' && backupRows !== 'copy') problems.push(`-c backupRows=${backupRows}: expected json or copy`);
  if (compute !== undefined && compute !== 'lambda' && compute !== 'fargate' && compute !== 'auto') problems.push(`-c compute=${compute}: expected lambda, fargate or auto`);
  const replicaBucketArn = str('replicaBucketArn');
  const replicaKmsKeyArn = str('replicaKmsKeyArn');
  if ((replicaBucketArn === undefined) !== (replicaKmsKeyArn === undefined)) problems.push('-c replicaBucketArn and -c replicaKmsKeyArn go together (outputs of the replica stack)');

  const productionDatabase = str('productionDatabase');
  const location = productionDatabase ? /^([^:/\s]+)(?::(\d+))?(?:\/([^/\s]+))?$/.exec(productionDatabase) : null;
  if (productionDatabase && !location) problems.push(`-c productionDatabase=${productionDatabase}: expected host[:port][/dbname]`);
  const retentionDays = int('retentionDays');
  const validateConcurrency = int('validateConcurrency');
  const objectLockRetentionDays = int('objectLockRetentionDays');
  const backupSchedule = str('backupSchedule');
  const tables = list('tables');
  const schemas = list('schemas');
  const vpcId = str('vpcId');
  const account = process.env.CDK_DEFAULT_ACCOUNT;
  const region = process.env.CDK_DEFAULT_REGION;

  const config: AppConfig = {
    stackName: str('stackName') ?? 'IconicDr',
    nag: bool('nag', true),
    ...(str('replicaRegion') ? { replicaRegion: str('replicaRegion') as string } : {}),
    stackProps: {
      ...(account || region ? { env: { ...(account ? { account } : {}), ...(region ? { region } : {}) } } : {}),
      ...(criticalEmails.length ? { criticalEmails } : {}),
      ...(warningEmails.length ? { warningEmails } : {}),
      slack: bool('slack', false),
      drillsEnabled: bool('drills', true),
      ...(backupSchedule ? { backupSchedule } : {}),
      ...(retentionDays !== undefined ? { retentionDays } : {}),
      ...(tables ? { tables } : {}),
      ...(schemas ? { schemas } : {}),
      ...(objectLockRetentionDays !== undefined ? { objectLockRetentionDays } : {}),
      ...(objectLockMode ? { objectLockMode: objectLockMode as ObjectLockMode } : {}),
      ...(replicaBucketArn && replicaKmsKeyArn ? { replica: { bucketArn: replicaBucketArn, kmsKeyArn: replicaKmsKeyArn } } : {}),
      ...(vpcId ? { vpcId } : {}),
      ...(compute ? { compute: compute as StepCompute } : {}),
      ...(validateConcurrency !== undefined ? { validateConcurrency } : {}),
      ...(backupRows ? { backupRows: backupRows as 'json' | 'copy' } : {}),
      externalSubscribers: bool('externalSubscribers', false),
      objectLock: bool('objectLock', true),
      bucketDataEvents: bool('cloudTrail', true),
      ...(list('productionRestorePrincipals') ? { productionRestorePrincipals: list('productionRestorePrincipals') as string[] } : {}),
      ...(location ? { productionDatabase: { host: location[1]!, ...(location[2] ? { port: Number(location[2]) } : {}), ...(location[3] ? { dbname: location[3] } : {}) } } : {}),
      ...(str('breakGlassPrincipalArn') ? { breakGlassPrincipalArn: str('breakGlassPrincipalArn') as string } : {}),
      ...(bool('media', true) ? (str('mediaSchedule') ? { mediaSchedule: str('mediaSchedule') as string } : {}) : { mediaSchedule: false as const }),
      ...(str('adminJwtIssuer')
        ? {
            adminApi: {
              jwtIssuer: str('adminJwtIssuer') as string,
              ...(list('adminJwtAudience') ? { jwtAudience: list('adminJwtAudience') as string[] } : {}),
              ...(str('adminClaim') ? { adminClaim: str('adminClaim') as string } : {}),
              ...(str('adminClaimValue') ? { adminClaimValue: str('adminClaimValue') as string } : {}),
              ...(str('adminAllowedOrigin') ? { allowedOrigin: str('adminAllowedOrigin') as string } : {}),
            },
          }
        : {}),
    },
  };
  if (problems.length > 0) throw new Error(`Invalid context:\n- ${problems.join('\n- ')}`);
  return config;
}

/** Adds the stacks the context asks for, with cdk-nag AwsSolutions and Serverless checking them at synth. */
export function buildApp(app: App): { stack: DisasterRecoveryStack; replica?: BackupReplicaStack } {
  const config = configFromContext(app.node);
  const stack = new DisasterRecoveryStack(app, config.stackName, config.stackProps);
  const replica = config.replicaRegion
    ? new BackupReplicaStack(app, `${config.stackName}Replica`, {
        env: { ...(process.env.CDK_DEFAULT_ACCOUNT ? { account: process.env.CDK_DEFAULT_ACCOUNT } : {}), region: config.replicaRegion },
        ...(config.stackProps.retentionDays !== undefined ? { retentionDays: config.stackProps.retentionDays } : {}),
      })
    : undefined;
  if (config.nag) Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }), new ServerlessChecks(app, { verbose: true }));
  return replica ? { stack, replica } : { stack };
}
