import { type CfnResource, type PolicyValidationPluginReport, Stack, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { AwsSolutionsChecks, type IApplyRule, NagRuleCompliance, type NagRuleResult, ServerlessChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { BackupReplicaStack, DisasterRecoveryStack } from '../../lib/index.js';
import { testApp } from './helpers.js';
import { because } from '../helpers/expect-message.js';

/**
 * cdk-nag AwsSolutions over every configuration of the stack: zero unacknowledged findings
 * (errors and warnings), and every acknowledgement is used by a finding and carries a reason.
 */

interface Acknowledgement {
  readonly path: string;
  readonly id: string;
  readonly reason: string;
}

interface NagRun {
  readonly report: PolicyValidationPluginReport;
  readonly acknowledgements: readonly Acknowledgement[];
  /** `path|id` of the acknowledgements that suppressed a finding. */
  readonly used: ReadonlySet<string>;
}

function acknowledgementsOn(construct: IConstruct): Acknowledgement[] {
  return construct.node.metadata
    .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY && entry.data)
    .flatMap((entry) => Object.entries(entry.data as Record<string, string>).map(([id, reason]) => ({ path: construct.node.path, id: id.replace(/^annotation::/i, ''), reason })))
    // CDK's own acknowledgements for its built-in CloudFormation validation (a VPC's flow log adds
    // some), not cdk-nag rules.
    .filter((ack) => !ack.id.startsWith('CloudFormation-Validate::'));
}

/** Runs the packs over a scope, recording which acknowledgement suppressed each finding. */
function runNag(scope: IConstruct): NagRun {
  const used = new Set<string>();
  const packs = [new RecordingAwsSolutionsChecks(used), new RecordingServerlessChecks(used)];
  const reports = packs.map((pack) => pack.validateScope(scope));
  const report = { ...reports[0]!, violations: reports.flatMap((r) => r.violations), success: reports.every((r) => r.success) } as PolicyValidationPluginReport;
  const acknowledgements = scope.node.findAll().flatMap(acknowledgementsOn);
  return { report, acknowledgements, used };
}

/** Marks the acknowledgement of `ruleId` nearest to a resource the rule found as used. */
function markUsed(resource: IConstruct, ruleId: string, used: Set<string>): void {
  for (let current: IConstruct | undefined = resource; current; current = current.node.scope) {
    if (acknowledgementsOn(current).some((ack) => ack.id === ruleId)) {
      used.add(`${current.node.path}|${ruleId}`);
      return;
    }
  }
}

/**
 * The rule as cdk-nag applies it, reporting every finding (acknowledged or not) to `markUsed`. Packs
 * are extended through `applyRule`, the protected hook custom packs use, not cdk-nag's internals.
 */
function observed(packName: string, params: IApplyRule, used: Set<string>): IApplyRule {
  const ruleId = `${packName}-${params.ruleSuffixOverride ?? params.rule.name}`;
  const rule = (node: CfnResource): NagRuleResult => {
    let result: NagRuleResult;
    try {
      result = params.rule(node);
    } catch (error) {
      markUsed(node, ruleId, used);
      throw error;
    }
    if (result === NagRuleCompliance.NON_COMPLIANT) markUsed(node, ruleId, used);
    else if (Array.isArray(result)) for (const finding of result) markUsed(node, `${ruleId}[${finding}]`, used);
    return result;
  };
  // cdk-nag names the rule after the function when there is no suffix override.
  Object.defineProperty(rule, 'name', { value: params.rule.name });
  return { ...params, rule };
}

class RecordingAwsSolutionsChecks extends AwsSolutionsChecks {
  constructor(private readonly used: Set<string>) {
    super(undefined, { verbose: true });
  }
  protected override applyRule(params: IApplyRule): void {
    super.applyRule(observed(this.packName, params, this.used));
  }
}

class RecordingServerlessChecks extends ServerlessChecks {
  constructor(private readonly used: Set<string>) {
    super(undefined, { verbose: true });
  }
  protected override applyRule(params: IApplyRule): void {
    super.applyRule(observed(this.packName, params, this.used));
  }
}

function findings(run: NagRun): string[] {
  return run.report.violations.flatMap((v) => v.violatingResources.map((r) => `${v.severity} ${v.ruleName} at ${r.constructPath}: ${v.description.slice(0, 160)}`));
}

describe('cdk-nag AwsSolutions and Serverless', () => {
  const runs: Record<string, NagRun> = {};

  beforeAll(() => {
    // Prepare: every configuration in one app, synthesized once (aspects and lazy values resolved).
    const app = testApp();
    const full = new DisasterRecoveryStack(app, 'Full', { compute: 'fargate', slack: true, criticalEmails: ['oncall@example.com'], warningEmails: ['team@example.com'], adminApi: { jwtIssuer: 'https://abcdefgh.supabase.co/auth/v1', allowedOrigin: 'https://liveiticonic.com' } });
    const network = new Stack(app, 'Network');
    const vpc = ec2.Vpc.fromVpcAttributes(network, 'Vpc', { vpcId: 'vpc-0123456789abcdef0', availabilityZones: ['us-east-1a', 'us-east-1b'], privateSubnetIds: ['subnet-0aaa', 'subnet-0bbb'] });
    const variant = new DisasterRecoveryStack(app, 'Variant', {
      compute: 'auto',
      slack: false,
      vpc,
      objectLockRetentionDays: 30,
      replica: { bucketArn: 'arn:aws:s3:::iconic-dr-replica', kmsKeyArn: 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab' },
      drillsEnabled: false,
    });
    const replica = new BackupReplicaStack(app, 'Replica', { env: { region: 'eu-west-1' } });
    // The defaults: every step in Lambda, Validate as a Distributed Map in all three machines.
    const defaults = new DisasterRecoveryStack(app, 'Defaults', {});
    for (const stack of [full, variant, replica, defaults]) Template.fromStack(stack);

    runs.full = runNag(full);
    runs.variant = runNag(variant);
    runs.replica = runNag(replica);
    runs.defaults = runNag(defaults);
  });

  for (const name of ['full', 'variant', 'replica', 'defaults']) {
    it(`finds nothing unacknowledged in the ${name} configuration`, () => {
      expect(findings(runs[name]!)).toEqual([]);
      expect(runs[name]!.report.success).toBe(true);
    });

    it(`uses every acknowledgement of the ${name} configuration, each with a reason`, () => {
      const run = runs[name]!;
      const unused = run.acknowledgements.filter((ack) => !run.used.has(`${ack.path}|${ack.id}`)).map((ack) => `${ack.path} ${ack.id}`);
      expect(unused).toEqual([]);
      for (const ack of run.acknowledgements) because(`${ack.path} ${ack.id}`, () => expect(ack.reason.length).toBeGreaterThan(40));
    });
  }

  it('acknowledges only the expected rules', () => {
    const ids = new Set(Object.values(runs).flatMap((run) => run.acknowledgements.map((ack) => ack.id.replace(/\[.*$/, ''))));
    expect([...ids].sort()).toEqual(['AwsSolutions-APIG4', 'AwsSolutions-ECS2', 'AwsSolutions-IAM4', 'AwsSolutions-IAM5', 'AwsSolutions-SMG4', 'Serverless-LambdaAsyncFailureDestination', 'Serverless-LambdaDLQ', 'Serverless-SQSRedrivePolicy']);
    expect(runs.replica!.acknowledgements).toEqual([]);
  });
});
