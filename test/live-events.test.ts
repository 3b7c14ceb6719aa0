/**
 * Live events through the database (issue 12, point 4): several buses with their readers on one
 * database stand for several API processes; a raw pg client holds a transaction open to make
 * rows commit out of seq order.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { sql } from 'kysely';
import pg from 'pg';
import { EventBus, type OrchestratorEvent } from '../src/events/bus.ts';
import { LiveEvents } from '../src/events/live-events.ts';
import { createLogger } from '../src/logger.ts';
import type { Message } from '../src/sessions/types.ts';
import { createTestApp } from './helpers/app.ts';
import { createTestDb, type TestDb } from './helpers/db.ts';
import { recordEvents } from './helpers/events.ts';
import { openSse } from './helpers/sse.ts';

const logger = createLogger(process.env.TEST_LOG_LEVEL ?? 'silent', { pretty: false });
const cleanups: (() => Promise<void> | void)[] = [];
// Each test's servers and clients go when it ends: every server holds several connections, and
// the embedded PostgreSQL allows 30.
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function testDb(): Promise<TestDb> {
  const db = await createTestDb();
  cleanups.push(() => db.close());
  return db;
}

/** One "process": a bus with its writer, reader and pruner; started. */
async function processOn(db: TestDb, opts: ConstructorParameters<typeof LiveEvents>[3] = {}) {
  const bus = new EventBus();
  const live = new LiveEvents(db.database, bus, logger, opts);
  await live.start();
  cleanups.push(() => live.stop());
  return { bus, live, seen: recordEvents(bus) };
}

const message = (content: string): Message => ({ id: 1, session_id: 's-1', direction: 'assistant', content, source: 'api', timestamp: new Date().toISOString(), metadata: {} });
const say = (bus: EventBus, content: string) => bus.publish({ type: 'message.created', message: message(content) });
const contents = (events: OrchestratorEvent[]) => events.map((e) => (e.type === 'message.created' ? e.message.content : e.type));

describe('several processes on one database', () => {
  test('every reader delivers the same events in the same order, whichever process wrote them', async () => {
    const db = await testDb();
    const a = await processOn(db);
    const b = await processOn(db);
    const writer = await processOn(db); // a third process that only writes (a runner)
    for (let i = 0; i < 40; i++) {
      say([a, b, writer][i % 3]!.bus, `m${i}`);
      if (i % 5 === 0) await new Promise((r) => setImmediate(r)); // let batches of different sizes form
    }
    for (const p of [a, b, writer]) await p.seen.until((es) => es.length === 40, 'all 40 events');
    assert.deepEqual(contents(a.seen.events), contents(b.seen.events));
    assert.deepEqual(contents(a.seen.events), contents(writer.seen.events));
    // Each process's own events keep its publishing order.
    for (const [k, p] of [a, b, writer].entries()) {
      const own = contents(a.seen.events).filter((c) => Number(c.slice(1)) % 3 === k);
      assert.deepEqual(own, Array.from({ length: 40 }, (_, i) => i).filter((i) => i % 3 === k).map((i) => `m${i}`), `order of process ${k}`);
      assert.equal(p.bus.lastId, a.bus.lastId, 'the same position everywhere');
    }
  });

  test('a row whose transaction commits after later seqs is neither skipped nor delivered out of order', async () => {
    const db = await testDb();
    const a = await processOn(db, { reader: { pollMs: 100 } });
    const held = new pg.Client({ connectionString: db.database.connectionString });
    await held.connect();
    cleanups.push(() => held.end());
    await held.query('begin');
    // Draws its seq now, commits at the end: every row below is written after it, by seq.
    await held.query(`insert into live_events (session_id, type, json) values ('s-1', 'message.created', $1)`, [JSON.stringify({ type: 'message.created', session_id: 's-1', message: message('held') })]);
    say(a.bus, 'after 1');
    say(a.bus, 'after 2');
    await a.live.log.flush();
    // Committed, but behind the open transaction: not final, so not delivered yet.
    const written = await sql<{ n: number }>`select count(*)::int as n from live_events`.execute(db.database.db);
    assert.equal(written.rows[0]!.n, 2, 'the two later rows are committed');
    await new Promise((r) => setTimeout(r, 300)); // three poll rounds: a reader that ignored the bound would deliver them now
    assert.deepEqual(contents(a.seen.events), []);
    await held.query('commit');
    await a.seen.until((es) => es.length === 3, 'the held row and the two after it');
    assert.deepEqual(contents(a.seen.events), ['held', 'after 1', 'after 2']);
  });
});

