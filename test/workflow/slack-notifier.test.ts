import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { PublishCommandInput } from '@aws-sdk/client-sns';
import type { SNSEvent } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { ENV } from '../../lib/contract.js';
import { handler as notify } from '../../lambdas/handlers/notify.js';
import { handler as slackNotifier } from '../../lambdas/handlers/slack-notifier.js';
import { setEnvironment } from './support/environment.js';
import { ARNS, captureOutput, lambdaContext, mockSecretsManager, mockSns, type OutputCapture } from './support/lambda.js';

/**
 * The alert path after SNS: the real notify handler writes an alert (SNS mocked, to capture it),
 * the Slack notifier receives it as SNS delivers it and POSTs to the webhook — a real HTTP server on
 * 127.0.0.1 standing in for hooks.slack.com. The webhook URL comes from the mocked Secrets Manager.
 */

interface Received {
  readonly method: string;
  readonly path: string;
  readonly contentType: string | undefined;
  readonly body: { text: string; blocks: { type: string; text?: { text: string }; elements?: { url?: string; text?: string | { text: string } }[] }[] };
}

const TOKEN = 'T0000/B0000/xoxSecretToken42';
const secrets = mockSecretsManager();
const sns = mockSns();

/** Turns what notify published into the event SNS gives a subscribed Lambda. */
function snsEvent(published: PublishCommandInput): SNSEvent {
  return {
    Records: [
      {
        EventSource: 'aws:sns',
        EventVersion: '1.0',
        EventSubscriptionArn: `${published.TopicArn}:sub-1`,
        Sns: {
          Type: 'Notification',
          MessageId: 'm-1',
          TopicArn: published.TopicArn!,
          Subject: published.Subject ?? '',
          Message: published.Message!,
          Timestamp: '2026-11-25T02:14:00.000Z',
          SignatureVersion: '1',
          Signature: 'x',
          SigningCertUrl: 'https://sns.us-east-1.amazonaws.com/cert.pem',
          UnsubscribeUrl: 'https://sns.us-east-1.amazonaws.com/unsubscribe',
          MessageAttributes: Object.fromEntries(Object.entries(published.MessageAttributes ?? {}).map(([key, value]) => [key, { Type: 'String', Value: value.StringValue! }])),
        },
      },
    ],
  };
}

/** Runs the notifier on an event that must fail, and returns the error it threw. */
async function failure(event: SNSEvent): Promise<Error> {
  const outcome = await slackNotifier(event).then(
    () => undefined,
    (error: unknown) => error as Error,
  );
  if (!outcome) throw new Error('expected the Slack notifier to fail');
  return outcome;
}

