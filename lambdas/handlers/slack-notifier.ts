import { z } from 'zod';
import { ENV } from '../../lib/contract.js';
import { configOnce, slackEnv } from './shared/config.js';
import { logger } from './shared/observability.js';
import { slackWebhookUrl } from './shared/secrets.js';
import { postToSlack, slackMessageFor } from './shared/slack.js';
import { taskHandler } from './shared/task.js';

/**
 * Subscribed to the critical and warning topics: posts each notification to the Slack webhook kept
 * in the secret SLACK_WEBHOOK_SECRET_ARN (`{"webhookUrl": "https://hooks.slack.com/services/…"}`).
 * A failure is thrown, so Lambda's asynchronous retries (and the function's error alarm) see it.
 */
const config = configOnce('slack-notifier', slackEnv);

export const snsEventSchema = z.object({
  Records: z
    .array(
      z.object({
        Sns: z.object({
          Subject: z.string().nullish(),
          Message: z.string(),
          TopicArn: z.string(),
          Timestamp: z.string().optional(),
          MessageAttributes: z.record(z.string(), z.object({ Type: z.string().optional(), Value: z.string() })).optional(),
        }),
      }),
    )
    .min(1, 'no SNS records'),
});

export interface SlackNotifierResult {
  posted: number;
}

export const handler = taskHandler({
  name: 'slack-notifier',
  event: snsEventSchema,
  async run({ Records }): Promise<SlackNotifierResult> {
    const webhookUrl = await slackWebhookUrl(config()[ENV.slackWebhookSecretArn]);
    for (const { Sns } of Records) {
      const message = slackMessageFor(Sns);
      const { status, attempts } = await postToSlack(webhookUrl, message);
      logger.info('Posted to Slack', { subject: message.text, topic: Sns.TopicArn, status, attempts });
    }
    return { posted: Records.length };
  },
});