describe('writing a batch', () => {
  test('each event is stored as the exact JSON the bus made, in order: quotes, backslashes, escapes, emoji, a lone surrogate', async () => {
    const db = await testDb();
    const p = await processOn(db);
    const texts = ['plain', 'quote " and backslash \\ and \\"', 'line\nbreak\ttab \u0001 \u0000', 'emoji 🧪 and é', 'lone \ud800 surrogate', '{"looks":"like json"}', ''];
    for (const t of texts) say(p.bus, t);
    await p.seen.until((es) => es.length === texts.length, 'every event back');
    assert.deepEqual(contents(p.seen.events), texts);
    const rows = await sql<{ json: string }>`select json from live_events order by xid, seq`.execute(db.database.db);
    assert.deepEqual(rows.rows.map((r) => (JSON.parse(r.json) as { message: Message }).message.content), texts);
    // Byte for byte what JSON.stringify gave (the lone surrogate stays an escape, not U+FFFD).
    assert.ok(rows.rows[4]!.json.includes('lone \\ud800 surrogate'), rows.rows[4]!.json);
  });

  test('rows up to a page stay uncompressed (0022); bigger ones are still compressed', async () => {
    const db = await testDb();
    const p = await processOn(db);
    // Compressible text, so pglz would have taken it: 4 kB and 40 kB of the same line.
    const line = 'export function step(input: string): string { return input.trim(); }\n';
    say(p.bus, line.repeat(60));
    say(p.bus, line.repeat(600));
    await p.seen.until((es) => es.length === 2, 'both events back');
    const rows = await sql<{ bytes: number; compression: string | null }>`
      select octet_length(json) as bytes, pg_column_compression(json) as compression from live_events order by xid, seq`.execute(db.database.db);
    assert.equal(rows.rows.length, 2);
    assert.ok(rows.rows[0]!.bytes > 4000 && rows.rows[0]!.compression === null, JSON.stringify(rows.rows[0]));
    assert.ok(rows.rows[1]!.bytes > 40_000 && rows.rows[1]!.compression !== null, JSON.stringify(rows.rows[1]));
  });
});

describe("a process's own events", () => {
  test('come back from memory (the very object published, or its reference), not read back; other processes parse theirs from the table', async () => {
    const db = await testDb();
    const a = await processOn(db);
    const b = await processOn(db);
    const small = say(a.bus, 'small');
    const big = say(a.bus, 'x'.repeat(a.bus.opts.maxEventBytes + 10)); // sent as a reference
    await a.seen.until((es) => es.length === 2, 'both own events');
    await b.seen.until((es) => es.length === 2, 'both, in the other process');
    assert.equal(a.seen.events[0], small, 'the published object itself: never parsed again');
    assert.notEqual(b.seen.events[0], small);
    assert.deepEqual(b.seen.events[0], JSON.parse(JSON.stringify(small)));
    // The big one travels as its reference in both processes, the same either way.
    assert.notEqual(a.seen.events[1], big);
    assert.deepEqual(a.seen.events[1], b.seen.events[1]);
    assert.equal((a.seen.events[1] as unknown as { truncated?: boolean }).truncated, true);
    assert.equal(a.live.log.own.size, 0, 'nothing kept once delivered');
    const rows = await sql<{ origin: string | null; origin_n: string | null }>`select origin, origin_n::text from live_events order by xid, seq`.execute(db.database.db);
    assert.deepEqual(rows.rows.map((r) => r.origin), [a.live.log.own.origin, a.live.log.own.origin]);
  });

  test('a row stamped with this process but no longer kept (a retried write) is read from the table', async () => {
    const db = await testDb();
    const a = await processOn(db);
    const json = JSON.stringify({ type: 'message.created', session_id: 's-1', message: message('written twice'), at: new Date().toISOString() });
    await sql`insert into live_events (session_id, type, json, origin, origin_n) values ('s-1', 'message.created', ${json}, ${a.live.log.own.origin}, 7)`.execute(db.database.db);
    await sql`select pg_notify('cco_live', '')`.execute(db.database.db);
    await a.seen.until((es) => es.length === 1, 'the stamped row');
    assert.deepEqual(contents(a.seen.events), ['written twice']);
  });

  test('a process that does not read (a runner) keeps nothing: its rows go out unstamped', async () => {
    const db = await testDb();
    const bus = new EventBus();
    const runner = new LiveEvents(db.database, bus, logger);
    await runner.start({ read: false });
    cleanups.push(() => runner.stop());
    const reader = await processOn(db);
    for (let i = 0; i < 5; i++) say(bus, `r${i}`);
    await reader.seen.until((es) => es.length === 5, "the runner's events");
    assert.equal(runner.log.own.size, 0);
    const rows = await sql<{ n: number }>`select count(*)::int as n from live_events where origin is not null`.execute(db.database.db);
    assert.equal(rows.rows[0]!.n, 0);
  });
});

