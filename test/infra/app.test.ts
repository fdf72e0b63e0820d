import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { App } from 'aws-cdk-lib';
import { describe, expect, it } from '@jest/globals';
import { configFromContext } from '../../lib/index.js';
import { because } from '../helpers/expect-message.js';

const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));

describe('app context', () => {
  it('defaults to one stack named IconicDr, Slack off, drills on, cdk-nag on', () => {
    const config = configFromContext(new App().node);
    expect(config.stackName).toBe('IconicDr');
    expect(config.nag).toBe(true);
    expect(config.replicaRegion).toBeUndefined();
    expect(config.stackProps).toMatchObject({ slack: false, drillsEnabled: true });
    expect(config.stackProps.criticalEmails).toBeUndefined();
  });

  it('reads -c values into stack props', () => {
    const app = new App({
      context: {
        alertEmails: 'a@example.com, b@example.com',
        warningEmails: 'team@example.com',
        slack: 'true',
        retentionDays: '60',
        tables: 'products,orders',
        objectLockRetentionDays: '30',
        objectLockMode: 'compliance',
        replicaBucketArn: 'arn:aws:s3:::replica',
        replicaKmsKeyArn: 'arn:aws:kms:eu-west-1:123456789012:key/abc',
        replicaRegion: 'eu-west-1',
        drills: 'false',
        productionRestorePrincipals: 'arn:aws:iam::123456789012:role/oncall',
        breakGlassPrincipalArn: 'arn:aws:iam::123456789012:role/break-glass',
        productionDatabase: 'db.prod.example.com:6543/shop',
        externalSubscribers: 'true',
        objectLock: 'false',
        cloudTrail: 'false',
        validateConcurrency: '16',
        backupRows: 'copy',
      },
    });
    const config = configFromContext(app.node);
    expect(config.replicaRegion).toBe('eu-west-1');
    expect(config.stackProps).toMatchObject({
      criticalEmails: ['a@example.com', 'b@example.com'],
      warningEmails: ['a@example.com', 'b@example.com', 'team@example.com'],
      slack: true,
      retentionDays: 60,
      tables: ['products', 'orders'],
      objectLockRetentionDays: 30,
      objectLockMode: 'COMPLIANCE',
      replica: { bucketArn: 'arn:aws:s3:::replica', kmsKeyArn: 'arn:aws:kms:eu-west-1:123456789012:key/abc' },
      drillsEnabled: false,
      productionRestorePrincipals: ['arn:aws:iam::123456789012:role/oncall'],
      breakGlassPrincipalArn: 'arn:aws:iam::123456789012:role/break-glass',
      productionDatabase: { host: 'db.prod.example.com', port: 6543, dbname: 'shop' },
      externalSubscribers: true,
      objectLock: false,
      bucketDataEvents: false,
      validateConcurrency: 16,
      backupRows: 'copy',
    });
  });

  it('reports every bad context value at once', () => {
    const app = new App({ context: { slack: 'maybe', backupRows: 'csv', retentionDays: 'ninety', objectLockMode: 'strict', replicaBucketArn: 'arn:aws:s3:::replica' } });
    let message = '';
    try {
      configFromContext(app.node);
    } catch (error) {
      message = (error as Error).message;
    }
    for (const problem of ['slack=maybe', 'backupRows=csv: expected json or copy', 'retentionDays=ninety', 'objectLockMode=STRICT', 'replicaKmsKeyArn go together']) expect(message).toContain(problem);
  });
});

describe('npx cdk synth', () => {
  it(
    'synthesizes with no AWS credentials and no Docker, bundling every handler with the local esbuild, cdk-nag clean',
    async () => {
      // Prepare: no credentials, no profile, no metadata service; a fresh output folder.
      const outdir = mkdtempSync(path.join(tmpdir(), 'iconic-dr-cdk-'));
      const env: NodeJS.ProcessEnv = { ...process.env, AWS_EC2_METADATA_DISABLED: 'true', CDK_DISABLE_VERSION_CHECK: 'true' };
      for (const key of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE', 'AWS_DEFAULT_PROFILE', 'CDK_DEFAULT_ACCOUNT', 'CDK_DEFAULT_REGION', 'NODE_ENV', 'JEST_WORKER_ID']) delete env[key];
      try {
        // Act
        const { code, output } = await new Promise<{ code: number | null; output: string }>((resolve, reject) => {
          const child = spawn('npx', ['cdk', 'synth', '--quiet', '--no-notices', '-c', 'slack=true', '-c', 'adminJwtIssuer=https://abcdefgh.supabase.co/auth/v1', '-o', outdir], { cwd: PROJECT_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
          let text = '';
          child.stdout.on('data', (chunk: Buffer) => (text += chunk.toString()));
          child.stderr.on('data', (chunk: Buffer) => (text += chunk.toString()));
          child.on('error', reject);
          child.on('close', (exitCode) => resolve({ code: exitCode, output: text }));
        });

        // Assess
        because(output, () => expect(code).toBe(0));
        const template = JSON.parse(readFileSync(path.join(outdir, 'IconicDr.template.json'), 'utf8')) as { Resources: Record<string, { Type: string; Properties: { Code?: { S3Key?: string } } }> };
        const functions = Object.values(template.Resources).filter((r) => r.Type === 'AWS::Lambda::Function');
        // One per handler and lane: the admin API is asked for, media sync (and the two lanes' media
        // restore) is on by default; compute is lambda, so no plan-compute function, and validation
        // is the plan, file and summary functions of each workflow (no single validate function).
        expect(functions).toHaveLength(22);
        const assets = JSON.parse(readFileSync(path.join(outdir, 'IconicDr.assets.json'), 'utf8')) as { files: Record<string, { source: { path: string } }> };
        for (const fn of functions) {
          // Each function's code is an esbuild ESM bundle (identical bundles share one asset).
          const hash = fn.Properties.Code?.S3Key?.replace(/\.zip$/, '') ?? '';
          const bundle = assets.files[hash]?.source.path ?? '';
          expect(readFileSync(path.join(outdir, bundle, 'index.mjs'), 'utf8')).toMatch(/export\s*\{/);
        }
        const report = JSON.parse(readFileSync(path.join(outdir, 'validation-report.json'), 'utf8')) as { pluginReports: { pluginName: string; violations: unknown[] }[] };
        expect(report.pluginReports.flatMap((r) => r.violations)).toEqual([]);
      } finally {
        rmSync(outdir, { recursive: true, force: true });
      }
    },
    300_000,
  );
});