describe('Slack notifier posting to a local webhook server (real HTTP on 127.0.0.1, Secrets Manager mocked)', () => {
  let server: Server;
  let webhook: string;
  let received: Received[];
  let answers: { status: number; body?: string; headers?: Record<string, string> }[];
  let restoreEnv: () => void;
  let output: OutputCapture;

  beforeAll(async () => {
    server = createServer((request: IncomingMessage, response) => {
      let text = '';
      request.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
      request.on('end', () => {
        received.push({ method: request.method ?? '', path: request.url ?? '', contentType: request.headers['content-type'], body: JSON.parse(text) as Received['body'] });
        const answer = answers.shift() ?? { status: 200, body: 'ok' };
        response.writeHead(answer.status, { 'content-type': 'text/plain', ...answer.headers }).end(answer.body ?? '');
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    webhook = `http://127.0.0.1:${(server.address() as AddressInfo).port}/services/${TOKEN}`;
    restoreEnv = setEnvironment({ [ENV.slackWebhookSecretArn]: ARNS.slack, [ENV.criticalTopicArn]: ARNS.critical, [ENV.warningTopicArn]: ARNS.warning });
  });

  afterAll(async () => {
    restoreEnv?.();
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
  });

  beforeEach(() => {
    received = [];
    answers = [];
    secrets.reset();
    secrets.values.clear();
    secrets.values.set(ARNS.slack, JSON.stringify({ webhookUrl: webhook }));
    sns.reset();
    output = captureOutput();
  });

  afterEach(() => output.restore());

  it('posts the failure alert of a production restore as a readable message with a link to the execution (SNS, Secrets Manager mocked)', async () => {
    const executionArn = 'arn:aws:states:eu-west-1:123456789012:execution:IconicDrRestore:prod-restore';
    await notify(
      {
        event: 'RestoreFailed',
        workflow: 'restore',
        execution: { id: executionArn, startTime: new Date(Date.now() - 90_000).toISOString() },
        state: {
          backupId: '2026-11-25T02-00-00-000Z',
          target: 'production',
          confirm: '2026-11-25T02-00-00-000Z',
          backup: { backupId: '2026-11-25T02-00-00-000Z', requested: '2026-11-25T02-00-00-000Z', target: 'production', confirm: '2026-11-25T02-00-00-000Z', tables: null, drill: null, location: 's3://b/backups/2026-11-25T02-00-00-000Z' },
          validation: { backupId: '2026-11-25T02-00-00-000Z', valid: true, problems: [], tables: 9, totalRecords: 50234, totalBytes: 12345678 },
          error: { Error: 'SchemaDriftError', Cause: "The target's schema differs from backup 2026-11-25T02-00-00-000Z (1 difference: orders.notes: type text in the backup, character varying(500) in the target); migrate the target to the backup's schema first" },
        },
      },
      lambdaContext('Notify'),
    );
    const [published] = sns.published();
    expect(published?.TopicArn).toBe(ARNS.critical);

    const result = await slackNotifier(snsEvent(published!), lambdaContext('SlackNotifier'));

    expect(result).toEqual({ posted: 1 });
    expect(received).toHaveLength(1);
    const [post] = received;
    expect(post).toMatchObject({ method: 'POST', path: `/services/${TOKEN}`, contentType: 'application/json' });
    expect(post!.body.text).toBe('CRITICAL iconic-dr: restore into production failed at Restore (SchemaDriftError)');
    const [header, section, actions, context] = post!.body.blocks;
    expect(header).toMatchObject({ type: 'header', text: { text: ':rotating_light: CRITICAL iconic-dr: restore into production failed at Restore (SchemaDriftError)' } });
    expect(section?.type).toBe('section');
    expect(section?.text?.text).toContain('rolled back, so production is exactly as it was before');
    expect(section?.text?.text).toContain('Backup: 2026-11-25T02-00-00-000Z');
    expect(section?.text?.text).toContain('character varying(500) in the target');
    expect(actions?.elements?.[0]?.url).toBe(`https://console.aws.amazon.com/states/home?region=eu-west-1#/v2/executions/details/${executionArn}`);
    expect(context?.elements?.[0]?.text).toContain('IconicDr-CriticalTopic');
    expect(output.text()).not.toContain(TOKEN);
  });

  it('posts a CloudWatch alarm readably, with a link to the alarm (Secrets Manager mocked)', async () => {
    const alarm = {
      AlarmName: 'IconicDr-MonitoringNoSuccessfulBackup',
      AlarmDescription: 'CRITICAL: no successful backup in the last 24 h (RPO 24 h).',
      NewStateValue: 'ALARM',
      NewStateReason: 'Threshold Crossed: 24 out of the last 24 datapoints were less than the threshold (1.0).',
      StateChangeTime: '2026-11-25T02:14:00.000+0000',
      AlarmArn: 'arn:aws:cloudwatch:us-east-1:123456789012:alarm:IconicDr-MonitoringNoSuccessfulBackup',
    };
    await slackNotifier(snsEvent({ TopicArn: ARNS.critical, Subject: 'ALARM: "IconicDr-MonitoringNoSuccessfulBackup" in US East (N. Virginia)', Message: JSON.stringify(alarm) }));

    const [header, section, actions] = received[0]!.body.blocks;
    expect(header?.text?.text).toBe(':rotating_light: ALARM: IconicDr-MonitoringNoSuccessfulBackup');
    expect(section?.text?.text).toContain('no successful backup in the last 24 h');
    expect(section?.text?.text).toContain('Reason: Threshold Crossed');
    expect(actions?.elements?.[0]?.url).toBe('https://console.aws.amazon.com/cloudwatch/home?region=us-east-1#alarmsV2:alarm/IconicDr-MonitoringNoSuccessfulBackup');
  });

  it('retries on 5xx and 429 (honouring Retry-After) until Slack accepts the message (Secrets Manager mocked)', async () => {
    answers = [{ status: 503, body: 'service unavailable' }, { status: 429, body: 'rate_limited', headers: { 'retry-after': '0' } }, { status: 200, body: 'ok' }];

    await slackNotifier(snsEvent({ TopicArn: ARNS.warning, Subject: 'WARNING iconic-dr: weekly drill failed', Message: 'The weekly drill failed.' }));

    expect(received).toHaveLength(3);
    expect(new Set(received.map((r) => JSON.stringify(r.body))).size).toBe(1);
    expect(output.logs().find((line) => line.message === 'Posted to Slack')).toMatchObject({ status: 200, attempts: 3 });
  });

  it('fails with AlertDeliveryError when Slack rejects the webhook, without revealing its URL (Secrets Manager mocked)', async () => {
    answers = [{ status: 404, body: 'no_service' }];

    const error = await failure(snsEvent({ TopicArn: ARNS.warning, Subject: 'x', Message: 'y' }));

    expect(error).toMatchObject({ name: 'AlertDeliveryError', message: expect.stringContaining('HTTP 404 no_service') });
    expect(received).toHaveLength(1);
    expect(error.message).not.toContain(TOKEN);
    expect(output.text()).not.toContain(TOKEN);
    expect(output.logs().find((line) => line.level === 'ERROR')).toMatchObject({ message: 'slack-notifier failed', error: { name: 'AlertDeliveryError' } });
  });

  it('says the Slack secret is not configured while it holds the placeholder the stack generated (Secrets Manager mocked)', async () => {
    secrets.values.set(ARNS.slack, JSON.stringify({ webhookUrl: 'aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1dE' }));
    const error = await failure(snsEvent({ TopicArn: ARNS.warning, Subject: 'x', Message: 'y' }));
    expect(error).toMatchObject({ name: 'ConfigError', message: expect.stringContaining(`The Slack webhook secret ${ARNS.slack} is not configured yet`) });
    expect(received).toEqual([]);
  });
});
