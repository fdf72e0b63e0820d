import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { ENV } from '../../lib/contract.js';
import { DisasterRecoveryStack } from '../../lib/index.js';
import { allowedActions, logicalId, ofType, roleStatements, synthStack, testApp, type SynthResult } from './helpers.js';
import { because } from '../helpers/expect-message.js';

describe('admin API in the template (issue 17)', () => {
  let synth: SynthResult;
  const issuer = 'https://abcdefgh.supabase.co/auth/v1';

  beforeAll(() => {
    synth = synthStack({ adminApi: { jwtIssuer: issuer, allowedOrigin: 'https://liveiticonic.com', adminClaim: 'app_metadata.role', adminClaimValue: 'admin' } });
  });

  it('is absent unless asked for', () => {
    const plain = synthStack({}, testApp());
    expect(Object.keys(ofType(plain.resources, 'AWS::ApiGatewayV2::Api'))).toEqual([]);
  });

  it('authorizes data routes with a JWT authorizer for the Supabase issuer and audience; only the static page is open', () => {
    synth.template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      AuthorizerType: 'JWT',
      IdentitySource: ['$request.header.Authorization'],
      JwtConfiguration: { Issuer: issuer, Audience: ['authenticated'] },
    });
    const routes = Object.values(ofType(synth.resources, 'AWS::ApiGatewayV2::Route')).map((r) => r.Properties as { RouteKey: string; AuthorizationType?: string });
    expect(routes.map((r) => r.RouteKey).sort()).toEqual(['GET /admin/backups', 'GET /api/admin/backups', 'GET /api/admin/backups/{id}', 'GET /api/admin/drills', 'GET /api/admin/media']);
    for (const route of routes) because(route.RouteKey, () => expect(route.AuthorizationType ?? 'NONE').toBe(route.RouteKey === 'GET /admin/backups' ? 'NONE' : 'JWT'));
    // Read-only: no route writes anything.
    expect(routes.every((r) => r.RouteKey.startsWith('GET '))).toBe(true);
  });

  it('throttles, logs access, and allows CORS only from the configured origin', () => {
    synth.template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 10, ThrottlingBurstLimit: 20 },
      AccessLogSettings: { DestinationArn: Match.anyValue(), Format: Match.stringLikeRegexp('requestId') },
    });
    synth.template.hasResourceProperties('AWS::ApiGatewayV2::Api', {
      ProtocolType: 'HTTP',
      CorsConfiguration: { AllowOrigins: ['https://liveiticonic.com'], AllowMethods: ['GET'], AllowHeaders: ['Authorization'] },
    });
  });

  it('runs a read-only function: the admin claim in its environment, the bucket readable, nothing writable', () => {
    const fn = synth.stack.adminApi!.function;
    synth.template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ [ENV.adminClaim]: 'app_metadata.role', [ENV.adminClaimValue]: 'admin', [ENV.backupBucket]: Match.anyValue() }) },
      Architectures: ['arm64'],
    });
    const actions = allowedActions(roleStatements(synth.resources, logicalId(fn.role)));
    expect(actions.some((a) => a.startsWith('s3:GetObject'))).toBe(true);
    expect(actions.filter((a) => /^s3:(Put|Delete)/.test(a))).toEqual([]);
    expect(actions.filter((a) => a.startsWith('secretsmanager:'))).toEqual([]);
  });

  it('refuses a bad issuer or origin at synth, naming both', () => {
    expect(() => new DisasterRecoveryStack(testApp(), 'Bad', { adminApi: { jwtIssuer: 'http://not-https', allowedOrigin: 'https://a.com/path' } })).toThrow(/jwtIssuer must be an https URL[\s\S]*allowedOrigin must be one https origin/);
  });
});