describe('resuming over SSE', () => {
  test('after the serving process restarts, Last-Event-ID replays exactly what was missed, from the table', async () => {
    const db = await testDb();
    const first = await createTestApp({ db, eventCapacity: 5 });
    const firstBase = await first.app.listen({ host: '127.0.0.1', port: 0 });
    const c = await openSse(`${firstBase}/api/events`);
    cleanups.push(() => c.close());
    await c.waitFor((e) => e.event === 'ready');
    for (let i = 0; i < 3; i++) say(first.events, `seen ${i}`);
    const mark = await c.waitFor((e) => e.event === 'message.created' && e.data.includes('seen 2'));
    c.close();
    // Written by another process while the client is away (the first one is gone by then).
    const other = await processOn(db);
    await first.close();
    for (let i = 0; i < 12; i++) say(other.bus, `missed ${i}`); // more than the new process's memory (5)
    await other.live.log.flush();

    const second = await createTestApp({ db, eventCapacity: 5 });
    cleanups.push(() => second.close());
    const base = await second.app.listen({ host: '127.0.0.1', port: 0 });
    const back = await openSse(`${base}/api/events`, { 'last-event-id': String(mark.id) });
    cleanups.push(() => back.close());
    const ready = await back.waitFor((e) => e.event === 'ready');
    assert.equal(JSON.parse(ready.data).reset, false);
    // Part may come after `ready`, live: a transaction elsewhere on the cluster (another test's) can hold
    // the newest rows back from the new process's reader for a moment. All of them, once, in order.
    await back.waitFor((e) => e.event === 'message.created' && e.data.includes('missed 11'));
    const got = back.events.filter((e) => e.event === 'message.created').map((e) => JSON.parse(e.data).message.content);
    assert.deepEqual(got, Array.from({ length: 12 }, (_, i) => `missed ${i}`));
  });

  test('an id older than what the table still holds (pruned) gets reset; an old-format id too', async () => {
    const db = await testDb();
    const writer = await processOn(db, { pruner: { retentionS: 0 } });
    for (let i = 0; i < 5; i++) say(writer.bus, `old ${i}`);
    await writer.seen.until((es) => es.length === 5, 'five events');
    const firstId = writer.bus.idOf((await positions(db))[0]!);
    say(writer.bus, 'newest');
    await writer.seen.until((es) => es.length === 6, 'the sixth event');

    const t = await createTestApp({ db });
    cleanups.push(() => t.close());
    const base = await t.app.listen({ host: '127.0.0.1', port: 0 });
    const resumed = async (id: string) => {
      const c = await openSse(`${base}/api/events`, { 'last-event-id': id });
      cleanups.push(() => c.close());
      const ready = JSON.parse((await c.waitFor((e) => e.event === 'ready')).data);
      return { ready, messages: c.events.filter((e) => e.event === 'message.created').length };
    };
    assert.deepEqual(await resumed(firstId), { ready: { id: t.events.lastId, replayed: 5, reset: false }, messages: 5 }, 'still in the table: replayed');

    assert.equal(await writer.live.pruner.pruneNow(), 5, 'all but the newest row pruned');
    assert.equal((await positions(db)).length, 1);
    assert.equal((await resumed(firstId)).ready.reset, true, 'pruned: reset');
    assert.equal((await resumed('1a2b3c4d-3')).ready.reset, true, 'the old in-process format: reset');
  });
});

describe('pruning', () => {
  test('concurrent pruners are safe and keep the newest pruned row', async () => {
    const db = await testDb();
    const p = await processOn(db, { pruner: { retentionS: 0, batch: 7 } });
    for (let i = 0; i < 50; i++) say(p.bus, `e${i}`);
    await p.seen.until((es) => es.length === 50, 'fifty events');
    const others = [await processOn(db, { pruner: { retentionS: 0, batch: 7 } }), await processOn(db, { pruner: { retentionS: 0, batch: 7 } })];
    const deleted = await Promise.all([p, ...others].map((x) => x.live.pruner.pruneNow()));
    assert.equal(deleted.reduce((s, n) => s + n, 0), 49);
    const left = await positions(db);
    assert.equal(left.length, 1);
    assert.equal(p.bus.idOf(left[0]!), p.bus.lastId, 'the newest row is the one kept');
  });

  test('keeps what is younger than the retention', async () => {
    const db = await testDb();
    const p = await processOn(db, { pruner: { retentionS: 600 } });
    for (let i = 0; i < 5; i++) say(p.bus, `e${i}`);
    await p.seen.until((es) => es.length === 5, 'five events');
    assert.equal(await p.live.pruner.pruneNow(), 0);
    assert.equal((await positions(db)).length, 5);
  });
});

async function positions(db: TestDb) {
  const r = await sql<{ xid: string; seq: string }>`select e.xid::text as xid, e.seq::text as seq from live_events e order by e.xid, e.seq`.execute(db.database.db);
  return r.rows.map((x) => ({ xid: BigInt(x.xid), seq: BigInt(x.seq) }));
}
