/**
 * Schedules through HTTP, with a clock the test moves: runs are sessions of the schedule's owner
 * (source schedule) made once per due time even with two schedulers on one database, missed times
 * after downtime are skipped or run once, pause and resume, access rules, bad input. The sessions
 * run the real Claude Code against the scripted model server.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { openDatabase } from '../src/db/database.ts';
import { ManualClock } from '../src/lib/clock.ts';
import { Scheduler } from '../src/schedules/scheduler.ts';
import { call, roleKeys } from './helpers/app.ts';
import { createRunnerHarness, waitFor, type RunnerHarness } from './helpers/runner.ts';

let h: RunnerHarness;
let keys: Awaited<ReturnType<typeof roleKeys>>;
// A Monday, 08:00 in Berlin (UTC+1 in January).
const clock = new ManualClock('2030-01-07T07:00:00Z');
const template = { prompt: 'SCRIPT:text', close_after: true };

before(async () => {
  h = await createRunnerHarness({ auth: 'keys', clock, schedules: { tickMs: 0, missedGraceMs: 60_000 }, runner: { budgets: { scheduleRunUsd: 0.5 } } });
  keys = await roleKeys(h.t.auth);
});
after(async () => {
  await h.close();
});

const create = (body: Record<string, unknown>, key = keys.alice) => call(h.t.app, 'POST', '/api/schedules', body, key);
/** The session once its turn is recorded (AUTH=keys: asked with the admin key). */
const idle = (id: string) =>
  waitFor(`session ${id} idle`, async () => {
    const s = (await call(h.t.app, 'GET', `/api/sessions/${id}`, undefined, keys.admin)).body;
    return s.turn_state === 'idle' && s.totals.turns >= 1 ? s : undefined;
  });
const runsOf = async (id: string, key = keys.alice) => (await call(h.t.app, 'GET', `/api/schedules/${id}/runs`, undefined, key)).body.data as { session_id: string; scheduled_for: string; state: string; catch_up: boolean; error: string | null }[];

test('bad cron, time zone or template: 400 with a clear code', async () => {
  const cases: [Record<string, unknown>, string][] = [
    [{ name: 'x', cron: '61 * * * *', template }, 'invalid_cron'],
    [{ name: 'x', cron: '0 9 * *', template }, 'invalid_cron'],
    [{ name: 'x', cron: '0 9 * * *', timezone: 'Mars/Olympus', template }, 'invalid_timezone'],
    [{ name: 'x', cron: '0 9 * * *', template: { project_type: 'local' } }, 'invalid_request'],
    [{ name: 'x', cron: '0 9 * * *', template: { ...template, wait: 10 } }, 'invalid_request'],
    [{ name: 'x', cron: '0 9 * * *', missed: 'always', template }, 'invalid_request'],
  ];
  for (const [body, code] of cases) {
    const r = await create(body);
    assert.equal(r.status, 400, JSON.stringify(body));
    assert.ok(r.body.error.code === code || (code === 'invalid_request' && r.body.error.code.length > 0), `${JSON.stringify(body)}: ${JSON.stringify(r.body)}`);
  }
  const viewer = await create({ name: 'x', cron: '0 9 * * *', template }, keys.viewer);
  assert.equal(viewer.status, 403);
});

