import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { UsageError } from '../../../lambdas/core/errors.js';
import { parseLocation, splitBackupLocation } from '../../../lambdas/core/storage/location.js';

describe('backup locations', () => {
  it('parses s3://bucket/prefix, file:// URLs and plain paths', () => {
    expect(parseLocation('s3://live-it-iconic-backups/db/')).toEqual({ kind: 's3', bucket: 'live-it-iconic-backups', prefix: 'db' });
    expect(parseLocation('s3://live-it-iconic-backups')).toEqual({ kind: 's3', bucket: 'live-it-iconic-backups', prefix: '' });
    expect(parseLocation('file:///backups')).toEqual({ kind: 'file', path: '/backups' });
    expect(parseLocation('./backups')).toEqual({ kind: 'file', path: path.resolve('backups') });
  });

  it('refuses bad buckets and unknown schemes with a usage error', () => {
    expect(() => parseLocation('s3://Bad_Bucket/x')).toThrow(UsageError);
    expect(() => parseLocation('gs://bucket/x')).toThrow(/Unsupported location/);
    expect(() => parseLocation('  ')).toThrow(UsageError);
  });

  it('splits the location of one backup into its store and folder name', () => {
    expect(splitBackupLocation('/backups/2024-01-15T02-00-00-000Z')).toEqual({ store: { kind: 'file', path: '/backups' }, backupId: '2024-01-15T02-00-00-000Z' });
    expect(splitBackupLocation('s3://b-1/nightly/2024-01-15T02-00-00-000Z/')).toEqual({ store: { kind: 's3', bucket: 'b-1', prefix: 'nightly' }, backupId: '2024-01-15T02-00-00-000Z' });
    expect(() => splitBackupLocation('s3://b-1')).toThrow(UsageError);
  });
});
