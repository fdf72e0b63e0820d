import { setTimeout as sleep } from 'node:timers/promises';
import { AlertDeliveryError } from './errors.js';

/**
 * Slack incoming webhooks: a readable message for each SNS notification (from the notify function,
 * or a CloudWatch alarm's JSON), posted with retries on 429/5xx/network errors. The webhook URL is a
 * secret: it is never logged nor put in an error message.
 */

export interface SnsNotification {
  readonly Subject?: string | null | undefined;
  readonly Message: string;
  readonly TopicArn: string;
  readonly Timestamp?: string | undefined;
  readonly MessageAttributes?: Readonly<Record<string, { readonly Type?: string; readonly Value: string }>> | undefined;
}

export interface SlackMessage {
  /** Fallback text (notifications, screen readers). */
  readonly text: string;
  readonly blocks: readonly Record<string, unknown>[];
}

const EMOJI = { critical: ':rotating_light:', warning: ':warning:', ok: ':white_check_mark:', info: ':information_source:' } as const;
type Tone = keyof typeof EMOJI;

/** Slack mrkdwn needs &, < and > escaped. */
export function escapeSlack(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function topicName(topicArn: string): string {
  return topicArn.split(':').pop() ?? topicArn;
}

function message(tone: Tone, title: string, body: string, context: string, link?: { url: string; label: string }): SlackMessage {
  const blocks: Record<string, unknown>[] = [
    { type: 'header', text: { type: 'plain_text', text: clip(`${EMOJI[tone]} ${title}`, 150), emoji: true } },
    { type: 'section', text: { type: 'mrkdwn', text: clip(escapeSlack(body), 3000) } },
  ];
  if (link) blocks.push({ type: 'actions', elements: [{ type: 'button', text: { type: 'plain_text', text: link.label }, url: link.url }] });
  blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: clip(escapeSlack(context), 300) }] });
  return { text: clip(`${title}`, 300), blocks };
}

interface AlarmMessage {
  AlarmName: string;
  AlarmDescription?: string | null;
  NewStateValue?: string;
  NewStateReason?: string;
  StateChangeTime?: string;
  AlarmArn?: string;
}

function parseAlarm(text: string): AlarmMessage | undefined {
  if (!text.trimStart().startsWith('{')) return undefined;
  try {
    const value = JSON.parse(text) as Partial<AlarmMessage>;
    return typeof value.AlarmName === 'string' ? (value as AlarmMessage) : undefined;
  } catch {
    return undefined;
  }
}

/** The Slack message for one SNS notification. */
export function slackMessageFor(sns: SnsNotification): SlackMessage {
  const topic = topicName(sns.TopicArn);
  const severityOfTopic: Tone = /critical/i.test(topic) ? 'critical' : 'warning';
  const alarm = parseAlarm(sns.Message);
  if (alarm) {
    const state = alarm.NewStateValue ?? 'ALARM';
    const tone: Tone = state === 'OK' ? 'ok' : state === 'ALARM' ? severityOfTopic : 'info';
    const region = alarm.AlarmArn?.split(':')[3];
    const url = region ? `https://console.aws.amazon.com/cloudwatch/home?region=${region}#alarmsV2:alarm/${encodeURIComponent(alarm.AlarmName)}` : undefined;
    const body = [alarm.AlarmDescription, alarm.NewStateReason ? `Reason: ${alarm.NewStateReason}` : undefined].filter(Boolean).join('\n');
    return message(tone, `${state}: ${alarm.AlarmName}`, body || '(no description)', `${topic} · ${alarm.StateChangeTime ?? sns.Timestamp ?? ''}`, url ? { url, label: 'Open the alarm' } : undefined);
  }
  const attributes = sns.MessageAttributes ?? {};
  const severity = attributes.severity?.Value;
  const tone: Tone = severity === 'critical' || severity === 'warning' || severity === 'ok' ? severity : severityOfTopic;
  const link = attributes.link?.Value;
  const title = sns.Subject?.trim() || sns.Message.split('\n')[0] || 'iconic-dr notification';
  return message(tone, title, sns.Message, `${topic}${attributes.event ? ` · ${attributes.event.Value}` : ''}${sns.Timestamp ? ` · ${sns.Timestamp}` : ''}`, link?.startsWith('https://') ? { url: link, label: 'Open the execution' } : undefined);
}

export interface PostOptions {
  /** Attempts in all. @default 4 */
  readonly attempts?: number;
  /** First backoff; doubles per attempt. @default 500 */
  readonly baseDelayMs?: number;
  /** Longest wait a Retry-After may ask for. @default 10 s */
  readonly maxDelayMs?: number;
  /** Per request. @default 5 s */
  readonly timeoutMs?: number;
}

/**
 * POSTs a message to a Slack webhook. Retries 429 (honouring Retry-After), 5xx and network errors;
 * other answers (revoked webhook, bad payload) are permanent. Errors say what to do, never the URL.
 */
export async function postToSlack(webhookUrl: string, body: SlackMessage, options: PostOptions = {}): Promise<{ status: number; attempts: number }> {
  const attempts = options.attempts ?? 4;
  const baseDelay = options.baseDelayMs ?? 500;
  const maxDelay = options.maxDelayMs ?? 10_000;
  let last = '';
  for (let attempt = 1; attempt <= attempts; attempt++) {
    let wait = baseDelay * 2 ** (attempt - 1);
    try {
      const response = await fetch(webhookUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(options.timeoutMs ?? 5_000),
      });
      const answer = (await response.text().catch(() => '')).trim().slice(0, 100);
      if (response.ok) return { status: response.status, attempts: attempt };
      last = `HTTP ${response.status}${answer ? ` ${answer}` : ''}`;
      if (response.status !== 429 && response.status < 500) {
        throw new AlertDeliveryError(`Slack rejected the message (${last}): the webhook in the Slack secret is revoked or wrong; put a new one in (docs/deploy.md)`);
      }
      const retryAfter = Number(response.headers.get('retry-after'));
      if (Number.isFinite(retryAfter) && retryAfter >= 0 && response.headers.has('retry-after')) wait = retryAfter * 1000;
    } catch (error) {
      if (error instanceof AlertDeliveryError) throw error;
      const cause = (error as { cause?: { code?: unknown } }).cause;
      last = (error as Error).name === 'TimeoutError' ? 'timed out' : `network error${typeof cause?.code === 'string' ? ` ${cause.code}` : ''}`;
    }
    if (attempt < attempts) await sleep(Math.min(wait, maxDelay));
  }
  throw new AlertDeliveryError(`Slack did not accept the message after ${attempts} attempts (last: ${last}); it will be retried`, { retryable: true });
}
