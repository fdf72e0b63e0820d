import { Annotations, Aws, Duration, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { valuelessSecret } from './database-secrets.js';
import { PropErrors, secureKeyProps } from './defaults.js';
import { DrFunction, type DrFunctionNetwork } from './dr-function.js';

/**
 * Alarm severity: Critical pages (critical topic), Warning goes to Slack (warning topic), Dashboard
 * notifies nobody: its run already sent its one message through the notify function, and a second
 * one from an alarm would page twice for one failure.
 */
export type Severity = 'critical' | 'warning' | 'dashboard';

export interface AlertingProps {
  /**
   * E-mail addresses subscribed to the critical topic (on-call).
   * @default - none
   */
  readonly criticalEmails?: readonly string[];
  /**
   * E-mail addresses subscribed to the warning topic.
   * @default - none
   */
  readonly warningEmails?: readonly string[];
  /**
   * Create the Slack webhook secret and the Slack notifier, subscribed to both topics.
   * @default false
   */
  readonly slack?: boolean;
  /**
   * The topics have subscribers that this stack does not create (a pager integration subscribed by
   * hand or by another stack). Without any subscriber, synth warns: alerts would reach nobody.
   * @default false
   */
  readonly externalSubscribers?: boolean;
  /**
   * Network placement of the Slack notifier.
   * @default - no VPC
   */
  readonly network?: DrFunctionNetwork;
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/**
 * Where alerts go: a `critical` and a `warning` SNS topic, encrypted with a rotating KMS key that
 * CloudWatch alarms may use, TLS-only; e-mail subscriptions; optionally the Slack notifier function
 * and its webhook secret. `addAlarm(severity, alarm)` is the one place alarm actions are set.
 */
export class Alerting extends Construct {
  public readonly key: kms.Key;
  public readonly criticalTopic: sns.Topic;
  public readonly warningTopic: sns.Topic;
  /** Present when `slack` is on. */
  public readonly slackWebhookSecret?: secretsmanager.Secret;
  /** Present when `slack` is on. */
  public readonly slackNotifier?: DrFunction;
  /** Alert deliveries that failed every retry (SNS to e-mail or to the Slack notifier, Slack posts); present when the stack subscribes anyone. */
  public readonly deliveryDeadLetterQueue?: sqs.Queue;
  private readonly alarmList: cloudwatch.Alarm[] = [];

  constructor(scope: Construct, id: string, props: AlertingProps = {}) {
    super(scope, id);
    const errors = new PropErrors('Alerting');
    for (const email of [...(props.criticalEmails ?? []), ...(props.warningEmails ?? [])]) {
      errors.check(EMAIL.test(email), `"${email}" is not an e-mail address`);
    }
    errors.throwIfAny();

    this.key = new kms.Key(this, 'Key', secureKeyProps('Encrypts the iconic-dr alert topics'));
    // CloudWatch alarms publish to the encrypted topics: they need the key, for this account's alarms only.
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchAlarmsToPublish',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: ['*'],
        conditions: {
          StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID },
          ArnLike: { 'aws:SourceArn': `arn:${Aws.PARTITION}:cloudwatch:${Aws.REGION}:${Aws.ACCOUNT_ID}:alarm:*` },
        },
      }),
    );

    const subscribes = Boolean(props.slack) || (props.criticalEmails ?? []).length + (props.warningEmails ?? []).length > 0;
    if (subscribes) this.deliveryDeadLetterQueue = deadLetterQueue(this, 'DeliveryDeadLetterQueue');
    this.criticalTopic = this.topic('CriticalTopic', 'iconic-dr critical (page on-call)', props.criticalEmails ?? []);
    this.warningTopic = this.topic('WarningTopic', 'iconic-dr warning (Slack)', props.warningEmails ?? []);

    if (!props.slack && !props.externalSubscribers && (props.criticalEmails ?? []).length === 0) {
      Annotations.of(this).addWarningV2(
        'iconic-dr:no-alert-subscribers',
        'No one is subscribed to the critical alert topic: failed backups and restores would page nobody. Pass -c criticalEmails=oncall@example.com (or -c alertEmails=…), -c slack=true, or externalSubscribers: true when a pager is subscribed elsewhere (docs/deploy.md).',
      );
    }

    if (props.slack) {
      this.slackWebhookSecret = valuelessSecret(this, 'SlackWebhook', {
        description: 'iconic-dr: Slack incoming webhook. Put {"webhookUrl":"https://hooks.slack.com/services/…"} in it.',
        encryptionKey: this.key,
      });
      Validations.of(this.slackWebhookSecret).acknowledge({
        id: 'AwsSolutions-SMG4',
        reason: 'A Slack webhook URL is issued by Slack and cannot be rotated by Secrets Manager; it is replaced by hand when Slack revokes it.',
      });
      this.slackNotifier = new DrFunction(this, 'SlackNotifier', {
        handler: 'slack-notifier',
        description: 'Posts iconic-dr alerts from SNS to Slack',
        timeout: Duration.seconds(30),
        memorySize: 256,
        ...(this.deliveryDeadLetterQueue ? { deadLetterQueue: this.deliveryDeadLetterQueue } : {}),
        retryAttempts: 2,
        ...(props.network ? { network: props.network } : {}),
      }).bindSlackWebhook(this.slackWebhookSecret);
      Validations.of(this.slackNotifier.function).acknowledge({
        id: 'Serverless-LambdaAsyncFailureDestination',
        reason: 'Failed asynchronous invocations go to the delivery dead-letter queue (DeadLetterConfig, alarmed); an on-failure destination would hold the same events twice.',
      });
      for (const topic of [this.criticalTopic, this.warningTopic]) {
        topic.addSubscription(new subscriptions.LambdaSubscription(this.slackNotifier.function, this.deliveryDeadLetterQueue ? { deadLetterQueue: this.deliveryDeadLetterQueue } : {}));
      }
    }
  }

  /**
   * Sends the alarm to the topic of its severity and registers it for the dashboard. Its recovery
   * (OK) goes to the warning topic whatever the severity: "it is fine again" must not page anyone.
   */
  addAlarm(severity: Severity, alarm: cloudwatch.Alarm): cloudwatch.Alarm {
    if (severity !== 'dashboard') {
      alarm.addAlarmAction(new cwActions.SnsAction(severity === 'critical' ? this.criticalTopic : this.warningTopic));
      alarm.addOkAction(new cwActions.SnsAction(this.warningTopic));
    }
    this.alarmList.push(alarm);
    return alarm;
  }

  /** Every alarm added so far. */
  get alarms(): readonly cloudwatch.Alarm[] {
    return this.alarmList;
  }

  private topic(id: string, displayName: string, emails: readonly string[]): sns.Topic {
    const topic = new sns.Topic(this, id, { displayName, masterKey: this.key, enforceSSL: true });
    topic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchAlarmsToPublish',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [topic.topicArn],
        conditions: { StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID } },
      }),
    );
    for (const email of emails) topic.addSubscription(new subscriptions.EmailSubscription(email, this.deliveryDeadLetterQueue ? { deadLetterQueue: this.deliveryDeadLetterQueue } : {}));
    return topic;
  }
}

/**
 * An SQS queue for deliveries that failed every retry: SSE-SQS (EventBridge, SNS and Lambda may send
 * to it without a key policy), TLS only, messages kept 14 days for a look and a redrive.
 */
export function deadLetterQueue(scope: Construct, id: string): sqs.Queue {
  const queue = new sqs.Queue(scope, id, {
    encryption: sqs.QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    retentionPeriod: Duration.days(14),
  });
  Validations.of(queue).acknowledge({
    id: 'Serverless-SQSRedrivePolicy',
    reason: 'This queue is itself a dead-letter queue (of Lambda functions, SNS subscriptions or EventBridge targets): nothing consumes it, an alarm fires on its first message and an operator redrives it.',
  });
  return queue;
}
