import { GetSecretValueCommand, SecretsManagerServiceException } from '@aws-sdk/client-secrets-manager';
import { parse } from 'pg-connection-string';
import { beforeEach, describe, expect, it } from '@jest/globals';
import { ConfigError, UsageError } from '../../../lambdas/core/errors.js';
import { TransientError } from '../../../lambdas/handlers/shared/errors.js';
import { databaseUrlFrom, databaseUrlFromSecret, slackWebhookUrl, targetDatabaseUrl } from '../../../lambdas/handlers/shared/secrets.js';
import { mockClient } from 'aws-sdk-client-mock';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { clearCaches } from '@aws-lambda-powertools/parameters';
import { because } from '../../helpers/expect-message.js';

const ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:IconicDrSource-AbCdEf';
const PASSWORD = 'p@ss:w/rd?#%&=+ é';
const secret = (overrides: Record<string, unknown> = {}) => JSON.stringify({ engine: 'postgres', host: 'db.abcdefgh.supabase.co', port: 5432, dbname: 'postgres', username: 'postgres', password: PASSWORD, sslmode: 'require', ...overrides });

const sm = mockClient(SecretsManagerClient);

function sdkError(name: string, status: number): SecretsManagerServiceException {
  return new SecretsManagerServiceException({ name, $fault: status >= 500 ? 'server' : 'client', $metadata: { httpStatusCode: status }, message: `${name} happened` });
}

async function failure(promise: Promise<unknown>): Promise<Error> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e as Error,
  );
  expect(error).toBeInstanceOf(Error);
  return error!;
}

