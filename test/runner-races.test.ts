/**
 * Runner races (issue 9, points 6-10): each test forces its interleaving through
 * the runner's test seams (RunnerHooks) or a service call made to fail once, then
 * runs the real Claude Code against the scripted model server.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { insertTurn } from '../src/db/queries/turns.ts';
import type { RunnerHooks } from '../src/runner/runner.ts';
import { collectWorkspaces } from '../src/workspaces/gc.ts';
import type { WorkspaceRecord } from '../src/workspaces/port.ts';
import { call, createTestApp, type TestApp } from './helpers/app.ts';
import { claudeTestEnv } from './helpers/claude.ts';
import { allMessages, createRunnerHarness, waitFor, waitIdle, type RunnerHarness } from './helpers/runner.ts';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
type SeamName = keyof RunnerHooks;
type Seam = (p: { sessionId: string; turnId: number }) => Promise<void>;

/** Seams a test arms; each fires once, for the next turn that reaches it, then disarms. */
function seamsOf(armed: Partial<Record<SeamName, Seam>>): RunnerHooks {
  const fire = (name: SeamName): Seam => async (p) => {
    const seam = armed[name];
    armed[name] = undefined;
    await seam?.(p);
  };
  return { claimed: fire('claimed'), beforeStart: fire('beforeStart'), afterTurnScan: fire('afterTurnScan'), settled: fire('settled') };
}

const armed: Partial<Record<SeamName, Seam>> = {};
let h: RunnerHarness;
before(async () => {
  h = await createRunnerHarness({ runnerHooks: seamsOf(armed) });
});
after(async () => {
  await h.close();
});

async function turnsOf(t: TestApp, id: string) {
  return (await call(t.app, 'GET', `/api/sessions/${id}/turns`)).body.data as Json[];
}

/** Waits until the session's first turns have left queued/running. */
function turnsSettled(t: TestApp, id: string, count = 1, timeoutMs = 60_000) {
  return waitFor(`${count} turn(s) of ${id} settled`, async () => {
    const turns = await turnsOf(t, id);
    return turns.length >= count && turns.slice(0, count).every((x) => x.status !== 'queued' && x.status !== 'running') ? turns : undefined;
  }, timeoutMs);
}

const DAY = 86_400_000;
const modelSaw = (text: string) => h.model.requests.some((r) => JSON.stringify(r.body).includes(text));
const dbError = () => Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' });

describe('point 6: close or shutdown while a turn is being set up', () => {
  for (const seam of ['claimed', 'beforeStart'] as const) {
    test(`a close that arrives at "${seam}" cancels the turn; Claude Code never starts on the completed session`, async () => {
      const marker = `close-at-${seam}-${Date.now()}`;
      let patched: number | undefined;
      armed[seam] = async (p) => {
        patched = (await call(h.t.app, 'PATCH', `/api/sessions/${p.sessionId}`, { status: 'completed' })).status;
      };
      const created = await call(h.t.app, 'POST', '/api/sessions', { prompt: marker, cleanup: 'delete' });
      assert.equal(created.status, 201);
      const id = created.body.id as string;
      const workspace = created.body.metadata.workspace as WorkspaceRecord;
      const [turn] = await turnsSettled(h.t, id);
      assert.equal(patched, 200);
      assert.equal(turn!.status, 'cancelled', 'the turn never ran');
      assert.ok(!modelSaw(marker), 'Claude Code was never given the prompt');
      const s = (await call(h.t.app, 'GET', `/api/sessions/${id}`)).body;
      assert.equal(s.status, 'completed');
      await waitFor('turn state idle', async () => (await call(h.t.app, 'GET', `/api/sessions/${id}`)).body.turn_state === 'idle');
      await waitFor('workspace deleted after the turn ended', async () => !fs.existsSync(workspace.path));
    });
  }

  test('a shutdown that arrives while a turn is set up puts the turn back in the queue; the next start runs it', async () => {
    const own: Partial<Record<SeamName, Seam>> = {};
    const h2 = await createRunnerHarness({ runnerHooks: seamsOf(own), model: h.model });
    let next: TestApp | undefined;
    try {
      let stopping: Promise<void> | undefined;
      own.claimed = async () => {
        stopping = h2.t.runner.stop(); // not awaited: stop waits for this very turn
      };
      const marker = `shutdown-at-claim-${Date.now()}`;
      const created = await call(h2.t.app, 'POST', '/api/sessions', { prompt: marker });
      const id = created.body.id as string;
      await waitFor('stop requested', async () => stopping !== undefined);
      await stopping;
      const turns = await turnsOf(h2.t, id);
      assert.equal(turns[0]!.status, 'queued', 'stopped before Claude Code took the prompt: queued again');
      assert.ok(!modelSaw(marker));

      const env = claudeTestEnv({ baseUrl: h.model.url, configDir: h2.configDir }) as Record<string, string>;
      next = await createTestApp({ db: h2.t.db, runner: { passEnv: env, workspacesDir: h2.t.workspacesDir } });
      await waitIdle(next, id, 1);
      assert.deepEqual((await turnsOf(next, id)).map((x) => x.status), ['completed']);
      assert.equal((await allMessages(next, id)).at(-1)!.content, `Done: ${marker}`);
    } finally {
      await next?.close();
      await h2.close();
    }
  });
});

