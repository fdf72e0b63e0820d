import { BackupNotFoundError, DrError } from '../errors.js';
import { listBackups, readManifest, type BackupSummary } from '../catalog.js';
import { isBackupId } from '../format/ids.js';
import { completionOf, newestSnapshot, snapshotsAt } from '../media/catalog.js';
import { DEFAULT_RPO_HOURS } from '../rpo.js';
import type { BackupStore } from '../storage/store.js';
import { readText } from '../storage/store.js';
import { ADMIN_PAGE_HTML } from './page.js';

/**
 * The plan's admin API (`GET /api/admin/backups`, `/api/admin/backups/{id}`, `/api/admin/drills`) and
 * its page (`/admin/backups`), read-only, over one backup location. The same function serves the API
 * Gateway Lambda and `iconic-dr dashboard`; who may call it is decided in front of it (a JWT
 * authorizer on AWS, loopback only locally).
 */
export interface AdminRequest {
  readonly method: string;
  readonly path: string;
  readonly query?: Readonly<Record<string, string | undefined>>;
}

export interface AdminResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

export interface AdminSources {
  readonly store: BackupStore;
  /** Where drill reports are (`drill-reports/*.json`), when not beside the backups. */
  readonly drills?: BackupStore;
  readonly rpoHours?: number;
}

const MAX_PAGE = 200;

function json(status: number, value: unknown): AdminResponse {
  return { status, headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' }, body: `${JSON.stringify(value)}\n` };
}

function problem(status: number, code: string, message: string): AdminResponse {
  return json(status, { error: { code, message } });
}

/** What the API says of one backup in a list: never a credential, only what the manifest and listing prove. */
function backupItem(b: BackupSummary, mediaSnapshot: string | null) {
  return {
    backupId: b.backupId,
    time: b.timestamp ?? null,
    completedAt: b.completedAt ?? null,
    status: b.status,
    suspect: b.suspect ?? null,
    purpose: b.purpose,
    sizeBytes: b.totalBytes,
    records: b.totalRecords ?? null,
    durationMs: b.durationMs ?? null,
    source: b.source ? { driver: b.source.driver, host: b.source.host ?? null, database: b.source.database ?? null } : null,
    problem: b.problem ?? null,
    mediaSnapshot,
  };
}

async function drillReports(store: BackupStore): Promise<unknown[]> {
  const keys = (await store.listObjects('drill-reports/')).filter((o) => o.key.endsWith('.json')).map((o) => o.key).sort().reverse();
  const drills: unknown[] = [];
  for (const key of keys) {
    try {
      const r = JSON.parse(await readText(store, key, 4 * 1024 * 1024)) as { startedAt?: string; backupId?: string; ok?: boolean; recoveryTimeMs?: number; rtoMs?: number; withinRto?: boolean; rpo?: { ageHours?: number; met?: boolean } | null; dataLost?: boolean; rowsRestored?: number };
      drills.push({ time: r.startedAt ?? null, backupId: r.backupId ?? null, passed: r.ok === true, recoveryTimeMs: r.recoveryTimeMs ?? null, rtoMs: r.rtoMs ?? null, withinRto: r.withinRto ?? null, rpoHours: r.rpo?.ageHours ?? null, rpoMet: r.rpo?.met ?? null, dataLost: r.dataLost ?? null, rowsRestored: r.rowsRestored ?? null });
    } catch {
      // A report that cannot be read is left out; the backups are what matter here.
    }
  }
  return drills;
}

/** Routes one read-only request. Every failure is a JSON error with a status, never a stack. */
export async function handleAdminRequest(sources: AdminSources, request: AdminRequest): Promise<AdminResponse> {
  if (request.method !== 'GET' && request.method !== 'HEAD') return problem(405, 'MethodNotAllowed', 'The admin API is read-only: only GET');
  const path = request.path.replace(/\/+$/, '') || '/';
  try {
    if (path === '/admin/backups' || path === '/') return { status: 200, headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }, body: ADMIN_PAGE_HTML };
    if (path === '/api/admin/backups') {
      const limit = Math.min(MAX_PAGE, Math.max(1, Number(request.query?.limit ?? 50) || 50));
      const cursor = request.query?.cursor;
      if (cursor !== undefined && !isBackupId(cursor)) return problem(400, 'BadRequest', 'cursor must be a backup id from a previous page');
      const all = await listBackups(sources.store);
      const start = cursor ? all.findIndex((b) => b.backupId < cursor) : 0;
      const page = start === -1 ? [] : all.slice(start, start + limit);
      const paired = await snapshotsAt(sources.store, page.map((b) => completionOf(b)));
      const mediaFor = (b: BackupSummary) => paired[page.indexOf(b)]?.snapshotId ?? null;
      const next = start !== -1 && start + limit < all.length ? page[page.length - 1]!.backupId : null;
      return json(200, { backups: page.map((b) => backupItem(b, mediaFor(b))), nextCursor: next, rpoHours: sources.rpoHours ?? DEFAULT_RPO_HOURS, location: sources.store.description });
    }
    const one = /^\/api\/admin\/backups\/([^/]+)$/.exec(path);
    if (one) {
      const id = decodeURIComponent(one[1]!);
      if (!isBackupId(id)) return problem(400, 'BadRequest', `${id.slice(0, 40)} is not a backup id`);
      const parsed = await readManifest(sources.store, id);
      const m = parsed.manifest;
      const v1 = parsed.format === 'v1' ? parsed.manifest : undefined;
      return json(200, {
        backupId: id,
        format: parsed.format,
        time: m.timestamp,
        completedAt: v1?.completedAt ?? null,
        durationMs: v1?.durationMs ?? null,
        consistency: v1?.consistency ?? null,
        purpose: v1?.purpose ?? 'backup',
        suspect: v1?.suspect ?? null,
        source: v1 ? { driver: v1.source.driver, host: v1.source.host ?? null, database: v1.source.database ?? null, serverVersion: v1.source.serverVersion ?? null } : null,
        totalRecords: m.totalRecords,
        totalBytes: v1?.totalBytes ?? null,
        hasSchema: Boolean(v1?.schema),
        tables: m.tables.map((t) => ({ table: t, records: m.recordCounts[t] ?? 0, bytes: v1?.tableDetails[t]?.bytes ?? null })),
      });
    }
    if (path === '/api/admin/drills') return json(200, { drills: await drillReports(sources.drills ?? sources.store) });
    if (path === '/api/admin/media') {
      const newest = await newestSnapshot(sources.store);
      return json(200, { latest: newest ? { snapshotId: newest.snapshotId, completedAt: newest.completedAt, objects: newest.stats.objects, bytes: newest.stats.bytes } : null, rpoMinutes: 60 });
    }
    return problem(404, 'NotFound', `No such resource: ${path.slice(0, 80)}`);
  } catch (error) {
    if (error instanceof BackupNotFoundError) return problem(404, 'NotFound', error.message);
    if (error instanceof DrError) return problem(error.exitCode === 3 ? 503 : 422, error.name, error.message);
    return problem(500, 'InternalError', 'The backups could not be read');
  }
}
