import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ENV } from '../../lib/contract.js';
import type { CfnResource } from '../infra/helpers.js';
import type { FakeAws } from './fake-aws.js';

/**
 * A local runner of the Fargate step task: the container's entry point bundled by the same script
 * the Dockerfile runs (bin/build-task.mjs), started as its own process with the environment of the
 * synthesized task definition plus the per-run container overrides of the state, against the real
 * S3 server and PostgreSQL; Step Functions and Secrets Manager are the fake endpoint of fake-aws.ts.
 */

const root = fileURLToPath(new URL('../..', import.meta.url));
let bundled: Promise<string> | undefined;

/** Bundles the entry point once per test process; returns the file the image's ENTRYPOINT runs. */
export function buildStepTask(): Promise<string> {
  bundled ??= new Promise((resolve, reject) => {
    // Inside the checkout, so that on Node 20 (no zstd in node:zlib) the bundle resolves the
    // @mongodb-js/zstd fallback from node_modules; the image's Node 22 has zstd built in.
    const cache = path.join(root, 'node_modules', '.cache');
    mkdirSync(cache, { recursive: true });
    const outdir = mkdtempSync(path.join(cache, 'iconic-dr-task-'));
    const build = spawn(process.execPath, [path.join(root, 'bin', 'build-task.mjs'), outdir], { stdio: ['ignore', 'inherit', 'inherit'] });
    build.on('exit', (code) => (code === 0 ? resolve(path.join(outdir, 'step-task.mjs')) : reject(new Error(`bin/build-task.mjs exited with ${code}`))));
  });
  return bundled;
}

const PSEUDO: Readonly<Record<string, string>> = { 'AWS::Partition': 'aws', 'AWS::Region': 'us-east-1', 'AWS::AccountId': '123456789012', 'AWS::URLSuffix': 'amazonaws.com' };

/** A template value with only pseudo parameters in it, rendered; undefined when it refers to a resource. */
function renderPseudo(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object') {
    const token = value as Record<string, unknown>;
    if (typeof token.Ref === 'string') return PSEUDO[token.Ref];
    if (Array.isArray(token['Fn::Join'])) {
      const [separator, parts] = token['Fn::Join'] as [string, unknown[]];
      const rendered = parts.map(renderPseudo);
      return rendered.every((part) => part !== undefined) ? rendered.join(separator) : undefined;
    }
  }
  return undefined;
}

/**
 * The environment the task definition gives the container: its literal values as they are, and
 * for each value that names a stack resource (bucket, secret ARNs), the local stand-in of the same
 * variable from `local` — a variable the test has no stand-in for is an error, not a silent gap.
 */
export function containerEnvironment(resources: Record<string, CfnResource>, taskDefinitionLogicalId: string, local: Readonly<Record<string, string>>): Record<string, string> {
  const definition = resources[taskDefinitionLogicalId];
  if (definition?.Type !== 'AWS::ECS::TaskDefinition') throw new Error(`${taskDefinitionLogicalId} is not a task definition`);
  const [container] = definition.Properties?.ContainerDefinitions as { Environment?: { Name: string; Value: unknown }[]; Secrets?: unknown }[];
  const env: Record<string, string> = {};
  for (const { Name, Value } of container?.Environment ?? []) {
    const literal = renderPseudo(Value);
    const value = literal ?? local[Name];
    if (value === undefined) throw new Error(`no local value for ${Name} (the task definition sets it from a resource)`);
    env[Name] = value;
  }
  return env;
}

export interface StartedTask {
  readonly process: ChildProcess;
  readonly token: string;
  /** Resolves when the process has ended. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** What it wrote (logs, EMF). */
  output(): string;
}

/** Starts the bundled entry point with exactly `env` (plus PATH), as ECS would start the container. */
export async function startStepTask(env: Readonly<Record<string, string>>): Promise<StartedTask> {
  const bundle = await buildStepTask();
  const child = spawn(process.execPath, ['--enable-source-maps', bundle], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  child.stdout?.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
  child.stderr?.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return { process: child, token: env[ENV.containerTaskToken] ?? '', exited, output: () => text };
}

/** What the state passes to `ecs:runTask` (its resolved Parameters). */
interface RunTaskParameters {
  TaskDefinition: string;
  Overrides: { ContainerOverrides: { Name: string; Environment: { Name: string; Value: string }[] }[] };
}

export interface FargateRunnerOptions {
  readonly fake: FakeAws;
  readonly resources: Record<string, CfnResource>;
  /** Local stand-ins of the resource-valued variables (test/workflow/support/environment.ts). */
  readonly local: Readonly<Record<string, string>>;
  /** What ECS puts around the task definition's variables: credentials and region (the task role), endpoints here. */
  readonly runtime: Readonly<Record<string, string>>;
  /** Called with each task once started (to stop it, to watch it). */
  readonly onStart?: (task: StartedTask) => void;
}

let tokens = 0;

/**
 * A task override for an `ecs:runTask.waitForTaskToken` state: starts the entry point with the
 * task definition's environment and the state's container overrides, and answers with what the
 * process reports on its token — the result, or an error with the reported name and cause. A
 * process that ends without reporting leaves the state waiting, as on ECS, until its timeout.
 *
 * The interpreter has no task tokens or state entry times: each run gets a token of its own and
 * the moment it starts as DR_STEP_ENTERED_AT, which is what Step Functions would pass.
 */
export function fargateTaskHandler(options: FargateRunnerOptions): (input: unknown) => Promise<unknown> {
  return async (input) => {
    const parameters = input as RunTaskParameters;
    // The state names the family (its latest revision runs); the template knows which resource that is.
    const taskDefinition = Object.entries(options.resources).find(([, r]) => r.Type === 'AWS::ECS::TaskDefinition' && r.Properties?.Family === parameters.TaskDefinition)?.[0] ?? parameters.TaskDefinition;
    const overrides = Object.fromEntries(parameters.Overrides.ContainerOverrides.flatMap((o) => o.Environment.map((e) => [e.Name, e.Value])));
    const token = `${overrides[ENV.containerTaskToken] ?? 'token'}-${++tokens}`;
    const env = {
      ...containerEnvironment(options.resources, taskDefinition, options.local),
      ...overrides,
      [ENV.containerTaskToken]: token,
      [ENV.containerStepEnteredAt]: new Date().toISOString(),
      ...options.runtime,
      ...options.fake.environment(),
    };
    const task = await startStepTask(env);
    options.onStart?.(task);
    const outcome = await options.fake.waitFor(token);
    await task.exited;
    if (outcome.status === 'success') return outcome.output;
    throw Object.assign(new Error(outcome.cause), { name: outcome.error });
  };
}
