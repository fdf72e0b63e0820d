import type { APIGatewayProxyEventV2WithJWTAuthorizer, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { ENV } from '../../lib/contract.js';
import { handleAdminRequest } from '../core/admin/api.js';
import { adminApiEnv, configOnce } from './shared/config.js';
import { logger } from './shared/observability.js';
import { backupStore } from './shared/store.js';

/**
 * The admin API behind API Gateway (HTTP API). The JWT authorizer in front has already checked the
 * Supabase Auth access token's signature, issuer, audience and expiry; this adapter requires the
 * admin claim (ADMIN_CLAIM, a dot path such as `app_metadata.role`, equal to ADMIN_CLAIM_VALUE) and
 * serves the read-only routes of core/admin/api.ts from the backup bucket.
 */
const config = configOnce('admin-api', adminApiEnv);

type Claims = Record<string, string | number | boolean | string[]>;

/** A claim by dot path. API Gateway passes nested claims (Supabase's `app_metadata`) as JSON text or as an object. */
export function claimAt(claims: Claims | undefined, path: string): unknown {
  let value: unknown = claims;
  for (const part of path.split('.')) {
    if (typeof value === 'string') {
      try {
        value = JSON.parse(value) as unknown;
      } catch {
        return undefined;
      }
    }
    if (typeof value !== 'object' || value === null) return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

/** True when the claim equals the value, or is a list holding it (API Gateway renders lists as `[a b]`). */
export function isAdmin(claims: Claims | undefined, path: string, expected: string): boolean {
  const value = claimAt(claims, path);
  const values = Array.isArray(value) ? value : typeof value === 'string' && value.startsWith('[') ? claimList(value) : [value];
  return values.some((v) => v !== undefined && v !== null && String(v) === expected);
}

function claimList(text: string): string[] {
  try {
    const parsed = JSON.parse(text) as unknown;
    if (Array.isArray(parsed)) return parsed.map(String);
  } catch {
    // API Gateway's own rendering: `[admin editor]`.
  }
  return text.replace(/^\[|\]$/g, '').split(/[\s,]+/).filter(Boolean);
}

const json = (statusCode: number, code: string, message: string): APIGatewayProxyStructuredResultV2 => ({
  statusCode,
  headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' },
  body: `${JSON.stringify({ error: { code, message } })}\n`,
});

export async function handler(event: APIGatewayProxyEventV2WithJWTAuthorizer): Promise<APIGatewayProxyStructuredResultV2> {
  const env = config();
  const path = event.rawPath;
  // The page itself holds no data (it reads the API with the admin's token), so it is served to anyone.
  if (path !== '/admin/backups') {
    const claims = event.requestContext.authorizer?.jwt?.claims as Claims | undefined;
    if (!claims) return json(401, 'Unauthorized', 'Sign in: send an admin access token (Authorization: Bearer …)');
    if (!isAdmin(claims, env[ENV.adminClaim], env[ENV.adminClaimValue])) {
      logger.warn('Admin API refused a signed-in user without the admin claim', { sub: claims.sub, path });
      return json(403, 'Forbidden', 'This account is not an admin of the shop');
    }
  }
  const store = backupStore({ bucket: env[ENV.backupBucket], prefix: env[ENV.backupPrefix] });
  const query = Object.fromEntries(Object.entries(event.queryStringParameters ?? {}));
  const response = await handleAdminRequest({ store }, { method: event.requestContext.http.method, path, query });
  if (response.status >= 500) logger.error('Admin API could not answer', { path, status: response.status });
  return { statusCode: response.status, headers: { ...response.headers, 'x-content-type-options': 'nosniff' }, body: response.body };
}