describe('database and Slack secrets through Powertools Parameters (Secrets Manager mocked)', () => {
  beforeEach(() => {
    clearCaches();
    sm.reset();
  });

  it('builds a URL that node-postgres reads back exactly, whatever the password holds', () => {
    const url = databaseUrlFrom({ host: 'db.example.com', port: 6543, dbname: 'shop db', username: 'postgres.abc', password: PASSWORD, sslmode: 'require' });
    const parsed = parse(url);
    expect(parsed).toMatchObject({ host: 'db.example.com', port: '6543', database: 'shop db', user: 'postgres.abc', password: PASSWORD });
    // libpq's `require`: encrypted, certificate not verified (node-postgres would read `require` as verify-full).
    expect(parsed.ssl).toEqual({ rejectUnauthorized: false });
    expect(parse(databaseUrlFrom({ host: 'h', port: 5432, dbname: 'd', username: 'u', password: '', sslmode: 'verify-full' })).ssl).toEqual({});
    expect(parse(databaseUrlFrom({ host: '127.0.0.1', port: 5432, dbname: 'd', username: 'u', password: '', sslmode: 'disable' })).ssl).toBe(false);
    expect(parse(databaseUrlFrom({ host: '::1', port: 5432, dbname: 'd', username: 'u', password: 'x', sslmode: 'disable' })).host).toBe('::1');
  });

  it('gives the checks after a restore a read-only session, as the read-only role when the secret names one (Secrets Manager mocked)', async () => {
    sm.on(GetSecretValueCommand).resolves({ SecretString: secret({ readOnlyUsername: 'iconic_dr_reader', readOnlyPassword: 'r3ad#only' }) });
    const readOnly = parse(await targetDatabaseUrl({ staging: ARN }, 'staging', 'read-only'));
    expect(readOnly).toMatchObject({ user: 'iconic_dr_reader', password: 'r3ad#only', options: '-c default_transaction_read_only=on' });
    const readWrite = parse(await targetDatabaseUrl({ staging: ARN }, 'staging'));
    expect(readWrite).toMatchObject({ user: 'postgres', password: PASSWORD });
    expect(readWrite.options).toBeUndefined();

    clearCaches();
    sm.reset();
    sm.on(GetSecretValueCommand).resolves({ SecretString: secret() });
    // Without a read-only role the session is still read-only: the checks cannot write through it.
    expect(parse(await targetDatabaseUrl({ staging: ARN }, 'staging', 'read-only'))).toMatchObject({ user: 'postgres', options: '-c default_transaction_read_only=on' });
  });

  it('says a secret created without a value has none yet, not that it does not exist (Secrets Manager mocked)', async () => {
    sm.on(GetSecretValueCommand).rejects(Object.assign(sdkError('ResourceNotFoundException', 400), { message: "Secrets Manager can't find the specified secret value for staging label: AWSCURRENT" }));
    const error = await failure(databaseUrlFromSecret(ARN, 'source database'));
    expect(error.message).toContain('has no value yet');
  });

  it('reads the secret once per cache period (Secrets Manager mocked)', async () => {
    sm.on(GetSecretValueCommand).resolves({ SecretString: secret() });
    const first = await databaseUrlFromSecret(ARN, 'source database');
    expect(await databaseUrlFromSecret(ARN, 'source database')).toBe(first);
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(1);
    expect(sm.commandCalls(GetSecretValueCommand)[0]!.args[0].input).toEqual({ SecretId: ARN });
  });

  it('says a secret with an empty host is not configured yet, naming it (Secrets Manager mocked)', async () => {
    sm.on(GetSecretValueCommand).resolves({ SecretString: secret({ host: '' }) });
    const error = await failure(databaseUrlFromSecret(ARN, 'source database'));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toBe(`The source database secret ${ARN} is not configured yet (its "host" is empty): put the database's host, user and password in it (docs/deploy.md, "Fill in the secrets")`);
  });

  it('rejects malformed secrets without quoting their content (Secrets Manager mocked)', async () => {
    sm.on(GetSecretValueCommand).resolves({ SecretString: `host=db password=${PASSWORD}` });
    const notJson = await failure(databaseUrlFromSecret(ARN, 'source database'));
    expect(notJson).toBeInstanceOf(ConfigError);
    expect(notJson.message).toContain('is not JSON');
    expect(notJson.message).not.toContain(PASSWORD);

    clearCaches();
    sm.on(GetSecretValueCommand).resolves({ SecretString: secret({ sslmode: 'sometimes', username: '' }) });
    const wrong = await failure(databaseUrlFromSecret(ARN, 'source database'));
    expect(wrong.message).toMatch(/username: empty; sslmode: must be "require", "verify-full" or "disable"/);
    expect(wrong.message).not.toContain(PASSWORD);
  });

  it('maps Secrets Manager failures: missing or denied -> ConfigError, throttled or down -> TransientError (Secrets Manager mocked)', async () => {
    const cases = [
      ['ResourceNotFoundException', 400, ConfigError, 'it does not exist'],
      ['AccessDeniedException', 400, ConfigError, 'may not read it'],
      ['DecryptionFailure', 400, ConfigError, 'KMS key refused'],
      ['ThrottlingException', 400, TransientError, 'did not answer'],
      ['InternalServiceError', 500, TransientError, 'did not answer'],
    ] as const;
    for (const [name, status, type, text] of cases) {
      clearCaches();
      sm.reset();
      sm.on(GetSecretValueCommand).rejects(sdkError(name, status));
      const error = await failure(databaseUrlFromSecret(ARN, 'source database'));
      because(name, () => expect(error).toBeInstanceOf(type));
      because(name, () => expect(error.message).toContain(text));
      because(name, () => expect(error.message).toContain(ARN));
    }
  });

  it('finds a restore target by name (Secrets Manager mocked)', async () => {
    sm.on(GetSecretValueCommand).resolves({ SecretString: secret() });
    await expect(targetDatabaseUrl({ staging: ARN }, 'staging')).resolves.toMatch(/^postgres:\/\//);
    await expect(targetDatabaseUrl({ staging: ARN }, 'prod')).rejects.toThrow(UsageError);
    await expect(targetDatabaseUrl({ staging: ARN }, 'prod')).rejects.toThrow('Unknown restore target "prod": use one of staging');
  });

  it('reads the Slack webhook URL, refusing the generated placeholder and plain http off loopback (Secrets Manager mocked)', async () => {
    sm.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify({ webhookUrl: 'https://hooks.slack.com/services/T1/B2/xyz' }) });
    await expect(slackWebhookUrl(ARN)).resolves.toBe('https://hooks.slack.com/services/T1/B2/xyz');
    for (const webhookUrl of ['Gx7PlaceholderGeneratedByTheStack0', 'http://hooks.slack.com/services/T1/B2/xyz']) {
      clearCaches();
      sm.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify({ webhookUrl }) });
      const error = await failure(slackWebhookUrl(ARN));
      expect(error).toBeInstanceOf(ConfigError);
      expect(error.message).not.toContain(webhookUrl);
    }
  });
});
