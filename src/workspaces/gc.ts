/**
 * `cco workspaces gc --older-than 7d`: removes the workspaces of sessions
 * completed before the cut-off, whatever their cleanup policy said, and marks
 * them removed (metadata.workspace.removed_at). Removal goes through the same
 * guarded path as release, so nothing outside WORKSPACES_DIR is touched.
 */
import type { Kysely } from 'kysely';
import type { DB } from '../db/schema.ts';
import { listReleasableWorkspaces, markWorkspaceRemoved } from '../db/queries/workspaces.ts';
import { asWorkspaceRecord, type WorkspaceManager } from './manager.ts';

export { parseAge } from '../lib/duration.ts';

export interface GcReport {
  examined: number;
  removed: string[];
  skipped: { id: string; reason: string }[];
}

export async function collectWorkspaces(
  db: Kysely<DB>,
  manager: WorkspaceManager,
  olderThanMs: number,
  opts: { now?: Date; batchSize?: number } = {},
): Promise<GcReport> {
  const now = opts.now ?? new Date();
  const cutoff = new Date(now.getTime() - olderThanMs);
  const report: GcReport = { examined: 0, removed: [], skipped: [] };
  // Keyset paging: rows skipped (not removed) stay listed, so paging must move past them.
  let after: { position: string; id: string } | undefined;
  while (true) {
    const rows = await listReleasableWorkspaces(db, cutoff, opts.batchSize ?? 200, after);
    if (rows.length === 0) break;
    const last = rows[rows.length - 1]!;
    after = { position: last.position, id: last.id };
    for (const row of rows) {
      report.examined += 1;
      const record = asWorkspaceRecord(row.workspace);
      if (!record) {
        report.skipped.push({ id: row.id, reason: 'not a workspace record' });
        continue;
      }
      const outcome = await manager.releaseWith({ ...record, session_id: record.session_id ?? row.id }, 'delete');
      if (outcome.action === 'deleted' || outcome.action === 'missing') {
        await markWorkspaceRemoved(db, row.id, now);
        report.removed.push(row.id);
      } else {
        report.skipped.push({ id: row.id, reason: outcome.action === 'failed' ? outcome.error : outcome.action });
      }
    }
  }
  return report;
}
