import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { isTransientAwsError } from '../../core/util/aws-errors.js';
import { AlertDeliveryError, awsErrorSummary } from './errors.js';
import type { Notification } from './notifications.js';

/**
 * Publishes a notification to an SNS topic. Message attributes (`severity`, `event`, `workflow`,
 * `link`) let the Slack notifier and subscription filter policies act on it without parsing the text.
 * Throttling and SNS outages are retryable (the notify task retries them); refusals (IAM, the topic's
 * KMS key) are not.
 */
let client: SNSClient | undefined;

export async function publishNotification(topicArn: string, notification: Notification): Promise<string | undefined> {
  client ??= new SNSClient({});
  const attribute = (value: string) => ({ DataType: 'String', StringValue: value });
  try {
    const answer = await client.send(
      new PublishCommand({
        TopicArn: topicArn,
        Subject: notification.subject,
        Message: notification.message,
        MessageAttributes: {
          severity: attribute(notification.severity),
          event: attribute(notification.event),
          workflow: attribute(notification.workflow),
          link: attribute(notification.link),
        },
      }),
    );
    return answer.MessageId;
  } catch (error) {
    const retryable = isTransientAwsError(error);
    throw new AlertDeliveryError(
      retryable
        ? `SNS did not accept the alert for ${topicArn} (${awsErrorSummary(error)}); try again`
        : `SNS refused the alert for ${topicArn} (${awsErrorSummary(error)}): check that the notify role may sns:Publish to it and use its KMS key (redeploy the stack)`,
      { cause: error, retryable },
    );
  }
}