describe('point 7: release waits for the turn to finish', () => {
  test('closing a session during the after-turn change scan releases its workspace only after the scan', async () => {
    const order: string[] = [];
    let releaseStarted!: () => void;
    const releasing = new Promise<void>((r) => (releaseStarted = r));
    const ws = h.t.workspaces;
    const release = ws.release.bind(ws);
    ws.release = async (record) => {
      order.push('release');
      releaseStarted();
      return release(record);
    };
    armed.afterTurnScan = async (p) => {
      await call(h.t.app, 'PATCH', `/api/sessions/${p.sessionId}`, { status: 'completed' });
      // Give a premature release its chance to run (the old code ran it at once); a correct one never comes.
      await Promise.race([releasing, new Promise((r) => setTimeout(r, 3000))]);
      order.push('scan');
    };
    try {
      const created = await call(h.t.app, 'POST', '/api/sessions', { prompt: 'SCRIPT:write-edit', cleanup: 'delete' });
      const id = created.body.id as string;
      const workspace = created.body.metadata.workspace as WorkspaceRecord;
      await turnsSettled(h.t, id);
      await waitFor('workspace released', async () => order.includes('release') && !fs.existsSync(workspace.path));
      assert.deepEqual(order, ['scan', 'release']);
      const s = (await call(h.t.app, 'GET', `/api/sessions/${id}`)).body;
      const changes = s.metadata.workspace.changes as Json;
      assert.equal(changes.error, undefined, `the scan saw the folder: ${JSON.stringify(changes)}`);
      assert.deepEqual(changes.files.map((f: Json) => f.path), ['notes.txt']);
    } finally {
      delete (ws as Partial<typeof ws>).release;
    }
  });

  test('cco workspaces gc leaves the workspace of a completed session whose turn is still running (another server may be finishing it)', async () => {
    const created = await call(h.t.app, 'POST', '/api/sessions', { prompt: 'gc later' });
    const id = created.body.id as string;
    await waitIdle(h.t, id, 1);
    await call(h.t.app, 'PATCH', `/api/sessions/${id}`, { status: 'completed' });
    const workspace = created.body.metadata.workspace as WorkspaceRecord;
    const db = h.t.db.database.db;
    // A turn still finishing (claimed by a server that has not recorded its end yet).
    const turn = await insertTurn(db, { session_id: id, message_id: null, prompt: 'still finishing', source: 'api' });
    await db.updateTable('turns').set({ status: 'running' }).where('id', '=', turn.id).execute();
    await db.updateTable('sessions').set({ updated_at: new Date(Date.now() - 10 * DAY) }).where('id', '=', id).execute();

    const during = await collectWorkspaces(db, h.t.workspaceManager!, 5 * DAY);
    assert.ok(!during.removed.includes(id), 'not removed while its turn runs');
    assert.ok(fs.existsSync(workspace.path));
    await db.updateTable('turns').set({ status: 'interrupted' }).where('id', '=', turn.id).execute();
    const afterwards = await collectWorkspaces(db, h.t.workspaceManager!, 5 * DAY);
    assert.ok(afterwards.removed.includes(id));
    assert.ok(!fs.existsSync(workspace.path));
  });
});

describe('point 8: a database error after the claim', () => {
  test('a database error right after the claim ends the turn as failed with a system message; the next message runs', async () => {
    const svc = h.t.sessions;
    const refreshTurnState = svc.refreshTurnState.bind(svc);
    let target: string | undefined;
    armed.claimed = async (p) => {
      target = p.sessionId;
    };
    // The first turn-state write after the claim (the one that says running) fails.
    svc.refreshTurnState = async (sessionId) => {
      if (sessionId === target) {
        target = undefined;
        throw dbError();
      }
      return refreshTurnState(sessionId);
    };
    try {
      const created = await call(h.t.app, 'POST', '/api/sessions', { prompt: 'hit by a db error' });
      const id = created.body.id as string;
      const [turn] = await turnsSettled(h.t, id, 1, 30_000);
      assert.equal(turn!.status, 'error');
      const system = (await allMessages(h.t, id)).filter((m) => m.direction === 'system');
      assert.match(system.at(-1)?.content ?? '', /Turn failed/);
      const s = await waitFor('turn state idle', async () => {
        const body = (await call(h.t.app, 'GET', `/api/sessions/${id}`)).body;
        return body.turn_state === 'idle' ? body : undefined;
      });
      assert.equal(s.status, 'error');

      await call(h.t.app, 'POST', `/api/sessions/${id}/messages`, { direction: 'user', content: 'after the error' });
      await turnsSettled(h.t, id, 2);
      assert.deepEqual((await turnsOf(h.t, id)).map((x) => x.status), ['error', 'completed']);
      assert.equal((await allMessages(h.t, id)).at(-1)!.content, 'Done: after the error');
    } finally {
      delete (svc as Partial<typeof svc>).refreshTurnState;
    }
  });

  test('a database error while a finished turn is recorded does not leave the session running', async () => {
    const svc = h.t.sessions;
    const recordTurnTotals = svc.recordTurnTotals.bind(svc);
    let target: string | undefined;
    armed.claimed = async (p) => {
      target = p.sessionId;
    };
    svc.recordTurnTotals = async (sessionId, o) => {
      if (sessionId === target) {
        target = undefined;
        throw dbError();
      }
      return recordTurnTotals(sessionId, o);
    };
    try {
      const created = await call(h.t.app, 'POST', '/api/sessions', { prompt: 'recorded with a db error' });
      const id = created.body.id as string;
      await turnsSettled(h.t, id);
      await waitFor('turn state idle', async () => (await call(h.t.app, 'GET', `/api/sessions/${id}`)).body.turn_state === 'idle', 30_000);
      await call(h.t.app, 'POST', `/api/sessions/${id}/messages`, { direction: 'user', content: 'and again' });
      await turnsSettled(h.t, id, 2);
      assert.equal((await allMessages(h.t, id)).at(-1)!.content, 'Done: and again');
    } finally {
      delete (svc as Partial<typeof svc>).recordTurnTotals;
    }
  });
});

