import { Aws, Duration, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import { PropErrors, secureKeyProps } from './defaults.js';
import { DrFunction, type DrFunctionNetwork } from './dr-function.js';

/** Alarm severity: Critical pages (critical topic), Warning goes to Slack (warning topic). */
export type Severity = 'Critical' | 'Warning';

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

    this.criticalTopic = this.topic('CriticalTopic', 'iconic-dr critical (page on-call)', props.criticalEmails ?? []);
    this.warningTopic = this.topic('WarningTopic', 'iconic-dr warning (Slack)', props.warningEmails ?? []);

    if (props.slack) {
      this.slackWebhookSecret = new secretsmanager.Secret(this, 'SlackWebhook', {
        description: 'iconic-dr: Slack incoming webhook. Replace the value with {"webhookUrl":"https://hooks.slack.com/services/…"}.',
        encryptionKey: this.key,
        generateSecretString: {
          secretStringTemplate: JSON.stringify({}),
          generateStringKey: 'webhookUrl',
          excludePunctuation: true,
        },
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
        ...(props.network ? { network: props.network } : {}),
      }).bindSlackWebhook(this.slackWebhookSecret);
      for (const topic of [this.criticalTopic, this.warningTopic]) {
        topic.addSubscription(new subscriptions.LambdaSubscription(this.slackNotifier.function));
      }
    }
  }

  /** Sends the alarm (and its recovery) to the topic of its severity and registers it for the dashboard. */
  addAlarm(severity: Severity, alarm: cloudwatch.Alarm): cloudwatch.Alarm {
    const action = new cwActions.SnsAction(severity === 'Critical' ? this.criticalTopic : this.warningTopic);
    alarm.addAlarmAction(action);
    alarm.addOkAction(action);
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
    for (const email of emails) topic.addSubscription(new subscriptions.EmailSubscription(email));
    return topic;
  }
}
