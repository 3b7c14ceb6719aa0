/**
 * Budgets through HTTP with the real Claude Code against the scripted model server: a turn that
 * passes its session's budget is stopped with a system message, the session is paused and refuses
 * new turns (409 budget_reached) until the budget is raised, then continues; the per-owner daily
 * budget stops and refuses the same way until the (controllable) clock reaches the next day, and
 * counts what the owner's turns still running spent so far, so turns running at once are held to it
 * together. GET /api/usage reports the spend.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ManualClock } from '../src/lib/clock.ts';
import { call } from './helpers/app.ts';
import { allLogs, allMessages, createRunnerHarness, waitFor, waitIdle, type RunnerHarness } from './helpers/runner.ts';

const sessionOf = async (h: RunnerHarness, id: string) => (await call(h.t.app, 'GET', `/api/sessions/${id}`)).body;

describe('the budget of a session', () => {
  let h: RunnerHarness;
  before(async () => {
    h = await createRunnerHarness();
  });
  after(async () => {
    await h.close();
  });

  test('a turn passing budget_usd is stopped with a system message; the session is paused until the budget is raised, then continues', async () => {
    // Five Bash steps; the first model response alone costs more than the budget.
    const created = await call(h.t.app, 'POST', '/api/sessions', { prompt: 'SCRIPT:multi', budget_usd: 0.001 });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(created.body.budget_usd, 0.001);
    const id = created.body.id as string;
    const stopped = await waitFor('the session paused by its budget', async () => {
      const s = await sessionOf(h, id);
      return s.status === 'paused' && s.budget_reached_at && s.turn_state === 'idle' ? s : undefined;
    });
    assert.ok(stopped.totals.cost_usd >= 0.001, `spent ${stopped.totals.cost_usd} is at least the budget`);
    const turns = (await call(h.t.app, 'GET', `/api/sessions/${id}/turns`)).body.data;
    assert.equal(turns.length, 1);
    assert.equal(turns[0].status, 'interrupted');
    assert.ok(turns[0].cost_usd > 0, 'the stopped turn still records what it spent');
    const logs = await allLogs(h.t, id);
    assert.ok(logs.length < 5, `stopped before the script ended (${logs.length} of 5 tools ran)`);
    const system = (await allMessages(h.t, id)).filter((m) => m.direction === 'system').map((m) => m.content);
    assert.ok(system.some((c) => /^Turn stopped: it passed the budget/.test(c)), JSON.stringify(system));
    assert.ok(system.some((c) => /^Budget reached: this session spent \$[\d.]+ of its \$0\.0010 budget/.test(c)), JSON.stringify(system));

    // Refused while over budget, with a clear code.
    const refused = await call(h.t.app, 'POST', `/api/sessions/${id}/messages`, { direction: 'user', content: 'SCRIPT:text' });
    assert.equal(refused.status, 409);
    assert.equal(refused.body.error.code, 'budget_reached');
    assert.match(refused.body.error.message, /raise budget_usd/);
    const resume = await call(h.t.app, 'PATCH', `/api/sessions/${id}`, { status: 'active' });
    assert.equal(resume.status, 409);
    assert.equal(resume.body.error.code, 'budget_reached');
    // A budget still below what was spent changes nothing.
    const tooLow = await call(h.t.app, 'PATCH', `/api/sessions/${id}`, { budget_usd: 0.0005 });
    assert.equal(tooLow.status, 200);
    assert.equal(tooLow.body.status, 'paused');
    assert.ok(tooLow.body.budget_reached_at);

    // Raised: the session is active again and runs the next turn.
    const raised = await call(h.t.app, 'PATCH', `/api/sessions/${id}`, { budget_usd: 100 });
    assert.equal(raised.status, 200, JSON.stringify(raised.body));
    assert.equal(raised.body.status, 'active');
    assert.equal(raised.body.budget_reached_at, null);
    assert.equal(raised.body.budget_usd, 100);
    const next = await call(h.t.app, 'POST', `/api/sessions/${id}/messages`, { direction: 'user', content: 'SCRIPT:text' });
    assert.equal(next.status, 201, JSON.stringify(next.body));
    const done = await waitIdle(h.t, id, 2);
    assert.equal(done.status, 'active');
    const last = (await call(h.t.app, 'GET', `/api/sessions/${id}/turns`)).body.data.at(-1);
    assert.equal(last.status, 'completed');
  });

  test('bad budgets are 400; spend is reported by GET /api/usage', async () => {
    for (const budget_usd of [0, -1, 'ten']) {
      const r = await call(h.t.app, 'POST', '/api/sessions', { prompt: 'SCRIPT:text', budget_usd });
      assert.equal(r.status, 400, JSON.stringify(budget_usd));
    }
    const byOwner = await call(h.t.app, 'GET', '/api/usage?group_by=owner');
    assert.equal(byOwner.status, 200, JSON.stringify(byOwner.body));
    const local = byOwner.body.data.find((r: { key: string }) => r.key === 'local');
    assert.ok(local.cost_usd > 0 && local.turns >= 2 && local.sessions >= 1, JSON.stringify(local));
    const byDay = await call(h.t.app, 'GET', '/api/usage?group_by=day');
    assert.deepEqual(byDay.body.data.map((r: { key: string }) => r.key), [new Date().toISOString().slice(0, 10)]);
    assert.equal(byDay.body.data[0].cost_usd, local.cost_usd);
    const empty = await call(h.t.app, 'GET', `/api/usage?group_by=owner&from=2020-01-01T00:00:00Z&to=2020-01-02T00:00:00Z`);
    assert.deepEqual(empty.body.data, []);
    const bad = await call(h.t.app, 'GET', '/api/usage?group_by=model');
    assert.equal(bad.status, 400);
    const reversed = await call(h.t.app, 'GET', '/api/usage?from=2020-01-02T00:00:00Z&to=2020-01-01T00:00:00Z');
    assert.equal(reversed.status, 400);
    assert.equal(reversed.body.error.code, 'invalid_range');
  });
});

describe('the budget of an owner per day', () => {
  let h: RunnerHarness;
  const clock = new ManualClock(new Date());
  before(async () => {
    h = await createRunnerHarness({ clock, runner: { budgets: { ownerDayUsd: 0.001 } } });
  });
  after(async () => {
    await h.close();
  });

  test("a turn passing the owner's daily budget is stopped; new sessions are refused until the next day", async () => {
    const created = await call(h.t.app, 'POST', '/api/sessions', { prompt: 'SCRIPT:multi' });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const id = created.body.id as string;
    await waitFor('the session paused by the daily budget', async () => {
      const s = await sessionOf(h, id);
      return s.status === 'paused' && s.budget_reached_at && s.turn_state === 'idle' ? s : undefined;
    });
    const system = (await allMessages(h.t, id)).filter((m) => m.direction === 'system').map((m) => m.content);
    assert.ok(system.some((c) => /^Budget reached: local spent \$[\d.]+ today \(UTC\) of the \$0\.0010 daily budget per owner/.test(c)), JSON.stringify(system));

    const refused = await call(h.t.app, 'POST', '/api/sessions', { prompt: 'SCRIPT:text' });
    assert.equal(refused.status, 409);
    assert.equal(refused.body.error.code, 'budget_reached');
    assert.match(refused.body.error.message, /daily budget per owner/);
    // A session without a prompt runs nothing: still allowed.
    const recordOnly = await call(h.t.app, 'POST', '/api/sessions', { project_path: h.t.workspacesDir });
    assert.equal(recordOnly.status, 201);

    // The next (UTC) day the owner may spend again, and the paused session may be resumed.
    clock.advance(86_400_000);
    const resumed = await call(h.t.app, 'PATCH', `/api/sessions/${id}`, { status: 'active' });
    assert.equal(resumed.status, 200, JSON.stringify(resumed.body));
    assert.equal(resumed.body.budget_reached_at, null);
    const tomorrow = await call(h.t.app, 'POST', '/api/sessions', { prompt: 'SCRIPT:text' });
    assert.equal(tomorrow.status, 201, JSON.stringify(tomorrow.body));
  });
});

describe("the budget of an owner per day, with the owner's turns running at once", () => {
  let h: RunnerHarness;
  // The Budgets read this object: the limit is set once one turn's cost is known (it depends on the
  // size of Claude Code's requests to the scripted model server, which changes with its version).
  const budgets: { ownerDayUsd?: number } = { ownerDayUsd: 1000 };
  before(async () => {
    h = await createRunnerHarness({ runner: { budgets } });
  });
  after(async () => {
    await h.close();
  });

  // Six Bash steps, each answered after a pause, so that two turns started together overlap.
  const steps = [1, 2, 3, 4, 5, 6].map((i) => ({ tool: 'Bash', input: { command: `echo step-${i}`, description: `Step ${i}` }, delay_ms: 300 }));
  const prompt = `SCRIPT_JSON:${JSON.stringify([...steps, { text: 'Finished the steps.' }])}`;
  const start = async () => {
    const created = await call(h.t.app, 'POST', '/api/sessions', { prompt });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    return created.body.id as string;
  };
  const turnOf = async (id: string) => (await call(h.t.app, 'GET', `/api/sessions/${id}/turns`)).body.data[0];

  test('two turns that each stay under the daily budget but pass it together: one is stopped', async () => {
    // One turn alone: what it costs, as the running estimate counts it.
    const alone = await start();
    await waitIdle(h.t, alone, 1);
    assert.equal((await turnOf(alone)).status, 'completed');
    const row = await h.t.db.database.db.selectFrom('turns').select('cost_estimate_usd').where('session_id', '=', alone).executeTakeFirstOrThrow();
    const oneTurn = Number(row.cost_estimate_usd);
    assert.ok(oneTurn > 0, 'the running estimate was stored while the turn ran');
    const spentToday = (await call(h.t.app, 'GET', '/api/usage?group_by=owner')).body.data[0].cost_usd as number;

    // Room for one turn and a half more: either turn alone would finish; the two together pass it.
    budgets.ownerDayUsd = spentToday + 1.5 * oneTurn;
    const ids = [await start(), await start()];
    await Promise.all(ids.map((id) => waitIdle(h.t, id, 1)));
    const turns = await Promise.all(ids.map(turnOf));
    assert.ok(turns.some((t) => t.status === 'interrupted'), `a turn was stopped while running: ${JSON.stringify(turns.map((t) => t.status))}`);
    for (const [i, id] of ids.entries()) {
      if (turns[i].status === 'interrupted') {
        // The turn that passed the owner's day is stopped and its session paused (just after the turn settled).
        await waitFor('the session paused by the daily budget', async () => {
          const s = await sessionOf(h, id);
          return s.status === 'paused' && s.budget_reached_at;
        }, 10_000);
        const system = (await allMessages(h.t, id)).filter((m) => m.direction === 'system').map((m) => m.content);
        assert.ok(system.some((c) => /^Turn stopped: it passed the budget/.test(c)), JSON.stringify(system));
        assert.ok(system.some((c) => /^Budget reached: local spent \$[\d.]+ today \(UTC\) of the \$[\d.]+ daily budget per owner/.test(c)), JSON.stringify(system));
      }
      // A turn that ended before the other passed the day ended within it, and its session may
      // stay active; either way no session of the owner starts another turn today.
      const refused = await call(h.t.app, 'POST', `/api/sessions/${id}/messages`, { direction: 'user', content: 'SCRIPT:text' });
      assert.equal(refused.status, 409, JSON.stringify(refused.body));
      assert.equal(refused.body.error.code, 'budget_reached');
      assert.match(refused.body.error.message, /daily budget per owner/);
    }
  });
});