test('a due schedule makes one session as its owner (source schedule), linked to it; next run times follow the time zone', async () => {
  const made = await create({ name: 'morning report', cron: '0 9 * * 1-5', timezone: 'Europe/Berlin', template: { ...template, budget_usd: 5 } });
  assert.equal(made.status, 201, JSON.stringify(made.body));
  const s = made.body;
  assert.equal(s.owner, 'alice');
  assert.equal(s.status, 'active');
  assert.equal(s.next_run_at, '2030-01-07T08:00:00.000Z', '09:00 Berlin is 08:00 UTC in winter');
  assert.deepEqual(s.next_runs, ['2030-01-07T08:00:00.000Z', '2030-01-08T08:00:00.000Z', '2030-01-09T08:00:00.000Z']);

  // Not due yet: nothing happens.
  assert.equal(await h.t.scheduler.tick(), 0);
  clock.set('2030-01-07T08:00:05Z');
  // Two schedulers on one database, the second over its own connection pool as another API process
  // would be, tick at once: one run.
  const otherDb = await openDatabase({ url: h.t.db.database.connectionString, dataDir: 'unused', poolMax: 2 });
  const other = new Scheduler({ database: otherDb, commands: h.t.commands, clock, logger: h.t.app.log as never, principalFor: (o) => h.t.auth.principalForName(o), options: { tickMs: 0, missedGraceMs: 60_000 } });
  const made2 = await Promise.all([h.t.scheduler.tick(), other.tick()]);
  assert.equal(made2.reduce((a, b) => a + b, 0), 1, `sessions made by the ticks: ${JSON.stringify(made2)}`);
  assert.equal(await other.tick(), 0);
  await otherDb.close();
  const runs = await runsOf(s.id);
  assert.equal(runs.length, 1);
  assert.equal(runs[0]!.state, 'started', JSON.stringify(runs[0]));
  assert.equal(runs[0]!.scheduled_for, '2030-01-07T08:00:00.000Z');
  const session = (await call(h.t.app, 'GET', `/api/sessions/${runs[0]!.session_id}`, undefined, keys.alice)).body;
  assert.equal(session.source, 'schedule');
  assert.equal(session.owner, 'alice');
  assert.equal(session.schedule_id, s.id);
  assert.equal(session.budget_usd, 5, "the template's budget_usd wins over BUDGET_SCHEDULE_RUN_USD");
  assert.deepEqual(session.metadata.schedule, { id: s.id, name: 'morning report', scheduled_for: '2030-01-07T08:00:00.000Z', catch_up: false });
  await idle(session.id);
  // close_after from the template: the session is closed once its turn is recorded.
  await waitFor('the run closed after its turn', async () => (await call(h.t.app, 'GET', `/api/sessions/${session.id}`, undefined, keys.alice)).body.status === 'completed');
  const after = (await call(h.t.app, 'GET', `/api/schedules/${s.id}`, undefined, keys.alice)).body;
  assert.equal(after.next_run_at, '2030-01-08T08:00:00.000Z');
  assert.equal(after.last_run_at, '2030-01-07T08:00:00.000Z');

  // Spend by schedule: alice sees hers; bob sees nothing of alice's.
  const usage = await call(h.t.app, 'GET', '/api/usage?group_by=schedule', undefined, keys.alice);
  assert.ok(usage.body.data.some((r: { key: string; cost_usd: number }) => r.key === s.id && r.cost_usd > 0), JSON.stringify(usage.body));
  const bobUsage = await call(h.t.app, 'GET', '/api/usage?group_by=owner', undefined, keys.bob);
  assert.deepEqual(bobUsage.body.data, []);
  await call(h.t.app, 'DELETE', `/api/schedules/${s.id}`, undefined, keys.alice);
});

test('after downtime: missed times are skipped (skip) or run once (run_once)', async () => {
  clock.set('2030-02-01T10:30:00Z');
  const skip = (await create({ name: 'hourly skip', cron: '0 * * * *', missed: 'skip', template })).body;
  const once = (await create({ name: 'hourly once', cron: '0 * * * *', missed: 'run_once', template })).body;
  assert.equal(skip.next_run_at, '2030-02-01T11:00:00.000Z');
  // The servers were down from 10:30 to 15:20: four hourly times passed unseen.
  clock.set('2030-02-01T15:20:00Z');
  await h.t.scheduler.tick();
  assert.deepEqual(await runsOf(skip.id), []);
  const onceRuns = await runsOf(once.id);
  assert.equal(onceRuns.length, 1, 'one run for all the missed times');
  assert.equal(onceRuns[0]!.catch_up, true);
  assert.equal(onceRuns[0]!.scheduled_for, '2030-02-01T15:00:00.000Z');
  for (const x of [skip, once]) {
    assert.equal((await call(h.t.app, 'GET', `/api/schedules/${x.id}`, undefined, keys.alice)).body.next_run_at, '2030-02-01T16:00:00.000Z');
  }
  // On time (within the grace) both run normally.
  clock.set('2030-02-01T16:00:30Z');
  await h.t.scheduler.tick();
  assert.equal((await runsOf(skip.id)).length, 1);
  assert.equal((await runsOf(once.id)).length, 2);
  const caughtUp = await idle(onceRuns[0]!.session_id);
  assert.equal(caughtUp.budget_usd, 0.5, 'a template without budget_usd: BUDGET_SCHEDULE_RUN_USD');
  assert.equal(caughtUp.metadata.schedule.catch_up, true);
  for (const x of [skip, once]) await call(h.t.app, 'DELETE', `/api/schedules/${x.id}`, undefined, keys.alice);
});

