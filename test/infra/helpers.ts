import { readFileSync } from 'node:fs';
import { App, type CfnElement, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { DisasterRecoveryStack, type DisasterRecoveryStackProps } from '../../lib/index.js';

/**
 * Shared helpers of the infrastructure tests: a fast test App (cdk.json feature flags, no
 * bundling, no built-in CloudFormation validation — DESIGN.md §8), template queries, and the
 * state-machine definitions as deployed (from the template, with fake function ARNs).
 */

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type CfnResource = { Type: string; Properties?: Record<string, unknown>; [key: string]: unknown };
export type PolicyStatement = { Effect: string; Action: string | string[]; Resource: unknown; Condition?: Record<string, unknown>; Sid?: string };

const cdkJson = JSON.parse(readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8')) as { context: Record<string, unknown> };

/** An App with the project's feature flags that neither bundles nor runs CloudFormation validation. */
export function testApp(context: Record<string, unknown> = {}): App {
  return new App({
    context: { ...cdkJson.context, 'aws:cdk:bundling-stacks': [], ...context },
    builtinCloudFormationValidation: false,
  });
}

export interface SynthResult {
  readonly app: App;
  readonly stack: DisasterRecoveryStack;
  readonly template: Template;
  readonly resources: Record<string, CfnResource>;
}

/** Builds and synthesizes the stack once (tests share the result). */
export function synthStack(props: DisasterRecoveryStackProps = {}, app: App = testApp()): SynthResult {
  const stack = new DisasterRecoveryStack(app, 'IconicDrTest', props);
  const template = Template.fromStack(stack);
  return { app, stack, template, resources: template.toJSON().Resources as Record<string, CfnResource> };
}

/** Logical id of the L1 resource behind an L2 construct. */
export function logicalId(construct: IConstruct): string {
  const element = (construct.node.defaultChild ?? construct) as CfnElement;
  return Stack.of(construct).getLogicalId(element);
}

/** Resources of one type, by logical id. */
export function ofType(resources: Record<string, CfnResource>, type: string): Record<string, CfnResource> {
  return Object.fromEntries(Object.entries(resources).filter(([, r]) => r.Type === type));
}

/** Every statement of every inline policy attached to a role. */
export function roleStatements(resources: Record<string, CfnResource>, roleLogicalId: string): PolicyStatement[] {
  const statements: PolicyStatement[] = [];
  for (const policy of Object.values(ofType(resources, 'AWS::IAM::Policy'))) {
    const roles = (policy.Properties?.Roles ?? []) as Json[];
    if (roles.some((role) => JSON.stringify(role) === JSON.stringify({ Ref: roleLogicalId }))) {
      const document = policy.Properties?.PolicyDocument as { Statement: PolicyStatement[] };
      statements.push(...document.Statement);
    }
  }
  const role = resources[roleLogicalId];
  for (const inline of ((role?.Properties?.Policies ?? []) as { PolicyDocument: { Statement: PolicyStatement[] } }[])) {
    statements.push(...inline.PolicyDocument.Statement);
  }
  return statements;
}

/** All actions a role is allowed. */
export function allowedActions(statements: readonly PolicyStatement[]): string[] {
  return statements.filter((s) => s.Effect === 'Allow').flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]));
}

/** A fake Lambda ARN for a function logical id, as used in {@link definitionOf}. */
export function fakeFunctionArn(logical: string): string {
  return `arn:aws:lambda:us-east-1:123456789012:function:${logical}`;
}

/** Resolves the synthesized DefinitionString (Fn::Join with GetAtt of functions) to the ASL object. */
export function definitionOf(resources: Record<string, CfnResource>, machineLogicalId: string): AslDefinition {
  const definition = resources[machineLogicalId]?.Properties?.DefinitionString as Json;
  const render = (value: Json): string => {
    if (typeof value === 'string') return value;
    if (value && typeof value === 'object' && !Array.isArray(value)) {
      if ('Fn::Join' in value) {
        const [separator, parts] = value['Fn::Join'] as [string, Json[]];
        return parts.map(render).join(separator);
      }
      if ('Fn::GetAtt' in value) return fakeFunctionArn((value['Fn::GetAtt'] as string[])[0] as string);
      if ('Ref' in value) return value.Ref === 'AWS::Partition' ? 'aws' : `ref-${String(value.Ref)}`;
    }
    throw new Error(`Unexpected token in DefinitionString: ${JSON.stringify(value)}`);
  };
  return JSON.parse(render(definition)) as AslDefinition;
}

export interface AslState {
  Type: string;
  Resource?: string;
  Parameters?: Record<string, unknown>;
  ResultPath?: string;
  Next?: string;
  End?: boolean;
  Retry?: { ErrorEquals: string[]; MaxAttempts?: number }[];
  Catch?: { ErrorEquals: string[]; Next: string; ResultPath?: string }[];
  Choices?: Record<string, unknown>[];
  Default?: string;
  Error?: string;
  Cause?: string;
  CausePath?: string;
  [key: string]: unknown;
}
export interface AslDefinition {
  StartAt: string;
  States: Record<string, AslState>;
  TimeoutSeconds?: number;
  [key: string]: unknown;
}
