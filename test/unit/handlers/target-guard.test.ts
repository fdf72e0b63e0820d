import { describe, expect, it } from '@jest/globals';
import { assertSafeUnconfirmedTarget, describeIdentity, identityFromSource, identityFromUrl, sameDatabase, TargetIdentityError } from '../../../lambdas/core/target-identity.js';

/** The identity rules the staging guard applies (the real connections are in test/workflow/restore-machine.test.ts). */
describe('target identity: telling the staging database from the source and production', () => {
  const source = identityFromSource({ driver: 'postgres', host: 'db.abc.supabase.co:5432', database: 'postgres', systemIdentifier: '7300000000000000001' });

  it('reads host, port and database from a manifest source and from a URL, never credentials', () => {
    expect(source).toEqual({ host: 'db.abc.supabase.co', port: 5432, database: 'postgres', systemIdentifier: '7300000000000000001' });
    const fromUrl = identityFromUrl('postgres://postgres:s3cret@DB.abc.supabase.co:6543/postgres?sslmode=no-verify');
    expect(fromUrl).toEqual({ host: 'db.abc.supabase.co', port: 6543, database: 'postgres' });
    expect(describeIdentity({ ...fromUrl, marker: 'staging' })).toBe('db.abc.supabase.co:6543/postgres (marked staging)');
    expect(JSON.stringify(fromUrl)).not.toContain('s3cret');
  });

  it('compares by cluster and database when both system identifiers are known, else by host, port and database', () => {
    // The pooler and the direct host reach the same cluster: the system identifier tells.
    expect(sameDatabase({ host: 'pooler.supabase.com', port: 6543, database: 'postgres', systemIdentifier: '7300000000000000001' }, source)).toBe(true);
    // One cluster, another database: not the same.
    expect(sameDatabase({ host: 'db.abc.supabase.co', database: 'staging', systemIdentifier: '7300000000000000001' }, source)).toBe(false);
    expect(sameDatabase({ host: 'db.abc.supabase.co', port: 5432, database: 'postgres' }, { host: 'db.abc.supabase.co', database: 'postgres' })).toBe(true);
    expect(sameDatabase({ host: 'db.abc.supabase.co', port: 5433, database: 'postgres' }, { host: 'db.abc.supabase.co', port: 5432, database: 'postgres' })).toBe(false);
    expect(sameDatabase({ host: 'db.xyz.supabase.co', port: 5432, database: 'postgres' }, source)).toBe(false);
  });

  it('refuses the source, a protected database, or a database marked for another role, naming both', () => {
    const staging = { host: 'db.stg.supabase.co', port: 5432, database: 'postgres', marker: 'staging' };
    expect(() => assertSafeUnconfirmedTarget({ targetName: 'staging', target: staging, source, protectedDatabases: { production: { host: 'db.abc.supabase.co', port: 5432, database: 'postgres' } } })).not.toThrow();

    const pointedAtSource = { host: 'db.abc.supabase.co', port: 5432, database: 'postgres', systemIdentifier: '7300000000000000001' };
    const error = (() => {
      try {
        assertSafeUnconfirmedTarget({ targetName: 'staging', target: pointedAtSource, source });
      } catch (e) {
        return e as TargetIdentityError;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(TargetIdentityError);
    expect(error!.message).toContain('the "staging" target db.abc.supabase.co:5432/postgres (system id 7300000000000000001) is the backup\'s source database db.abc.supabase.co:5432/postgres');

    expect(() => assertSafeUnconfirmedTarget({ targetName: 'staging', target: { host: 'db.p.example.com', port: 5432, database: 'shop' }, protectedDatabases: { production: { host: 'db.p.example.com', database: 'shop' } } })).toThrow(/is the production database db\.p\.example\.com\/shop/);
    expect(() => assertSafeUnconfirmedTarget({ targetName: 'staging', target: { ...staging, marker: 'production' } })).toThrow(/marked "iconic-dr:production", not "iconic-dr:staging"/);
  });
});
