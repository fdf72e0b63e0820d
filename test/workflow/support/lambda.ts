import { clearCaches } from '@aws-lambda-powertools/parameters';
import { GetSecretValueCommand, ResourceNotFoundException, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { PublishCommand, SNSClient, type PublishCommandInput } from '@aws-sdk/client-sns';
import type { Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { jest } from '@jest/globals';

/**
 * Shared helpers of the handler tests (unit and workflow): a fake Lambda context, output capture
 * with the EMF metrics and log lines parsed out of it, and the two AWS services the tests mock at
 * the SDK client (Secrets Manager, SNS). S3 and PostgreSQL are always real.
 */

export type Handler = (event: unknown, context?: Context) => Promise<unknown>;

/** A Lambda context as the runtime passes it (enough for Powertools' `addContext`). */
export function lambdaContext(functionName: string): Context {
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:123456789012:function:${functionName}`,
    memoryLimitInMB: '512',
    awsRequestId: `req-${Math.random().toString(16).slice(2, 10)}`,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: '2026/11/25/[$LATEST]0123456789abcdef',
    getRemainingTimeInMillis: () => 60_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

export type JsonLine = Record<string, unknown>;

export interface EmfDocument {
  readonly namespace: string;
  readonly dimensions: string[][];
  readonly service: unknown;
  /** Metric name -> value (the last one when a document has several). */
  readonly values: Record<string, number>;
  readonly units: Record<string, string>;
}

export interface OutputCapture {
  /** Everything written so far. */
  text(): string;
  /** Every line that is a JSON object (Powertools logs and EMF documents). */
  json(): JsonLine[];
  /** Powertools log lines (they have `level` and `message`). */
  logs(): JsonLine[];
  /** EMF documents (they have `_aws.CloudWatchMetrics`). */
  metrics(): EmfDocument[];
  /** One metric's values across all EMF documents. */
  metric(name: string): number[];
  clear(): void;
  restore(): void;
}

/**
 * Captures (and silences) process.stdout and process.stderr, where Powertools writes logs (errors
 * to stderr) and EMF metrics outside Lambda; in Lambda both end up in the function's log group. The
 * spies wrap the stream objects the Powertools consoles hold, so they see their writes.
 */
export function captureOutput(): OutputCapture {
  let buffer = '';
  const sink = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    buffer += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    const callback = rest.find((arg) => typeof arg === 'function') as (() => void) | undefined;
    callback?.();
    return true;
  }) as typeof process.stdout.write;
  const spies = [jest.spyOn(process.stdout, 'write').mockImplementation(sink), jest.spyOn(process.stderr, 'write').mockImplementation(sink)];
  const json = (): JsonLine[] =>
    buffer
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line.startsWith('{'))
      .flatMap((line) => {
        try {
          return [JSON.parse(line) as JsonLine];
        } catch {
          return [];
        }
      });
  const metrics = (): EmfDocument[] =>
    json()
      .filter((doc) => typeof doc._aws === 'object' && doc._aws !== null)
      .map((doc) => {
        const directive = (doc._aws as { CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string; Unit: string }[] }[] }).CloudWatchMetrics[0]!;
        const values: Record<string, number> = {};
        const units: Record<string, string> = {};
        for (const m of directive.Metrics) {
          const value = doc[m.Name];
          values[m.Name] = Array.isArray(value) ? (value.at(-1) as number) : (value as number);
          units[m.Name] = m.Unit;
        }
        return { namespace: directive.Namespace, dimensions: directive.Dimensions, service: doc.service, values, units };
      });
  return {
    text: () => buffer,
    json,
    logs: () => json().filter((doc) => 'level' in doc && 'message' in doc),
    metrics,
    metric: (name) => metrics().flatMap((doc) => (name in doc.values ? [doc.values[name]!] : [])),
    clear: () => {
      buffer = '';
    },
    restore: () => spies.forEach((spy) => spy.mockRestore()),
  };
}

/** The JSON a database secret holds, for a test database URL (plain TCP: `sslmode: "disable"`). */
export function databaseSecretFor(url: string, overrides: Record<string, unknown> = {}): string {
  const parsed = new URL(url);
  return JSON.stringify({
    engine: 'postgres',
    host: parsed.hostname,
    port: Number(parsed.port || 5432),
    dbname: decodeURIComponent(parsed.pathname.replace(/^\//, '')),
    username: decodeURIComponent(parsed.username || 'postgres'),
    password: decodeURIComponent(parsed.password),
    sslmode: 'disable',
    ...overrides,
  });
}

export interface SecretsMock {
  /** Secret values by ARN; change them between tests (the Parameters cache is cleared by `reset`). */
  readonly values: Map<string, string>;
  /** ARNs asked for, in order. */
  requested(): string[];
  reset(): void;
}

/** Secrets Manager mocked at the SDK client; Powertools' getSecret goes through it. */
export function mockSecretsManager(): SecretsMock {
  const values = new Map<string, string>();
  const mock = mockClient(SecretsManagerClient);
  const install = () => {
    mock.reset();
    mock.on(GetSecretValueCommand).callsFake((input: { SecretId?: string }) => {
      const value = values.get(input.SecretId ?? '');
      if (value === undefined) throw new ResourceNotFoundException({ message: "Secrets Manager can't find the specified secret.", $metadata: { httpStatusCode: 400 } });
      return { ARN: input.SecretId, Name: input.SecretId?.split(':').pop(), SecretString: value };
    });
  };
  install();
  return {
    values,
    requested: () => mock.commandCalls(GetSecretValueCommand).map((call) => call.args[0].input.SecretId ?? ''),
    reset: () => {
      clearCaches();
      install();
    },
  };
}

export interface SnsMock {
  /** Every publish, in order. */
  published(): PublishCommandInput[];
  /** Make the next publishes fail with this error. */
  failWith(error: Error): void;
  reset(): void;
}

/** SNS mocked at the SDK client. */
export function mockSns(): SnsMock {
  const mock = mockClient(SNSClient);
  let counter = 0;
  const install = () => {
    mock.reset();
    mock.on(PublishCommand).callsFake(() => ({ MessageId: `message-${++counter}` }));
  };
  install();
  return {
    published: () => mock.commandCalls(PublishCommand).map((call) => call.args[0].input),
    failWith: (error) => {
      mock.reset();
      mock.on(PublishCommand).rejects(error);
    },
    reset: install,
  };
}

/** Fake ARNs the stack would pass in the environment. */
export const ARNS = {
  source: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:IconicDrSource-AbCdEf',
  staging: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:IconicDrStaging-AbCdEf',
  production: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:IconicDrProduction-AbCdEf',
  stagingReadOnly: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:IconicDrStagingReadOnly-AbCdEf',
  productionReadOnly: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:IconicDrProductionReadOnly-AbCdEf',
  slack: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:IconicDrSlack-AbCdEf',
  critical: 'arn:aws:sns:us-east-1:123456789012:IconicDr-CriticalTopic',
  warning: 'arn:aws:sns:us-east-1:123456789012:IconicDr-WarningTopic',
} as const;
