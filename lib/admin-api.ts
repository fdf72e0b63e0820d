import { Duration, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpJwtAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { BackupVault } from './backup-vault.js';
import { ENV } from './contract.js';
import { DEFAULT_LOG_RETENTION, PropErrors } from './defaults.js';
import { DrFunction, type DrFunctionNetwork } from './dr-function.js';

export interface AdminApiProps {
  readonly vault: BackupVault;
  /**
   * The Supabase project's Auth issuer, e.g. `https://<ref>.supabase.co/auth/v1`. API Gateway reads
   * its signing keys (JWKS) from the issuer's OpenID discovery document.
   */
  readonly jwtIssuer: string;
  /**
   * Audiences a token must carry (Supabase access tokens say `authenticated`).
   * @default ['authenticated']
   */
  readonly jwtAudience?: readonly string[];
  /**
   * The claim (dot path) and value that make a signed-in user an admin.
   * @default 'app_metadata.role' = 'admin'
   */
  readonly adminClaim?: string;
  readonly adminClaimValue?: string;
  /**
   * The one origin allowed to call the API from a browser (CORS), e.g. `https://liveiticonic.com`.
   * @default - no cross-origin calls (the page served by the API itself works)
   */
  readonly allowedOrigin?: string;
  /**
   * Steady requests per second and burst for the whole API.
   * @default 10 and 20
   */
  readonly throttle?: { readonly rateLimit: number; readonly burstLimit: number };
  readonly network?: DrFunctionNetwork;
}

/**
 * The plan's admin API and `/admin/backups` page: an HTTP API whose data routes sit behind a JWT
 * authorizer for the shop's Supabase Auth tokens, one read-only function (it can read the backup
 * bucket and nothing else), throttled, with access logs. No route writes: restores stay in Step
 * Functions behind IAM.
 */
export class AdminApi extends Construct {
  public readonly api: apigw.HttpApi;
  public readonly stage: apigw.HttpStage;
  public readonly function: DrFunction;
  public readonly authorizer: HttpJwtAuthorizer;
  public readonly accessLogs: logs.LogGroup;

  constructor(scope: Construct, id: string, props: AdminApiProps) {
    super(scope, id);
    const errors = new PropErrors('AdminApi');
    errors.check(/^https:\/\/[^\s/]+(\/\S*)?$/.test(props.jwtIssuer), `jwtIssuer must be an https URL such as https://<ref>.supabase.co/auth/v1 (got ${props.jwtIssuer})`);
    errors.check(props.allowedOrigin === undefined || /^https:\/\/[^\s/]+$/.test(props.allowedOrigin), 'allowedOrigin must be one https origin without a path');
    errors.check((props.jwtAudience ?? ['authenticated']).length > 0, 'jwtAudience must name at least one audience');
    errors.throwIfAny();

    this.function = new DrFunction(this, 'Function', {
      handler: 'admin-api',
      description: 'iconic-dr admin API: read-only backup listings for the shop admins',
      timeout: Duration.seconds(29),
      ...(props.network ? { network: props.network } : {}),
    })
      .bindBackupStore(props.vault, 'read')
      .addEnvironment(ENV.adminClaim, props.adminClaim ?? 'app_metadata.role')
      .addEnvironment(ENV.adminClaimValue, props.adminClaimValue ?? 'admin');

    this.authorizer = new HttpJwtAuthorizer('SupabaseJwt', props.jwtIssuer, { jwtAudience: [...(props.jwtAudience ?? ['authenticated'])] });
    this.api = new apigw.HttpApi(this, 'Api', {
      description: 'iconic-dr admin API (read-only)',
      createDefaultStage: false,
      ...(props.allowedOrigin
        ? { corsPreflight: { allowOrigins: [props.allowedOrigin], allowMethods: [apigw.CorsHttpMethod.GET], allowHeaders: ['Authorization'], maxAge: Duration.hours(1) } }
        : {}),
    });
    this.accessLogs = new logs.LogGroup(this, 'AccessLogs', { retention: DEFAULT_LOG_RETENTION });
    const throttle = props.throttle ?? { rateLimit: 10, burstLimit: 20 };
    this.stage = new apigw.HttpStage(this, 'Stage', {
      httpApi: this.api,
      stageName: '$default',
      autoDeploy: true,
      throttle,
      accessLogSettings: { destination: new apigw.LogGroupLogDestination(this.accessLogs), format: AccessLogFormat.jsonWithStandardFields() },
    });

    const integration = new HttpLambdaIntegration('Integration', this.function.function);
    for (const path of ['/api/admin/backups', '/api/admin/backups/{id}', '/api/admin/drills', '/api/admin/media']) {
      this.api.addRoutes({ path, methods: [apigw.HttpMethod.GET], integration, authorizer: this.authorizer });
    }
    // The page holds no data: it asks for the token and reads the API with it.
    const pageRoutes = this.api.addRoutes({ path: '/admin/backups', methods: [apigw.HttpMethod.GET], integration });
    for (const route of pageRoutes) {
      Validations.of(route).acknowledge({ id: 'AwsSolutions-APIG4', reason: 'The /admin/backups page is static HTML with no data; every data route requires the Supabase JWT authorizer and the admin claim' });
    }
  }
}