describe('point 9: the queue hold follows the status', () => {
  test('a session paused, then set to error, runs the next message', async () => {
    const created = await call(h.t.app, 'POST', '/api/sessions', { prompt: 'before the pause' });
    const id = created.body.id as string;
    await waitIdle(h.t, id, 1);
    assert.equal((await call(h.t.app, 'PATCH', `/api/sessions/${id}`, { status: 'paused' })).status, 200);
    assert.equal((await call(h.t.app, 'PATCH', `/api/sessions/${id}`, { status: 'error' })).status, 200);
    const sent = await call(h.t.app, 'POST', `/api/sessions/${id}/messages`, { direction: 'user', content: 'after the error' });
    assert.equal(sent.status, 201);
    const s = await waitIdle(h.t, id, 2, 30_000);
    assert.equal(s.status, 'active');
    assert.deepEqual((await turnsOf(h.t, id)).map((x) => x.status), ['completed', 'completed']);
  });

  test('a message queued on a paused session while its last turn ends leaves the session queued, not idle', async () => {
    const created = await call(h.t.app, 'POST', '/api/sessions', { prompt: 'first of two' });
    const id = created.body.id as string;
    armed.settled = async (p) => {
      // The turn wrote its final turn state; a pause and a message arrive before the run ends.
      await call(h.t.app, 'PATCH', `/api/sessions/${p.sessionId}`, { status: 'paused' });
      await call(h.t.app, 'POST', `/api/sessions/${p.sessionId}/messages`, { direction: 'user', content: 'held' });
    };
    await turnsSettled(h.t, id);
    await waitFor('turn state queued', async () => (await call(h.t.app, 'GET', `/api/sessions/${id}`)).body.turn_state === 'queued', 10_000);
    assert.equal((await turnsOf(h.t, id))[1]!.status, 'queued', 'held while paused');
    await call(h.t.app, 'PATCH', `/api/sessions/${id}`, { status: 'active' });
    await waitIdle(h.t, id, 2);
  });
});

describe('point 10: cost and tokens per turn', () => {
  test('after the lost-transcript fallback every turn records its own cost, and the session totals are the sum of its turns', async () => {
    // A long first prompt (the replay keeps 4,000 characters of it) costs more than the next
    // turns together, so a difference against the session's running total would come out as 0.
    const created = await call(h.t.app, 'POST', '/api/sessions', { prompt: `a long question ${'lorem ipsum '.repeat(15_000)}` });
    const id = created.body.id as string;
    const first = await waitIdle(h.t, id, 1);
    const projects = path.join(h.configDir, 'projects');
    const transcripts = fs.readdirSync(projects, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith(`${first.claude_session_id}.jsonl`));
    assert.equal(transcripts.length, 1);
    fs.rmSync(path.join(projects, transcripts[0]!));

    await call(h.t.app, 'POST', `/api/sessions/${id}/messages`, { direction: 'user', content: 'second' });
    const second = await waitIdle(h.t, id, 2);
    assert.notEqual(second.claude_session_id, first.claude_session_id, 'the fallback ran');
    await call(h.t.app, 'POST', `/api/sessions/${id}/messages`, { direction: 'user', content: 'third' });
    const s = await waitIdle(h.t, id, 3);

    const turns = await turnsOf(h.t, id);
    assert.deepEqual(turns.map((x) => x.status), ['completed', 'completed', 'completed']);
    for (const t of turns) assert.ok(t.cost_usd > 0, `turn ${t.id} cost ${t.cost_usd}`);
    const sum = (k: string) => turns.reduce((a, t) => a + Number(t[k]), 0);
    assert.ok(Math.abs(sum('cost_usd') - s.totals.cost_usd) < 1e-9, `sum ${sum('cost_usd')} = total ${s.totals.cost_usd}`);
    assert.equal(sum('input_tokens'), s.totals.input_tokens);
    assert.equal(sum('output_tokens'), s.totals.output_tokens);
  });
});
