/** A session's workspace: its record with disk use, and the diff of its changes. */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { AppError } from '../../lib/errors.ts';
import type { SessionService } from '../../sessions/service.ts';
import { workspaceState } from '../../sessions/transactions.ts';
import { asWorkspaceRecord, type WorkspaceManager } from '../../workspaces/manager.ts';
import type { WorkspaceRecord } from '../../workspaces/port.ts';
import { errorSchema, idParams, turnParams } from '../schemas.ts';

const diffSchema = z.object({
  base_commit: z.string().nullable().describe('The commit the workspace started from (null: an empty repository).'),
  commit: z.string().nullable().describe('The current commit.'),
  diff: z.string().describe('Unified diff of committed and uncommitted changes, untracked files included.'),
  truncated: z.boolean().describe('True when the diff was cut at DIFF_MAX_BYTES.'),
});

const turnDiffSchema = z.object({
  turn_id: z.number(),
  from: z.string().describe('The tree (or commit) before the turn: the previous turn\'s snapshot, or the commit the workspace started from.'),
  tree: z.string().describe('The snapshot of the workspace when the turn ended.'),
  diff: z.string().describe('Unified diff of what the turn alone changed, untracked files included.'),
  truncated: z.boolean().describe('True when the diff was cut at DIFF_MAX_BYTES.'),
});

const workspaceSchema = z.object({
  workspace: z.record(z.string(), z.unknown()),
  disk_usage_bytes: z.number().nullable().describe('Bytes on disk now; null when the workspace is gone.'),
});

const errors = { 404: errorSchema, 409: errorSchema };

export const workspaceRoutes: FastifyPluginAsyncZod<{ sessions: SessionService; workspaces: WorkspaceManager }> = async (app, { sessions, workspaces }) => {
  const recordOf = async (id: string): Promise<WorkspaceRecord> => {
    const { metadata } = await sessions.get(id);
    const state = workspaceState(metadata);
    if (state === 'preparing') throw new AppError('workspace_preparing', 'the workspace is still being prepared; try again when metadata.workspace.state is ready', 409);
    if (state === 'failed') throw new AppError('workspace_failed', 'the workspace could not be prepared (see metadata.workspace.error)', 409);
    const record = asWorkspaceRecord(metadata.workspace);
    if (!record) throw new AppError('no_workspace', 'this session has no workspace record', 404);
    return record;
  };

  app.get('/api/sessions/:id/diff', {
    config: { access: 'read' },
    schema: {
      tags: ['workspaces'],
      summary: "The diff of a session's changes",
      description: 'Against the commit the workspace started from; 409 workspace_gone after cleanup.',
      params: idParams,
      response: { 200: diffSchema, ...errors },
    },
  }, async (req) => workspaces.diff(await recordOf(req.params.id)));

  app.get('/api/sessions/:id/turns/:turn/diff', {
    config: { access: 'read' },
    schema: {
      tags: ['workspaces'],
      summary: 'The diff of what one turn changed',
      description:
        'Between the snapshot taken after the previous turn (or the commit the workspace started from) and the one taken after this turn. ' +
        "409 turn_diff_unavailable when no snapshot was recorded (the turn has not ended, the workspace is not a git repository, the change scan failed, or the turn ran before snapshots were kept); " +
        '409 workspace_gone after cleanup; 410 turn_snapshot_gone once git gc pruned the snapshot.',
      params: turnParams,
      response: { 200: turnDiffSchema, ...errors, 410: errorSchema },
    },
  }, async (req) => {
    const snap = await sessions.turnSnapshots(req.params.id, req.params.turn);
    const d = await workspaces.turnDiff(await recordOf(req.params.id), snap);
    return { turn_id: req.params.turn, ...d };
  });

  app.get('/api/sessions/:id/workspace', {
    config: { access: 'read' },
    schema: {
      tags: ['workspaces'],
      summary: "A session's workspace and its disk use",
      params: idParams,
      response: { 200: workspaceSchema, ...errors },
    },
  }, async (req) => {
    const record = await recordOf(req.params.id);
    return { workspace: record, disk_usage_bytes: (await workspaces.diskUsage(record)) ?? null };
  });
};
