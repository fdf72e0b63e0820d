import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A stand-in for the two AWS JSON APIs a Fargate step task calls, for a task started as a real
 * process (which aws-sdk-client-mock cannot reach): Secrets Manager's GetSecretValue (the secrets
 * the task role would read) and Step Functions' SendTaskSuccess/SendTaskFailure/SendTaskHeartbeat
 * (the task token). The process's real SDK clients talk to it through AWS_ENDPOINT_URL_SFN and
 * AWS_ENDPOINT_URL_SECRETS_MANAGER, so the code under test is the code that runs on ECS; only the
 * service at the other end is fake. S3 and PostgreSQL stay real.
 */

export type TaskOutcome = { readonly status: 'success'; readonly output: unknown } | { readonly status: 'failure'; readonly error: string; readonly cause: string };

export interface FakeAws {
  readonly endpoint: string;
  /** Secret values by ARN. */
  readonly secrets: Map<string, string>;
  /** Secret ARNs asked for, in order. */
  readonly secretRequests: string[];
  /** Tokens Step Functions no longer waits for: heartbeats and results on them get TaskTimedOut. */
  readonly expiredTokens: Set<string>;
  /** The result reported on a token, once it is. */
  outcome(token: string): TaskOutcome | undefined;
  /** Resolves with the result reported on a token. */
  waitFor(token: string): Promise<TaskOutcome>;
  /** The variables that send a process's SDK clients here. */
  environment(): Record<string, string>;
  close(): Promise<void>;
}

function readBody(request: IncomingMessage): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>);
      } catch (error) {
        reject(error instanceof Error ? error : new Error(String(error)));
      }
    });
    request.on('error', reject);
  });
}

function answer(response: ServerResponse, status: number, body: unknown, contentType: string): void {
  response.writeHead(status, { 'content-type': contentType });
  response.end(JSON.stringify(body));
}

export async function startFakeAws(): Promise<FakeAws> {
  const secrets = new Map<string, string>();
  const secretRequests: string[] = [];
  const expiredTokens = new Set<string>();
  const outcomes = new Map<string, TaskOutcome>();
  const waiting = new Map<string, ((outcome: TaskOutcome) => void)[]>();
  const settle = (token: string, outcome: TaskOutcome) => {
    outcomes.set(token, outcome);
    for (const resolve of waiting.get(token) ?? []) resolve(outcome);
    waiting.delete(token);
  };

  const server = createServer((request, response) => {
    const target = String(request.headers['x-amz-target'] ?? '');
    const contentType = String(request.headers['content-type'] ?? 'application/x-amz-json-1.0');
    readBody(request)
      .then((body) => {
        if (target === 'secretsmanager.GetSecretValue') {
          const id = String(body.SecretId ?? '');
          secretRequests.push(id);
          const value = secrets.get(id);
          if (value === undefined) return answer(response, 400, { __type: 'ResourceNotFoundException', message: "Secrets Manager can't find the specified secret." }, contentType);
          return answer(response, 200, { ARN: id, Name: id.split(':').pop(), SecretString: value, VersionId: 'v1', VersionStages: ['AWSCURRENT'] }, contentType);
        }
        const token = String(body.taskToken ?? '');
        if (target.startsWith('AWSStepFunctions.') && (expiredTokens.has(token) || outcomes.has(token))) {
          return answer(response, 400, { __type: 'TaskTimedOut', message: 'Task Timed Out' }, contentType);
        }
        if (target === 'AWSStepFunctions.SendTaskHeartbeat') return answer(response, 200, {}, contentType);
        if (target === 'AWSStepFunctions.SendTaskSuccess') {
          settle(token, { status: 'success', output: JSON.parse(String(body.output)) as unknown });
          return answer(response, 200, {}, contentType);
        }
        if (target === 'AWSStepFunctions.SendTaskFailure') {
          settle(token, { status: 'failure', error: String(body.error ?? ''), cause: String(body.cause ?? '') });
          return answer(response, 200, {}, contentType);
        }
        return answer(response, 400, { __type: 'UnknownOperationException', message: `not faked: ${target}` }, contentType);
      })
      .catch(() => answer(response, 400, { __type: 'SerializationException', message: 'bad JSON' }, contentType));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    endpoint,
    secrets,
    secretRequests,
    expiredTokens,
    outcome: (token) => outcomes.get(token),
    waitFor: (token) => {
      const done = outcomes.get(token);
      if (done) return Promise.resolve(done);
      return new Promise((resolve) => waiting.set(token, [...(waiting.get(token) ?? []), resolve]));
    },
    environment: () => ({ AWS_ENDPOINT_URL_SFN: endpoint, AWS_ENDPOINT_URL_SECRETS_MANAGER: endpoint }),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