test('pause, resume and change; access: owners and admins change, others get 404, viewers read', async () => {
  clock.set('2030-03-01T12:00:00Z');
  const s = (await create({ name: 'daily', cron: '30 12 * * *', template })).body;
  assert.equal(s.next_run_at, '2030-03-01T12:30:00.000Z');

  assert.equal((await call(h.t.app, 'GET', `/api/schedules/${s.id}`, undefined, keys.bob)).status, 404);
  assert.equal((await call(h.t.app, 'PATCH', `/api/schedules/${s.id}`, { status: 'paused' }, keys.bob)).status, 404);
  assert.equal((await call(h.t.app, 'DELETE', `/api/schedules/${s.id}`, undefined, keys.bob)).status, 404);
  assert.equal((await call(h.t.app, 'PATCH', `/api/schedules/${s.id}`, { status: 'paused' }, keys.viewer)).status, 403);
  assert.ok((await call(h.t.app, 'GET', '/api/schedules', undefined, keys.viewer)).body.data.some((x: { id: string }) => x.id === s.id));
  assert.ok(!(await call(h.t.app, 'GET', '/api/schedules', undefined, keys.bob)).body.data.some((x: { id: string }) => x.id === s.id));

  const paused = await call(h.t.app, 'PATCH', `/api/schedules/${s.id}`, { status: 'paused' }, keys.alice);
  assert.equal(paused.status, 200);
  assert.equal(paused.body.next_run_at, null);
  clock.set('2030-03-01T12:31:00Z');
  await h.t.scheduler.tick();
  assert.deepEqual(await runsOf(s.id), [], 'a paused schedule makes no run');

  // Resumed by an admin: next due at its next time from now (the paused one is not made up).
  const resumed = await call(h.t.app, 'PATCH', `/api/schedules/${s.id}`, { status: 'active' }, keys.admin);
  assert.equal(resumed.status, 200);
  assert.equal(resumed.body.next_run_at, '2030-03-02T12:30:00.000Z');
  const changed = await call(h.t.app, 'PATCH', `/api/schedules/${s.id}`, { cron: '0 18 * * *', timezone: 'America/New_York', name: 'evening' }, keys.alice);
  assert.equal(changed.status, 200, JSON.stringify(changed.body));
  assert.equal(changed.body.name, 'evening');
  assert.equal(changed.body.next_run_at, '2030-03-01T23:00:00.000Z', '18:00 in New York (UTC-5 before DST)');
  const badChange = await call(h.t.app, 'PATCH', `/api/schedules/${s.id}`, { timezone: 'Nowhere' }, keys.alice);
  assert.equal(badChange.body.error.code, 'invalid_timezone');

  assert.equal((await call(h.t.app, 'DELETE', `/api/schedules/${s.id}`, undefined, keys.alice)).status, 204);
  assert.equal((await call(h.t.app, 'GET', `/api/schedules/${s.id}`, undefined, keys.alice)).status, 404);
});

test("a run whose owner's key is revoked fails, recorded on the run", async () => {
  clock.set('2030-04-01T00:00:00Z');
  const carol = await h.t.auth.createKey({ name: 'carol', role: 'user' });
  const s = (await create({ name: 'c', cron: '*/5 * * * *', template }, carol.key)).body;
  await h.t.auth.revoke('carol');
  clock.set('2030-04-01T00:05:01Z');
  await h.t.scheduler.tick();
  const runs = (await call(h.t.app, 'GET', `/api/schedules/${s.id}/runs`, undefined, keys.admin)).body.data;
  assert.equal(runs.length, 1);
  assert.equal(runs[0].state, 'failed');
  assert.match(runs[0].error, /owner_key_missing/);
});
