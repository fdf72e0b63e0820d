import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEventV2WithJWTAuthorizer } from 'aws-lambda';
import { SignJWT, createRemoteJWKSet, exportJWK, generateKeyPair, jwtVerify, type CryptoKey, type JWTPayload } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { handler, isAdmin } from '../../lambdas/handlers/admin-api.js';
import { createShop } from '../../lambdas/core/sample/shop.js';
import { connect } from '../../lambdas/core/postgres/connection.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { backupDatabase } from '../helpers/engine.js';
import { s3StoreFor, startS3Server, type TestS3Server } from '../helpers/s3-server.js';
import { functionEnvironment, setEnvironment } from './support/environment.js';

const PREFIX = 'backups';
const ISSUER = 'https://abcdefgh.supabase.co/auth/v1';

/**
 * The admin API as deployed, on loopback: a small HTTP harness plays API Gateway's JWT authorizer
 * (signature against a JWKS served locally, issuer, audience, expiry; 401 otherwise) and hands the
 * claims to the real admin-api handler, which reads backups from the S3 server.
 */
describe('admin API behind a JWT authorizer: no token, a wrong token, a user, an admin (issue 17)', () => {
  let s3: TestS3Server;
  let db: TestDatabase;
  let restoreEnv: () => void;
  let jwks: Server;
  let gateway: Server;
  let base: string;
  let sign: (claims: JWTPayload, key?: CryptoKey) => Promise<string>;
  let otherKey: CryptoKey;
  let backupId: string;

  beforeAll(async () => {
    s3 = await startS3Server();
    db = await createTestDatabase('admin_jwt');
    const client = await connect(db.url);
    await createShop(client, 0.001);
    await client.end();
    backupId = (await backupDatabase(s3StoreFor(s3, PREFIX), db.url)).backupId;
    restoreEnv = setEnvironment(functionEnvironment(s3, PREFIX));

    const { publicKey, privateKey } = await generateKeyPair('ES256');
    otherKey = (await generateKeyPair('ES256')).privateKey;
    const jwk = { ...(await exportJWK(publicKey)), kid: 'test-key', alg: 'ES256', use: 'sig' };
    jwks = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] })));
    await new Promise<void>((r) => jwks.listen(0, '127.0.0.1', r));
    const keySet = createRemoteJWKSet(new URL(`http://127.0.0.1:${(jwks.address() as AddressInfo).port}/.well-known/jwks.json`));
    sign = (claims, key = privateKey) => new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid: 'test-key' }).setIssuer(ISSUER).setAudience('authenticated').setIssuedAt().setExpirationTime('5m').sign(key);

    gateway = createServer((req, res) => {
      void (async () => {
        const url = new URL(req.url ?? '/', 'http://127.0.0.1');
        let claims: JWTPayload | undefined;
        if (url.pathname !== '/admin/backups') {
          const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
          try {
            claims = token ? (await jwtVerify(token, keySet, { issuer: ISSUER, audience: 'authenticated' })).payload : undefined;
          } catch {
            claims = undefined;
          }
          // API Gateway answers 401 itself and never invokes the function.
          if (!claims) return res.writeHead(401, { 'content-type': 'application/json' }).end('{"message":"Unauthorized"}');
        }
        const event = {
          rawPath: url.pathname,
          queryStringParameters: Object.fromEntries(url.searchParams.entries()),
          // Nested claims arrive as JSON text, as API Gateway passes them.
          requestContext: { http: { method: req.method ?? 'GET' }, authorizer: claims ? { jwt: { claims: Object.fromEntries(Object.entries(claims).map(([k, v]) => [k, typeof v === 'object' ? JSON.stringify(v) : v])), scopes: [] } } : undefined },
        } as unknown as APIGatewayProxyEventV2WithJWTAuthorizer;
        const result = await handler(event);
        res.writeHead(result.statusCode ?? 200, result.headers as Record<string, string>).end(result.body);
      })();
    });
    await new Promise<void>((r) => gateway.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(gateway.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    restoreEnv?.();
    await new Promise((r) => gateway?.close(r));
    await new Promise((r) => jwks?.close(r));
    await db?.drop();
    await s3?.stop();
  });

  const get = (path: string, token?: string) => fetch(`${base}${path}`, token ? { headers: { Authorization: `Bearer ${token}` } } : {});

  it('401 without a token and with a token signed by another key', async () => {
    expect((await get('/api/admin/backups')).status).toBe(401);
    expect((await get('/api/admin/backups', await sign({ sub: 'u1', app_metadata: { role: 'admin' } }, otherKey))).status).toBe(401);
  });

  it('403 for a signed-in user without the admin claim, naming no data', async () => {
    const response = await get('/api/admin/backups', await sign({ sub: 'u2', role: 'authenticated', app_metadata: { provider: 'email' } }));
    expect(response.status).toBe(403);
    expect(await response.json()).toEqual({ error: { code: 'Forbidden', message: 'This account is not an admin of the shop' } });
  });

  it('200 for an admin: the backups from the bucket, one backup, drills; the page needs no token', async () => {
    const token = await sign({ sub: 'u3', role: 'authenticated', app_metadata: { provider: 'email', role: 'admin' } });
    const list = await get('/api/admin/backups', token);
    expect(list.status).toBe(200);
    expect(((await list.json()) as { backups: { backupId: string }[] }).backups.map((b: { backupId: string }) => b.backupId)).toEqual([backupId]);
    const one = await get(`/api/admin/backups/${backupId}`, token);
    expect(((await one.json()) as { tables: unknown[] }).tables.length).toBe(9);
    expect((await get('/api/admin/drills', token)).status).toBe(200);
    const page = await get('/admin/backups');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
  });

  it('reads the admin claim by dot path, from objects, JSON text and lists', () => {
    expect(isAdmin({ app_metadata: '{"role":"admin"}' }, 'app_metadata.role', 'admin')).toBe(true);
    expect(isAdmin({ app_metadata: '{"roles":["editor","admin"]}' }, 'app_metadata.roles', 'admin')).toBe(true);
    expect(isAdmin({ groups: '[admin editor]' }, 'groups', 'admin')).toBe(true);
    expect(isAdmin({ app_metadata: '{"role":"administrator"}' }, 'app_metadata.role', 'admin')).toBe(false);
    expect(isAdmin({}, 'app_metadata.role', 'admin')).toBe(false);
  });
});
