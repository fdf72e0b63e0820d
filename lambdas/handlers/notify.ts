import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { z } from 'zod';
import { ENV, METRICS } from '../../lib/contract.js';
import { UsageError } from '../core/errors.js';
import { publishNotification } from './shared/alerts.js';
import { configOnce, notifyEnv } from './shared/config.js';
import { AlertDeliveryError } from './shared/errors.js';
import { describeNotification, eventFits, NOTIFY_EVENT_NAMES, stateSchema } from './shared/notifications.js';
import { logger, metrics } from './shared/observability.js';
import { executionSchema, taskHandler } from './shared/task.js';

/**
 * `PublishResult` / `AlertInvalidBackup` / `AlertFailure` (backup machine) and `NotifySuccess` /
 * `NotifyFailure` / `AlertInvalidBackup` (restore machine): emits the LiveItIconic metrics of the
 * outcome (EMF, `service` dimension only) and publishes a readable alert to the critical or warning
 * topic (routing in shared/notifications.ts). The metrics are flushed even when the publish fails.
 */
const config = configOnce('notify', notifyEnv);

export const notifyEventSchema = z.strictObject({
  event: z.enum(NOTIFY_EVENT_NAMES),
  workflow: z.enum(['backup', 'restore']),
  execution: executionSchema,
  state: stateSchema,
});

export interface NotifyTaskResult {
  event: string;
  /** Topics published to (`critical`, `warning`); empty when the outcome needs no message. */
  published: string[];
  /** Restore successes: seconds from the execution's start to now (the RecoveryTimeSeconds metric). */
  recoveryTimeSeconds: number | null;
}

const UNITS = { Count: MetricUnit.Count, Seconds: MetricUnit.Seconds, Bytes: MetricUnit.Bytes, Percent: MetricUnit.Percent } as const;

export const handler = taskHandler({
  name: 'notify',
  event: notifyEventSchema,
  async run(input): Promise<NotifyTaskResult> {
    if (!eventFits(input.workflow, input.event)) throw new UsageError(`Event ${input.event} does not belong to the ${input.workflow} workflow`);
    const env = config();
    const notification = describeNotification({ ...input, rtoSeconds: env[ENV.rtoSeconds] }, new Date(), env.AWS_REGION);
    for (const metric of notification.metrics) metrics.addMetric(metric.name, UNITS[metric.unit], metric.value);
    const published: string[] = [];
    if (notification.topic) {
      const topicArn = notification.topic === 'critical' ? env[ENV.criticalTopicArn] : env[ENV.warningTopicArn];
      let messageId: string | undefined;
      try {
        messageId = await publishNotification(topicArn, notification);
      } catch (error) {
        // A refusal is final (no retry will deliver it): count it, so the alert-delivery alarm pages
        // at once instead of waiting for a retry count that a permanent error never reaches.
        if (error instanceof AlertDeliveryError && !error.retryable) metrics.addMetric(METRICS.alertDeliveryFailures, MetricUnit.Count, 1);
        throw error;
      }
      published.push(notification.topic);
      logger.info('Alert published', { event: input.event, topic: notification.topic, messageId, subject: notification.subject });
    } else {
      logger.info('Nothing to publish', { event: input.event, subject: notification.subject });
    }
    return { event: input.event, published, recoveryTimeSeconds: notification.recoveryTimeSeconds };
  },
});
