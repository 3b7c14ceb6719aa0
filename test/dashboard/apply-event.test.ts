/** Folding live events into cached data (pure): idempotent, ordered, filter-aware. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { LiveEvent, Message, Session } from '../../web/src/api/types.ts';
import { applyToMessages, applyToSession, applyToSessionPages, matchesFilters, type SessionPages } from '../../web/src/features/live/apply-event.ts';

const session = (id: string, updated: string, extra: Partial<Session> = {}): Session => ({
  id, claude_session_id: null, project_path: `/srv/${id}`, project_type: 'local', status: 'active', source: 'api', owner: null,
  created_at: '2026-01-01T00:00:00.000Z', updated_at: updated, metadata: {}, ...extra,
});
const msg = (id: number, sid = 'a', at = '2026-01-01T00:00:10.000Z'): Message => ({ id, session_id: sid, direction: 'assistant', content: `m${id}`, source: 'api', timestamp: at, metadata: {} });
const ev = (e: Record<string, unknown> & { type: LiveEvent['type']; session_id: string }, seq = 1) => ({ seq, at: '', ...e }) as LiveEvent;

describe('applyToMessages', () => {
  test('appends new messages in id order and ignores repeats and other sessions', () => {
    let list = [msg(1), msg(3)];
    list = applyToMessages(list, 'a', ev({ type: 'message.created', session_id: 'a', message: msg(4) }));
    list = applyToMessages(list, 'a', ev({ type: 'message.created', session_id: 'a', message: msg(2) }));
    const same = applyToMessages(list, 'a', ev({ type: 'message.created', session_id: 'a', message: msg(4) }));
    assert.equal(same, list);
    assert.equal(applyToMessages(list, 'a', ev({ type: 'message.created', session_id: 'b', message: msg(9, 'b') })), list);
    assert.deepEqual(list.map((m) => m.id), [1, 2, 3, 4]);
  });
});

describe('references to huge events', () => {
  test('a truncated event changes nothing: its item is fetched and applied whole', () => {
    const list = [msg(1)];
    const stub = { id: 2, session_id: 'a', direction: 'assistant', source: 'api', timestamp: '2026-01-01T00:00:20.000Z' } as Message;
    const ref = ev({ type: 'message.created', session_id: 'a', message: stub, truncated: true, url: '/api/sessions/a/messages/2' });
    assert.equal(applyToMessages(list, 'a', ref), list);
    const s = session('a', '2026-01-01T00:00:05.000Z');
    assert.equal(applyToSession(s, ref), s);
    const sref = ev({ type: 'session.updated', session_id: 'a', session: { id: 'a', status: 'paused', updated_at: '2026-01-01T00:00:30.000Z' }, truncated: true, url: '/api/sessions/a' });
    assert.equal(applyToSession(s, sref), s);
    const data: SessionPages = { pages: [{ data: [s], next_cursor: null }], pageParams: [null] };
    assert.equal(applyToSessionPages(data, {}, sref), data);
    assert.equal(applyToSessionPages(data, {}, ref), data);
  });
});

describe('applyToSession', () => {
  test('takes newer versions, keeps the current one over an older replay, and follows activity', () => {
    const s = session('a', '2026-01-01T00:00:05.000Z');
    const newer = applyToSession(s, ev({ type: 'session.updated', session_id: 'a', session: { ...s, status: 'paused', updated_at: '2026-01-01T00:00:06.000Z' } }));
    assert.equal(newer.status, 'paused');
    assert.equal(applyToSession(newer, ev({ type: 'session.updated', session_id: 'a', session: s })), newer);
    assert.equal(applyToSession(s, ev({ type: 'message.created', session_id: 'a', message: msg(1) })).updated_at, '2026-01-01T00:00:10.000Z');
  });
});

describe('applyToSessionPages', () => {
  const pages = (): SessionPages => ({
    pages: [{ data: [session('b', '2026-01-01T00:00:04.000Z'), session('c', '2026-01-01T00:00:03.000Z')], next_cursor: 'x' }, { data: [session('d', '2026-01-01T00:00:01.000Z')], next_cursor: null }],
    pageParams: [null, 'x'],
  });
  const ids = (p: SessionPages) => p.pages.map((pg) => pg.data.map((s) => s.id));

  test('a new session goes on top; activity moves a session up', () => {
    const created = applyToSessionPages(pages(), {}, ev({ type: 'session.created', session_id: 'a', session: session('a', '2026-01-01T00:00:09.000Z') }));
    assert.deepEqual(ids(created), [['a', 'b', 'c'], ['d']]);
    const moved = applyToSessionPages(pages(), {}, ev({ type: 'log.created', session_id: 'd', log: { timestamp: '2026-01-01T00:00:09.000Z' } }));
    assert.deepEqual(ids(moved), [['d', 'b', 'c'], []]);
  });

  test('a change that leaves the filter removes the session; an unchanged time keeps its place', () => {
    const paused = applyToSessionPages(pages(), { status: 'active' }, ev({ type: 'session.updated', session_id: 'c', session: session('c', '2026-01-01T00:00:05.000Z', { status: 'paused' }) }));
    assert.deepEqual(ids(paused), [['b'], ['d']]);
    const inPlace = applyToSessionPages(pages(), {}, ev({ type: 'session.updated', session_id: 'd', session: session('d', '2026-01-01T00:00:01.000Z', { turn_state: 'running' }) }));
    assert.deepEqual(ids(inPlace), [['b', 'c'], ['d']]);
    assert.equal(inPlace.pages[1]?.data[0]?.turn_state, 'running');
  });

  test('an unknown old session is left for the page that holds it', () => {
    const old = applyToSessionPages(pages(), {}, ev({ type: 'session.updated', session_id: 'z', session: session('z', '2025-01-01T00:00:00.000Z') }));
    assert.deepEqual(ids(old), [['b', 'c'], ['d']]);
  });

  test('matchesFilters approximates the server search', () => {
    const s = session('a', '2026-01-01T00:00:00.000Z', { project_path: '/srv/Billing', metadata: { ticket: 'OPS-1' } });
    assert.ok(matchesFilters(s, { contains: 'billing' }));
    assert.ok(matchesFilters(s, { contains: 'ops-1', status: 'active' }));
    assert.ok(!matchesFilters(s, { contains: 'nope' }));
    assert.ok(matchesFilters(s, { created_from: '2025-12-31', created_to: '2026-01-01' }));
    assert.ok(!matchesFilters(s, { created_from: '2026-01-02' }));
    assert.ok(!matchesFilters(s, { source: 'slack' }));
    assert.ok(!matchesFilters(s, { status: 'paused' }));
    assert.ok(!matchesFilters(s, { project_type: 'github' }));
  });
});
